"""Cascaded flight controller: velocity -> attitude -> body rates -> torques -> rotor speeds.

The velocity loop runs at the control rate and sets a thrust vector and a heading; the
attitude and rate loops run at every physics step, as on a real flight controller.
Attitude error on SO(3) after Lee, Leok & McClamroch, "Geometric tracking control of a
quadrotor UAV on SE(3)", CDC 2010; the rate loop is a proportional loop on angular
acceleration with the gyroscopic term fed forward (Euler's equations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..sim.explicit import BatchState
from ..sim.params import QuadrotorParams
from ..sim.rotation import yaw_of
from ..sim.state import RigidBodyState
from .mixer import Mixer

TWO_PI = 2.0 * math.pi
_NEXT, _AFTER = np.array([1, 2, 0]), np.array([2, 0, 1])
"""Indices for cross products of (3, N) arrays: ``(a × b)_i = a_{i+1} b_{i+2} − a_{i+2} b_{i+1}``."""
_RATES = np.array([1, 2, 3])
"""The rows of the rates in the attitude loop's (4, ...) outputs."""


def remainder_2pi(x: np.ndarray) -> np.ndarray:
    """``math.remainder(x, 2π)`` element-wise: x minus the nearest multiple of 2π (ties to even)."""
    return x - TWO_PI * np.rint(x / TWO_PI)


