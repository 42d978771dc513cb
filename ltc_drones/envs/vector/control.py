"""The cascaded flight controller and the action modes, batched over N drones.

The same loops, gains, limits and integrator behaviour as
:class:`ltc_drones.control.cascade.CascadedController` (velocity loop at the control rate; attitude
loop, rate loop and mixer at every physics step) and :mod:`ltc_drones.envs.actions` (``vel``,
``ctbr``, ``rpm``), written as numpy operations over all drones: no Python loop over drones.
Arrays are component first: ``(3, N)`` vectors, ``(3, 3, N)`` matrices, ``(4, N)`` rotor values.
"""

from __future__ import annotations

import math

import numpy as np

from ...control.cascade import ControllerGains, VelocityLimits
from ...sim.params import QuadrotorParams
from .dynamics import BatchState, cross, heading_cos_sin, sin_cos, yaw_of

TWO_PI = 2.0 * math.pi


def remainder_2pi(x: np.ndarray) -> np.ndarray:
    """``math.remainder(x, 2π)`` element-wise: x minus the nearest multiple of 2π (ties to even)."""
    return x - TWO_PI * np.round(x / TWO_PI)


def attitude_from(force_world: np.ndarray, cos_yaw: np.ndarray, sin_yaw: np.ndarray) -> np.ndarray:
    """Rotations (3, 3, N) with z axes along ``force_world`` (3, N) and headings of the given cos and sin (N,)."""
    z = force_world / np.sqrt((force_world * force_world).sum(axis=0))
    cy, sy = cos_yaw, sin_yaw
    y = np.empty_like(z)  # z × (cos ψ, sin ψ, 0)
    y[0] = -z[2] * sy
    y[1] = z[2] * cy
    y[2] = z[0] * sy - z[1] * cy
    y /= np.sqrt((y * y).sum(axis=0))
    x = cross(y, z)
    return np.stack([x, y, z], axis=1)  # columns x, y, z


class BatchMixer:
    """Thrust and torques to rotor speeds, attitude first when saturated (as :class:`control.mixer.Mixer`)."""

    def __init__(self, params: QuadrotorParams) -> None:
        inv = np.linalg.inv(params.allocation_matrix)  # (4, 4): [T, tx, ty, tz] -> f
        self._a, self._b, self._c = inv[:, 1:2].copy(), inv[:, 2:3].copy(), inv[:, 3:4].copy()
        self._f_max = params.max_thrust_per_rotor_n
        self._inv_kf = 1.0 / params.kf

    def rpm(self, thrust_n: np.ndarray, torque: np.ndarray) -> np.ndarray:
        """Rotor speeds (4, N) in rpm for collective thrusts (N,) and body torques (3, N)."""
        f_max = self._f_max
        f_rp = self._a * torque[0] + self._b * torque[1]
        lo, hi = f_rp.min(axis=0), f_rp.max(axis=0)
        spread = hi - lo
        wide = spread > f_max
        if np.count_nonzero(wide):  # roll/pitch alone exceed the thrust range: keep their ratio, shrink them
            k = np.where(wide, f_max / np.where(wide, spread, 1.0), 1.0)
            f_rp, lo, hi = f_rp * k, lo * k, hi * k
        base = np.minimum(np.maximum(0.25 * thrust_n, -lo), f_max - hi)
        f = f_rp + base
        # Largest s in [0, 1] with 0 <= f + s * f_yaw <= f_max (yaw gives way last).
        f_yaw = self._c * torque[2]
        room = np.where(f_yaw > 0.0, f_max - f, f)
        size = np.abs(f_yaw)
        ratio = np.divide(room, size, out=np.full(room.shape, np.inf), where=size > 0.0)
        s = np.maximum(np.minimum(ratio.min(axis=0), 1.0), 0.0)
        f = f + s * f_yaw
        return np.sqrt(np.maximum(f, 0.0) * self._inv_kf)


