"""Hover: hold a point."""

from __future__ import annotations

import numpy as np

from ..sim.state import RigidBodyState
from .base import DroneEnv


class HoverEnv(DroneEnv):
    """Hold a point in the air.

    ## Description
    The drone starts in hover at flying height; the hold point is 0.1–0.3 m away in a random
    direction. Success: the drone stays within ``hold_tolerance_m`` (0.1 m) of the point during the
    last ``hold_s`` (2 s) of the 6 s episode. The hold point has no visual body (this is a state task).

    ## Action space
    As :class:`~ltc_drones.envs.fly_to_target.FlyToTargetEnv` (``vel``, ``ctbr``, ``rpm``).

    ## Observation space
    As FlyToTarget; the "target" vector points at the hold point.

    ## Rewards
    ``r = −w_progress · d · dt − w_crash · [crash] + w_success · [success at the end]``
    (``d``: distance to the hold point in m); each term in ``info`` as ``reward_<name>``.

    ## Episode end
    * truncated: after 6 s; ``info["is_success"]`` then tells whether the hold succeeded;
    * terminated, failure: contact, tilt > 80°, out of bounds.

    ## Arguments
    As FlyToTarget.

    ## Version history
    * v0: initial version.
    """

    TASK = "hover"
    SUCCESS_TERMINATES = False

    def _task_reset(self, rng: np.random.Generator) -> RigidBodyState:
        start = self._start_state(rng)
        d = rng.uniform(*self.scenario.start_distance_range_m)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        self.hold_pos_m = start.pos_m + d * direction
        self._held_s = 0.0
        return start

    @property
    def goal_pos_m(self) -> np.ndarray:
        return self.hold_pos_m

    def _task_outcome(self) -> tuple[bool, bool]:
        s = self.scenario
        self._held_s = self._held_s + self.clock.ctrl_dt_s if self._distance_m <= s.hold_tolerance_m else 0.0
        at_end = self.time_s >= s.episode_len_s - 1e-9
        # Success is judged at the end, so it is reported on the truncating step.
        return at_end and self._held_s >= s.hold_s - 1e-9, False

    def _task_reward_terms(self) -> dict[str, float]:
        return {"progress": -self.reward_weights["progress"] * self._distance_m * self.clock.ctrl_dt_s}