@dataclass(frozen=True)
class ControllerGains:
    """Gains of the cascade (units in the names: 1/s for proportional loops)."""

    vel_xy_p: float = 3.5
    vel_z_p: float = 4.0
    vel_i: float = 0.8
    vel_i_limit_mps2: float = 2.0
    att_p: tuple[float, float, float] = (12.0, 12.0, 5.0)
    rate_p: tuple[float, float, float] = (70.0, 70.0, 30.0)
    max_rate_radps: tuple[float, float, float] = (8.0, 8.0, 3.0)
    max_tilt_rad: float = math.radians(40.0)
    max_up_acc_mps2: float = 8.0
    max_down_acc_mps2: float = 6.0
    yaw_lead_limit_rad: float = 0.3
    pos_p: float = 1.5

    def __post_init__(self) -> None:
        if not 0 < self.max_tilt_rad < math.radians(60):
            raise ValueError(f"max_tilt_rad must lie in (0, 60°), got {math.degrees(self.max_tilt_rad):.1f}°")
        for name in ("vel_xy_p", "vel_z_p", "pos_p", "max_up_acc_mps2", "max_down_acc_mps2"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ControllerGains.{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class VelocityLimits:
    """What the normalised velocity action [-1, 1]⁴ maps to."""

    vxy_mps: float = 2.0
    vz_mps: float = 1.0
    yaw_rate_radps: float = 1.5

    def __post_init__(self) -> None:
        for name in ("vxy_mps", "vz_mps", "yaw_rate_radps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"VelocityLimits.{name} must be positive, got {getattr(self, name)}")

    @property
    def scale(self) -> np.ndarray:
        return np.array([self.vxy_mps, self.vxy_mps, self.vz_mps, self.yaw_rate_radps])


def attitude_from(force_world: np.ndarray, cos_yaw: np.ndarray, sin_yaw: np.ndarray) -> np.ndarray:
    """Rotations (3, 3, N) with z axes along ``force_world`` (3, N) and headings of the given cos and sin (N,)."""
    out = np.empty((3, 3, force_world.shape[1]))
    f0, f1, f2 = force_world
    z = out[:, 2]
    np.divide(force_world, np.sqrt(f0 * f0 + f1 * f1 + f2 * f2), out=z)
    y = out[:, 1]  # z × (cos ψ, sin ψ, 0), normalised
    y[0] = -z[2] * sin_yaw
    y[1] = z[2] * cos_yaw
    y[2] = z[0] * sin_yaw - z[1] * cos_yaw
    y /= np.sqrt(np.add.reduce(y * y))
    out[:, 0] = y[_NEXT] * z[_AFTER] - y[_AFTER] * z[_NEXT]  # x = y × z
    return out


class RateController:
    """Body-rate loop plus mixer for N drones: ``τ = J K_ω (ω_des − ω) + ω × Jω``, then rotor speeds.

    Args:
        params: the vehicle.
        gains: loop gains (``rate_p``, 1/s).
    """

    def __init__(self, params: QuadrotorParams, gains: ControllerGains | None = None) -> None:
        self.params = params
        self.gains = gains or ControllerGains()
        self.mixer = Mixer(params)
        jx, jy, jz = (float(v) for v in params.inertia_diag)
        self._JK = (params.inertia_diag * np.asarray(self.gains.rate_p, dtype=float))[:, None]
        self._J_gyro = np.array([jz - jy, jx - jz, jy - jx])[:, None]  # (ω × Jω)_i = (J_k − J_j) ω_j ω_k

    def torque(self, omega_body_radps: np.ndarray, rates_des_body: np.ndarray) -> np.ndarray:
        """Body torques (3, N), N·m, for body rates (3, N) and desired body rates (3, N), rad/s."""
        w = omega_body_radps
        return self._JK * (rates_des_body - w) + self._J_gyro * w[_NEXT] * w[_AFTER]

    def rpm(self, state: BatchState, thrust_n: np.ndarray, rates_des_body: np.ndarray) -> np.ndarray:
        """Rotor speeds (4, N), rpm, for collective thrusts (N,), N, and desired body rates (3, N), rad/s."""
        wrench = np.empty((4, rates_des_body.shape[1]))
        wrench[0] = thrust_n
        wrench[1:] = self.torque(state.omega_body_radps, rates_des_body)
        return self.mixer.rpm_of_wrench(wrench)


class CascadedController:
    """Velocity commands in the body-yaw frame to rotor speeds, for N drones (N = 1 included).

    Call :meth:`set_velocity_command` once per control step and :meth:`rpm` once per physics
    step; :meth:`reset` clears the integrators and heading references. Arrays are component first:
    ``(3, N)`` vectors, ``(3, 3, N)`` rotations, ``(4, N)`` commands and rotor speeds.

    The attitude loop's outputs, the collective thrust ``F_des · R e_z`` and the rates
    ``−K_R ½ vee(R_desᵀ R − Rᵀ R_des) + ψ̇_ff R₂₂ e_z``, are linear in the entries of the current
    rotation ``R``; their coefficients change only with the command, so :meth:`set_velocity_command`
    stores them as one (4, 3, 3, N) array and each physics step costs one product and one sum.

    Args:
        params: the vehicle.
        ctrl_dt_s: control period (s), the velocity loop's step.
        gains: loop gains and limits.
        num_drones: N.
    """

    def __init__(self, params: QuadrotorParams, ctrl_dt_s: float, gains: ControllerGains | None = None,
                 num_drones: int = 1) -> None:
        self.params, self.ctrl_dt_s = params, ctrl_dt_s
        self.gains = g = gains or ControllerGains()
        self.num_drones = n = num_drones
        self.rate = RateController(params, g)
        self._half_kR3 = 0.5 * np.asarray(g.att_p, dtype=float)[:, None, None]
        self._neg_half_kR = -self._half_kR3
        max_rate = np.asarray(g.max_rate_radps, dtype=float)
        self._lo = np.concatenate([[0.0], -max_rate])[:, None]  # thrust >= 0, |rates| <= max_rate
        self._hi = np.concatenate([[np.inf], max_rate])[:, None]
        self._tan_tilt = math.tan(g.max_tilt_rad)
        self._kv = np.array([g.vel_xy_p, g.vel_xy_p, g.vel_z_p])[:, None]
        self.vel_int = np.zeros((3, n))
        self.yaw_des = np.zeros(n)
        self.yaw_rate_ff = np.zeros(n)
        self.force_des_world = np.zeros((3, n))
        self.R_des = np.zeros((3, 3, n))
        self._coef = np.zeros((4, 3, 3, n))
        self._coef9, self._rot9 = self._coef.reshape(4, 9, n), (9, n)  # a view: the coefficients of R's 9 entries
        self.reset()

    def reset(self, idx: np.ndarray | slice = slice(None), yaw_rad: np.ndarray | float = 0.0) -> None:
        """New episodes for drones ``idx`` heading ``yaw_rad``: integrators cleared, hover thrust, level attitude."""
        yaw = np.broadcast_to(np.asarray(yaw_rad, dtype=float), self.yaw_des[idx].shape)
        self.vel_int[:, idx] = 0.0
        self.yaw_des[idx] = yaw
        self.yaw_rate_ff[idx] = 0.0
        self.force_des_world[:, idx] = 0.0
        self.force_des_world[2, idx] = self.params.weight_n
        self.R_des[:, :, idx] = attitude_from(self.force_des_world[:, idx], np.cos(yaw), np.sin(yaw))
        self._update_coefficients()

    def set_velocity_command(self, state: BatchState, cmd: np.ndarray) -> None:
        """Velocity loop: ``cmd`` (4, N) = [vx, vy, vz (body-yaw frame, m/s), yaw rate (rad/s)]."""
        g, dt = self.gains, self.ctrl_dt_s
        R = state.R
        yaw = np.arctan2(R[1, 0], R[0, 0])
        c, s = np.cos(yaw), np.sin(yaw)
        err = np.empty((3, R.shape[2]))
        err[0] = c * cmd[0] - s * cmd[1]
        err[1] = s * cmd[0] + c * cmd[1]
        err[2] = cmd[2]
        err -= state.vel_world_mps
        lim_i = g.vel_i_limit_mps2
        self.vel_int = np.minimum(np.maximum(self.vel_int + g.vel_i * err * dt, -lim_i), lim_i)
        acc = self._kv * err + self.vel_int
        acc[2] = np.minimum(np.maximum(acc[2], -g.max_down_acc_mps2), g.max_up_acc_mps2)
        # Tilt limit: the horizontal acceleration may not exceed what max_tilt allows at this lift.
        lift = acc[2] + self.params.gravity_mps2
        a_xy = np.hypot(acc[0], acc[1])
        a_xy_max = lift * self._tan_tilt
        over = a_xy > a_xy_max
        if np.count_nonzero(over):
            acc[:2] *= np.where(over, a_xy_max / np.where(over, a_xy, 1.0), 1.0)
        acc[2] = lift
        self.force_des_world = self.params.mass_kg * acc
        # Heading: integrate the yaw-rate command, never leading the vehicle by more than a bound.
        lead = remainder_2pi(self.yaw_des + cmd[3] * dt - yaw)
        lim = g.yaw_lead_limit_rad
        self.yaw_des = yaw + np.minimum(np.maximum(lead, -lim), lim)
        self.yaw_rate_ff = cmd[3].astype(float)
        self.R_des = attitude_from(self.force_des_world, np.cos(self.yaw_des), np.sin(self.yaw_des))
        self._update_coefficients()

    def _update_coefficients(self) -> None:
        """The attitude loop's outputs as coefficients (4, 3, 3, N) of the entries of R (class docstring)."""
        M, Rd = self._coef, self.R_des
        M[0, :, 2] = self.force_des_world  # thrust = Σ_k F_k R_k2
        # rate_i = −½ k_i vee_i(Rd^T R − R^T Rd) = −½ k_i Σ_k (Rd_k,i+2 R_k,i+1 − Rd_k,i+1 R_k,i+2) (+ ψ̇_ff R_22 for z)
        M[_RATES, :, _NEXT] = self._neg_half_kR * Rd[:, _AFTER].transpose(1, 0, 2)
        M[_RATES, :, _AFTER] = self._half_kR3 * Rd[:, _NEXT].transpose(1, 0, 2)
        M[3, 2, 2] = self.yaw_rate_ff

    def thrust_and_rates(self, state: BatchState) -> np.ndarray:
        """Attitude loop: ``[collective thrust (N) along the current body z; desired body rates (rad/s)]`` (4, N),
        within ``[0, ∞)`` and ``±max_rate_radps``."""
        out = np.add.reduce(self._coef9 * state.R.reshape(self._rot9), axis=1)
        return np.minimum(np.maximum(out, self._lo), self._hi)

    def rpm(self, state: BatchState) -> np.ndarray:
        """Attitude and rate loops for one physics step: rotor speeds (4, N), rpm."""
        u = self.thrust_and_rates(state)
        u[1:] = self.rate.torque(state.omega_body_radps, u[1:])
        return self.rate.mixer.rpm_of_wrench(u)


class PositionController:
    """Position hold on top of the velocity cascade: ``v = K (p_des − p)`` within limits."""

    def __init__(self, cascade: CascadedController, limits: VelocityLimits | None = None) -> None:
        self.cascade = cascade
        self.limits = limits or VelocityLimits()

    def velocity_command(
        self, state: RigidBodyState, target_pos_m: np.ndarray, target_yaw_rad: float | None = None
    ) -> np.ndarray:
        """Velocity command ``[vx, vy, vz, yaw_rate]`` (body-yaw frame) toward ``target_pos_m``."""
        return position_to_velocity_command(
            state, target_pos_m, self.cascade.gains.pos_p, self.limits, target_yaw_rad
        )


def world_to_body_yaw(v_world: np.ndarray, yaw_rad: float) -> np.ndarray:
    """Rotate a world-frame vector (3,) into the body-yaw frame (heading only, no tilt)."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return np.array([c * v_world[0] + s * v_world[1], -s * v_world[0] + c * v_world[1], v_world[2]])


def clip_velocity(v_body_yaw: np.ndarray, limits: VelocityLimits) -> np.ndarray:
    """Scale the horizontal part into ``vxy_mps`` (keeping its direction) and clip ``vz`` to ``vz_mps``."""
    v = np.array(v_body_yaw[:3], dtype=float)
    xy = math.hypot(v[0], v[1])
    if xy > limits.vxy_mps:
        v[:2] *= limits.vxy_mps / xy
    v[2] = min(max(v[2], -limits.vz_mps), limits.vz_mps)
    return v


def position_to_velocity_command(
    state: RigidBodyState,
    target_pos_m: np.ndarray,
    gain: float,
    limits: VelocityLimits,
    target_yaw_rad: float | None = None,
) -> np.ndarray:
    """Proportional position law expressed as a body-yaw-frame command ``[vx, vy, vz, yaw_rate]``."""
    yaw = yaw_of(state.R)
    v = clip_velocity(world_to_body_yaw(gain * (np.asarray(target_pos_m) - state.pos_m), yaw), limits)
    yaw_rate = 0.0
    if target_yaw_rad is not None:
        yaw_rate = 2.0 * math.remainder(target_yaw_rad - yaw, 2 * math.pi)
        yaw_rate = min(max(yaw_rate, -limits.yaw_rate_radps), limits.yaw_rate_radps)
    return np.append(v, yaw_rate)
