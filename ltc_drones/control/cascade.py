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

from ..sim.params import QuadrotorParams
from ..sim.rotation import cross3, yaw_of
from ..sim.state import RigidBodyState
from .mixer import Mixer


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


def _vee_skew_error(R_des: np.ndarray, R: np.ndarray) -> np.ndarray:
    """``½ vee(R_desᵀ R − Rᵀ R_des)``: the SO(3) attitude error in the body frame."""
    E = R_des.T @ R
    return 0.5 * np.array([E[2, 1] - E[1, 2], E[0, 2] - E[2, 0], E[1, 0] - E[0, 1]])


class RateController:
    """Body-rate loop plus mixer: (collective thrust, body rates) -> rotor speeds.

    ``tau = J (K_w (w_des - w)) + w x (J w)``; evaluated with Python floats (hot path, every physics step).
    """

    def __init__(self, params: QuadrotorParams, gains: ControllerGains | None = None) -> None:
        self.params = params
        self.gains = gains or ControllerGains()
        self.mixer = Mixer(params)
        self._J = tuple(float(v) for v in params.inertia_diag)
        self._kw = tuple(float(v) for v in self.gains.rate_p)

    def rpm(self, state: RigidBodyState, thrust_n: float, rates_des_body) -> np.ndarray:
        (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = state.R.tolist()
        ox, oy, oz = state.omega_world_radps.tolist()
        wx = r00 * ox + r10 * oy + r20 * oz  # w_body = R^T w_world
        wy = r01 * ox + r11 * oy + r21 * oz
        wz = r02 * ox + r12 * oy + r22 * oz
        jx, jy, jz = self._J
        kx, ky, kz = self._kw
        dx, dy, dz = (float(v) for v in rates_des_body)
        torque = (
            jx * kx * (dx - wx) + (wy * jz * wz - wz * jy * wy),
            jy * ky * (dy - wy) + (wz * jx * wx - wx * jz * wz),
            jz * kz * (dz - wz) + (wx * jy * wy - wy * jx * wx),
        )
        return self.mixer.rpm(thrust_n, torque)


class CascadedController:
    """Velocity commands in the body-yaw frame to rotor speeds.

    Call :meth:`set_velocity_command` once per control step and :meth:`rpm` once per physics
    step. :meth:`reset` clears the integrator and the heading reference.

    Args:
        params: the vehicle.
        ctrl_dt_s: control period (the velocity loop's step).
        gains: loop gains and limits.
    """

    def __init__(self, params: QuadrotorParams, ctrl_dt_s: float, gains: ControllerGains | None = None) -> None:
        self.params = params
        self.gains = gains or ControllerGains()
        self.ctrl_dt_s = ctrl_dt_s
        self.rate = RateController(params, self.gains)
        self._kR = np.asarray(self.gains.att_p)
        self._max_rate = np.asarray(self.gains.max_rate_radps)
        self._tan_tilt = math.tan(self.gains.max_tilt_rad)
        self.reset()

    def reset(self, yaw_rad: float = 0.0) -> None:
        self._vel_int = np.zeros(3)
        self._yaw_des = yaw_rad
        self._yaw_rate_ff = 0.0
        self._force_des_world = np.array([0.0, 0.0, self.params.weight_n])
        self._R_des = _attitude_from(self._force_des_world, yaw_rad)

    def set_velocity_command(self, state: RigidBodyState, cmd: np.ndarray) -> None:
        """Velocity loop: ``cmd = [vx, vy, vz, yaw_rate]`` with velocities in the body-yaw frame."""
        g = self.gains
        yaw = yaw_of(state.R)
        c, s = math.cos(yaw), math.sin(yaw)
        v_des = np.array([c * cmd[0] - s * cmd[1], s * cmd[0] + c * cmd[1], cmd[2]])
        err = v_des - state.vel_world_mps
        self._vel_int = np.clip(self._vel_int + g.vel_i * err * self.ctrl_dt_s, -g.vel_i_limit_mps2, g.vel_i_limit_mps2)
        acc = np.array([g.vel_xy_p * err[0], g.vel_xy_p * err[1], g.vel_z_p * err[2]]) + self._vel_int
        acc[2] = min(max(acc[2], -g.max_down_acc_mps2), g.max_up_acc_mps2)
        # Tilt limit: the horizontal acceleration may not exceed what max_tilt allows at this lift.
        lift = acc[2] + self.params.gravity_mps2
        a_xy = math.hypot(acc[0], acc[1])
        a_xy_max = lift * self._tan_tilt
        if a_xy > a_xy_max:
            acc[:2] *= a_xy_max / a_xy
        self._force_des_world = self.params.mass_kg * np.array([acc[0], acc[1], lift])
        # Heading: integrate the yaw-rate command, never leading the vehicle by more than a bound.
        lead = math.remainder(self._yaw_des + cmd[3] * self.ctrl_dt_s - yaw, 2 * math.pi)
        lim = g.yaw_lead_limit_rad
        self._yaw_des = yaw + min(max(lead, -lim), lim)
        self._yaw_rate_ff = float(cmd[3])
        self._R_des = _attitude_from(self._force_des_world, self._yaw_des)

    def thrust_and_rates(self, state: RigidBodyState) -> tuple[float, np.ndarray]:
        """Attitude loop: collective thrust (N) along the current body z and desired body rates (3,)."""
        R = state.R
        thrust = float(self._force_des_world @ R[:, 2])
        rates = -self._kR * _vee_skew_error(self._R_des, R)
        rates[2] += self._yaw_rate_ff * R[2, 2]
        return max(thrust, 0.0), np.minimum(np.maximum(rates, -self._max_rate), self._max_rate)

    def rpm(self, state: RigidBodyState) -> np.ndarray:
        """Attitude and rate loops for one physics step: rotor speeds (4,)."""
        thrust, rates = self.thrust_and_rates(state)
        return self.rate.rpm(state, thrust, rates)


def _attitude_from(force_world: np.ndarray, yaw_rad: float) -> np.ndarray:
    """Rotation whose z axis is along ``force_world`` and whose heading is ``yaw_rad``."""
    z = force_world / np.linalg.norm(force_world)
    x_c = np.array([math.cos(yaw_rad), math.sin(yaw_rad), 0.0])
    y = cross3(z, x_c)
    y /= np.linalg.norm(y)
    x = cross3(y, z)
    return np.column_stack([x, y, z])


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
