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
from ..sim.params import QuadrotorParams, SimClock
from ..sim.state import RigidBodyState

ActMode = Literal["vel", "rpm", "ctbr"]
ACT_MODES = ("vel", "rpm", "ctbr")


class VelocityAction:
    """Velocity commands tracked by the cascaded controller."""

    def __init__(self, params: QuadrotorParams, clock: SimClock, limits: VelocityLimits, gains: ControllerGains):
        self.limits = limits
        self.controller = CascadedController(params, clock.ctrl_dt_s, gains)
        self._scale = limits.scale

    def reset(self, state: RigidBodyState) -> None:
        from ..sim.rotation import yaw_of

        self.controller.reset(yaw_of(state.R))

    def command(self, action: np.ndarray) -> np.ndarray:
        """The physical command ``[vx, vy, vz, yaw_rate]`` of a normalised action."""
        return action * self._scale

    def set(self, action: np.ndarray, state: RigidBodyState) -> None:
        self.controller.set_velocity_command(state, self.command(action))

    def rpm(self, state: RigidBodyState) -> np.ndarray:
        return self.controller.rpm(state)


class CtbrAction:
    """Collective thrust and body rates, tracked by the rate loop at every physics step."""

    def __init__(self, params: QuadrotorParams, gains: ControllerGains):
        self.rate = RateController(params, gains)
        self._max_thrust = 4.0 * params.max_thrust_per_rotor_n
        self._max_rate = np.asarray(gains.max_rate_radps)
        self._thrust = params.weight_n
        self._rates = np.zeros(3)

    def reset(self, state: RigidBodyState) -> None:
        self._thrust = self.rate.params.weight_n
        self._rates = np.zeros(3)

    def set(self, action: np.ndarray, state: RigidBodyState) -> None:
        self._thrust = 0.5 * (action[0] + 1.0) * self._max_thrust
        self._rates = action[1:] * self._max_rate

    def rpm(self, state: RigidBodyState) -> np.ndarray:
        return self.rate.rpm(state, self._thrust, self._rates)


class RpmAction:
    """Direct rotor speeds."""

    def __init__(self, params: QuadrotorParams):
        self._max = params.max_rpm
        self._rpm = np.full(4, params.hover_rpm)
        self._hover = params.hover_rpm

    def reset(self, state: RigidBodyState) -> None:
        self._rpm = np.full(4, self._hover)

    def set(self, action: np.ndarray, state: RigidBodyState) -> None:
        self._rpm = 0.5 * (action + 1.0) * self._max

    def rpm(self, state: RigidBodyState) -> np.ndarray:
        return self._rpm


def make_action_mode(
    act: str, params: QuadrotorParams, clock: SimClock, limits: VelocityLimits, gains: ControllerGains
) -> VelocityAction | CtbrAction | RpmAction:
    if act == "vel":
        return VelocityAction(params, clock, limits, gains)
    if act == "ctbr":
        return CtbrAction(params, gains)
    if act == "rpm":
        return RpmAction(params)
    raise ValueError(f"unknown action mode {act!r}; choose one of {', '.join(ACT_MODES)}")


def hover_action(act: str, params: QuadrotorParams) -> np.ndarray:
    """The normalised action that holds a hover in each mode."""
    if act == "rpm":
        return np.full(4, 2.0 * params.hover_rpm / params.max_rpm - 1.0, dtype=np.float32)
    if act == "ctbr":
        return np.array([2.0 * params.weight_n / (4 * params.max_thrust_per_rotor_n) - 1.0, 0, 0, 0], np.float32)
    return np.zeros(4, dtype=np.float32)