class BatchRateController:
    """Body-rate loop plus mixer: ``τ = J K_ω (ω_des − ω) + ω × Jω`` (as :class:`control.cascade.RateController`)."""

    def __init__(self, params: QuadrotorParams, gains: ControllerGains) -> None:
        self.mixer = BatchMixer(params)
        self._J = params.inertia_diag[:, None]
        self._JK = self._J * np.asarray(gains.rate_p, dtype=float)[:, None]

    def rpm(self, state: BatchState, thrust_n: np.ndarray, rates_des_body: np.ndarray) -> np.ndarray:
        w = state.omega_body_radps
        torque = self._JK * (rates_des_body - w) + cross(w, self._J * w)
        return self.mixer.rpm(thrust_n, torque)


class BatchCascade:
    """Velocity commands in the body-yaw frame to rotor speeds, for N drones.

    Call :meth:`set_velocity_command` once per control step and :meth:`rpm` once per physics step;
    :meth:`reset` clears the integrators and heading references of some drones.

    Args:
        params: the vehicle.
        ctrl_dt_s: control period (s).
        gains: loop gains and limits.
        num_drones: N.
    """

    def __init__(self, params: QuadrotorParams, ctrl_dt_s: float, gains: ControllerGains, num_drones: int) -> None:
        self.params, self.gains, self.ctrl_dt_s = params, gains, ctrl_dt_s
        self.rate = BatchRateController(params, gains)
        self._kR = np.asarray(gains.att_p, dtype=float)[:, None]
        self._max_rate = np.asarray(gains.max_rate_radps, dtype=float)[:, None]
        self._tan_tilt = math.tan(gains.max_tilt_rad)
        self._kv = np.array([gains.vel_xy_p, gains.vel_xy_p, gains.vel_z_p])[:, None]
        n = num_drones
        self.vel_int = np.zeros((3, n))
        self.yaw_des = np.zeros(n)
        self.yaw_rate_ff = np.zeros(n)
        self.force_des_world = np.zeros((3, n))
        self.force_des_world[2] = params.weight_n
        self.R_des = attitude_from(self.force_des_world, np.ones(n), np.zeros(n))

    def reset(self, idx: np.ndarray, yaw_rad: np.ndarray) -> None:
        """New episodes for drones ``idx`` heading ``yaw_rad``: integrators cleared, hover thrust, level attitude."""
        self.vel_int[:, idx] = 0.0
        self.yaw_des[idx] = yaw_rad
        self.yaw_rate_ff[idx] = 0.0
        force = np.zeros((3, len(np.atleast_1d(yaw_rad))))
        force[2] = self.params.weight_n
        self.force_des_world[:, idx] = force
        yaw = np.asarray(yaw_rad, dtype=float).reshape(-1)
        self.R_des[:, :, idx] = attitude_from(force, np.cos(yaw), np.sin(yaw))

    def set_velocity_command(self, state: BatchState, cmd: np.ndarray) -> None:
        """Velocity loop: ``cmd`` (4, N) = [vx, vy, vz (body-yaw frame, m/s), yaw rate (rad/s)]."""
        g, dt = self.gains, self.ctrl_dt_s
        yaw = yaw_of(state.R)
        c, s = heading_cos_sin(state.R)
        err = np.empty((3, state.R.shape[2]))
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
        a_xy = np.sqrt(acc[0] * acc[0] + acc[1] * acc[1])
        a_xy_max = lift * self._tan_tilt
        over = a_xy > a_xy_max
        if np.count_nonzero(over):
            acc[:2] *= np.where(over, a_xy_max / np.where(over, a_xy, 1.0), 1.0)
        acc[2] = lift
        self.force_des_world = self.params.mass_kg * acc
        # Heading: integrate the yaw-rate command, never leading the vehicle by more than a bound.
        lead = remainder_2pi(self.yaw_des + cmd[3] * dt - yaw)
        lim = g.yaw_lead_limit_rad
        lead = np.minimum(np.maximum(lead, -lim), lim)
        self.yaw_des = yaw + lead
        self.yaw_rate_ff = np.array(cmd[3], dtype=float)
        sl, cl = sin_cos(lead)  # the heading's cos and sin from the vehicle's and the lead's (|lead| <= lim)
        self.R_des = attitude_from(self.force_des_world, c * cl - s * sl, s * cl + c * sl)

    def thrust_and_rates(self, state: BatchState) -> tuple[np.ndarray, np.ndarray]:
        """Attitude loop: collective thrusts (N,) along the current body z and desired body rates (3, N)."""
        R = state.R
        thrust = (self.force_des_world * R[:, 2]).sum(axis=0)
        # E = R_desᵀ R; the error is ½ vee(E − Eᵀ) (Lee, Leok & McClamroch 2010).
        E = (self.R_des[:, :, None, :] * R[:, None, :, :]).sum(axis=0)
        err = np.empty((3, R.shape[2]))
        err[0] = E[2, 1] - E[1, 2]
        err[1] = E[0, 2] - E[2, 0]
        err[2] = E[1, 0] - E[0, 1]
        rates = -self._kR * (0.5 * err)
        rates[2] += self.yaw_rate_ff * R[2, 2]
        return np.maximum(thrust, 0.0), np.minimum(np.maximum(rates, -self._max_rate), self._max_rate)

    def rpm(self, state: BatchState) -> np.ndarray:
        """Attitude and rate loops for one physics step: rotor speeds (4, N)."""
        thrust, rates = self.thrust_and_rates(state)
        return self.rate.rpm(state, thrust, rates)


