"""Action modes: how a normalised action in [-1, 1]⁴ becomes rotor speeds at every physics step.

| mode | action[0] | action[1] | action[2] | action[3] |
|------|-----------|-----------|-----------|-----------|
| vel  | vx (body-yaw frame, ±vxy_mps) | vy (±vxy_mps) | vz (±vz_mps) | yaw rate (±yaw_rate_radps) |
| ctbr | collective thrust, -1 → 0 N, +1 → max | roll rate (±max_rate) | pitch rate | yaw rate |
| rpm  | rotor 0 speed, -1 → 0, +1 → max rpm | rotor 1 | rotor 2 | rotor 3 |
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..control.cascade import CascadedController, ControllerGains, RateController, VelocityLimits
from ..sim.explicit import BatchState
from ..sim.params import QuadrotorParams, SimClock

ActMode = Literal["vel", "rpm", "ctbr"]
ACT_MODES = ("vel", "rpm", "ctbr")


class VelocityAction:
    """``vel``: normalised [-1, 1]⁴ → [vx, vy, vz, yaw rate] within ``limits``, tracked by the cascade.

    Every action mode serves N drones (N = 1 for a single-drone env): actions are (4, N), states
    :class:`~ltc_drones.sim.explicit.BatchState`, rotor speeds (4, N) in rpm.
    """

    def __init__(self, params: QuadrotorParams, clock: SimClock, limits: VelocityLimits, gains: ControllerGains,
                 num_drones: int = 1) -> None:
        self.limits = limits
        self.controller = CascadedController(params, clock.ctrl_dt_s, gains, num_drones)
        self._scale = limits.scale[:, None]

    def reset(self, idx: np.ndarray | slice, state: BatchState) -> None:
        """New episodes for drones ``idx``: the controller's integrators cleared, heading held."""
        R = state.R[:, :, idx]
        self.controller.reset(idx, np.arctan2(R[1, 0], R[0, 0]))

    def command(self, action: np.ndarray) -> np.ndarray:
        """The physical commands (4, N) ``[vx, vy, vz, yaw_rate]`` of normalised actions (4, N)."""
        return action * self._scale

    def set(self, action: np.ndarray, state: BatchState) -> None:
        self.controller.set_velocity_command(state, action * self._scale)

    def rpm(self, state: BatchState) -> np.ndarray:
        return self.controller.rpm(state)


class CtbrAction:
    """``ctbr``: collective thrust (−1 → 0 N, +1 → max) and body rates (±max_rate), tracked by the rate loop."""

    def __init__(self, params: QuadrotorParams, gains: ControllerGains, num_drones: int = 1) -> None:
        self.rate = RateController(params, gains)
        self._max_thrust = 4.0 * params.max_thrust_per_rotor_n
        self._max_rate = np.asarray(gains.max_rate_radps, dtype=float)[:, None]
        self._thrust = np.full(num_drones, params.weight_n)
        self._rates = np.zeros((3, num_drones))
        self._weight = params.weight_n

    def reset(self, idx: np.ndarray | slice, state: BatchState) -> None:
        self._thrust[idx] = self._weight
        self._rates[:, idx] = 0.0

    def set(self, action: np.ndarray, state: BatchState) -> None:
        self._thrust = 0.5 * (action[0] + 1.0) * self._max_thrust
        self._rates = action[1:] * self._max_rate

    def rpm(self, state: BatchState) -> np.ndarray:
        return self.rate.rpm(state, self._thrust, self._rates)


class RpmAction:
    """``rpm``: each rotor's speed, −1 → 0 and +1 → max rpm, held for the control period."""

    def __init__(self, params: QuadrotorParams, num_drones: int = 1) -> None:
        self._max, self._hover = params.max_rpm, params.hover_rpm
        self._rpm = np.full((4, num_drones), params.hover_rpm)

    def reset(self, idx: np.ndarray | slice, state: BatchState) -> None:
        self._rpm[:, idx] = self._hover

    def set(self, action: np.ndarray, state: BatchState) -> None:
        self._rpm = 0.5 * (action + 1.0) * self._max

    def rpm(self, state: BatchState) -> np.ndarray:
        return self._rpm


def make_action_mode(act: str, params: QuadrotorParams, clock: SimClock, limits: VelocityLimits,
                     gains: ControllerGains, num_drones: int = 1) -> VelocityAction | CtbrAction | RpmAction:
    """The action mode ``act`` (``"vel"``, ``"ctbr"`` or ``"rpm"``) for ``num_drones`` drones."""
    if act == "vel":
        return VelocityAction(params, clock, limits, gains, num_drones)
    if act == "ctbr":
        return CtbrAction(params, gains, num_drones)
    if act == "rpm":
        return RpmAction(params, num_drones)
    raise ValueError(f"unknown action mode {act!r}; choose one of {', '.join(ACT_MODES)}")


def hover_action(act: str, params: QuadrotorParams) -> np.ndarray:
    """The normalised action that holds a hover in each mode."""
    if act == "rpm":
        return np.full(4, 2.0 * params.hover_rpm / params.max_rpm - 1.0, dtype=np.float32)
    if act == "ctbr":
        return np.array([2.0 * params.weight_n / (4 * params.max_thrust_per_rotor_n) - 1.0, 0, 0, 0], np.float32)
    return np.zeros(4, dtype=np.float32)
