"""Physical shifts that act inside an env's step: action latency and a weak motor.

* :class:`ActionDelay` (``latency_steps``): the action given at control step t takes effect at step
  t + k; until the first one arrives, the action that holds a hover in the env's action mode applies.
* :class:`MotorWeakness` (``motor_weakness``): one rotor, drawn per episode, loses a fraction of its
  maximum thrust: thrust = kf·ω², so its speed is capped at ``sqrt(1 − fraction)`` of the maximum.
  The controller is not told, as on a real vehicle with a damaged propeller.

:class:`PhysicalShifts` bundles both for a scenario; with neither on, it passes values through.
(Fog, the image shift that needs the depth buffer, is drawn by the world itself:
:class:`ltc_drones.sim.atmosphere.Fog`.)
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from ..sim.params import QuadrotorParams
from .actions import hover_action
from .scenario import Scenario


class ActionDelay:
    """A first-in first-out queue that returns each action ``steps`` calls after it was given."""

    def __init__(self, steps: int) -> None:
        if steps < 0:
            raise ValueError(f"latency must be >= 0 control steps, got {steps}")
        self.steps = steps
        self._queue: deque[np.ndarray] = deque()

    def reset(self, initial: np.ndarray) -> None:
        """Fill the queue with ``initial`` (what applies during the first ``steps`` steps)."""
        self._queue = deque(np.array(initial, dtype=np.float64) for _ in range(self.steps))

    def __call__(self, action: np.ndarray) -> np.ndarray:
        """Give ``action`` now; return the one that takes effect now."""
        if self.steps == 0:
            return action
        self._queue.append(np.array(action, dtype=np.float64))
        return self._queue.popleft()


class MotorWeakness:
    """Caps one rotor's speed so that its maximum thrust drops by ``fraction``.

    Args:
        fraction: share of the rotor's maximum thrust lost, in [0, 1).
        max_rpm: the rotors' maximum speed (rpm).
    """

    def __init__(self, fraction: float, max_rpm: float) -> None:
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"motor weakness must lie in [0, 1), got {fraction}")
        self.fraction = fraction
        self.cap_rpm = math.sqrt(1.0 - fraction) * max_rpm
        self.rotor = 0

    def reset(self, rng: np.random.Generator) -> None:
        """Draw the weak rotor of this episode (no draw when the weakness is off)."""
        if self.fraction > 0:
            self.rotor = int(rng.integers(4))

    def __call__(self, rpm: np.ndarray) -> np.ndarray:
        """The rotor speeds the motors can deliver for the commanded ``rpm`` (4,) or (4, 1) (one drone)."""
        if self.fraction == 0 or rpm[self.rotor] <= self.cap_rpm:
            return rpm
        out = np.array(rpm, dtype=np.float64)
        out[self.rotor] = self.cap_rpm
        return out


class PhysicalShifts:
    """The scenario's latency and motor weakness for one env (``act`` is its action mode)."""

    def __init__(self, scenario: Scenario, params: QuadrotorParams, act: str) -> None:
        self.delay = ActionDelay(scenario.latency_steps)
        self.motor = MotorWeakness(scenario.motor_weakness, params.max_rpm)
        self._hover = hover_action(act, params).astype(np.float64)

    def reset(self, rng: np.random.Generator) -> None:
        """New episode: hover until the first delayed action arrives; draw the weak rotor from ``rng``."""
        self.delay.reset(self._hover)
        self.motor.reset(rng)

    def action(self, action: np.ndarray) -> np.ndarray:
        """The action that takes effect at this control step."""
        return self.delay(action)

    def rpm(self, rpm: np.ndarray) -> np.ndarray:
        """The rotor speeds delivered for a command (every physics step)."""
        return self.motor(rpm)