class BatchVelocityAction:
    """``vel``: normalised [-1, 1]⁴ → [vx, vy, vz, yaw rate] within ``limits``, tracked by the cascade."""

    def __init__(self, params: QuadrotorParams, ctrl_dt_s: float, limits: VelocityLimits, gains: ControllerGains,
                 num_drones: int) -> None:
        self.controller = BatchCascade(params, ctrl_dt_s, gains, num_drones)
        self._scale = limits.scale[:, None]

    def reset(self, idx: np.ndarray, state: BatchState) -> None:
        self.controller.reset(idx, yaw_of(state.R[:, :, idx]))

    def set(self, action: np.ndarray, state: BatchState) -> None:
        """``action`` (4, N), normalised."""
        self.controller.set_velocity_command(state, action * self._scale)

    def rpm(self, state: BatchState) -> np.ndarray:
        return self.controller.rpm(state)


class BatchCtbrAction:
    """``ctbr``: collective thrust (−1 → 0 N, +1 → max) and body rates (±max_rate), tracked by the rate loop."""

    def __init__(self, params: QuadrotorParams, gains: ControllerGains, num_drones: int) -> None:
        self.rate = BatchRateController(params, gains)
        self._max_thrust = 4.0 * params.max_thrust_per_rotor_n
        self._max_rate = np.asarray(gains.max_rate_radps, dtype=float)[:, None]
        self._thrust = np.full(num_drones, params.weight_n)
        self._rates = np.zeros((3, num_drones))
        self._weight = params.weight_n

    def reset(self, idx: np.ndarray, state: BatchState) -> None:
        self._thrust[idx] = self._weight
        self._rates[:, idx] = 0.0

    def set(self, action: np.ndarray, state: BatchState) -> None:
        self._thrust = 0.5 * (action[0] + 1.0) * self._max_thrust
        self._rates = action[1:] * self._max_rate

    def rpm(self, state: BatchState) -> np.ndarray:
        return self.rate.rpm(state, self._thrust, self._rates)


class BatchRpmAction:
    """``rpm``: each rotor's speed, −1 → 0 and +1 → max rpm, held for the control period."""

    def __init__(self, params: QuadrotorParams, num_drones: int) -> None:
        self._max, self._hover = params.max_rpm, params.hover_rpm
        self._rpm = np.full((4, num_drones), params.hover_rpm)

    def reset(self, idx: np.ndarray, state: BatchState) -> None:
        self._rpm[:, idx] = self._hover

    def set(self, action: np.ndarray, state: BatchState) -> None:
        self._rpm = 0.5 * (action + 1.0) * self._max

    def rpm(self, state: BatchState) -> np.ndarray:
        return self._rpm


def make_batch_action(act: str, params: QuadrotorParams, ctrl_dt_s: float, limits: VelocityLimits,
                      gains: ControllerGains, num_drones: int):
    """The batched action mode ``act`` (``"vel"``, ``"ctbr"`` or ``"rpm"``)."""
    if act == "vel":
        return BatchVelocityAction(params, ctrl_dt_s, limits, gains, num_drones)
    if act == "ctbr":
        return BatchCtbrAction(params, gains, num_drones)
    if act == "rpm":
        return BatchRpmAction(params, num_drones)
    raise ValueError(f"unknown action mode {act!r}; choose one of vel, ctbr, rpm")
