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
    ``obs="kin"`` only, as FlyToTarget's; the "target" vector (indices 0-2) points at the hold point.
    Image observations (``"rgb"``, ``"rgb_kin"``) raise ``ValueError``: nothing visible marks the
    hold point, so a camera policy could not know where to hold.

    ## Rewards
    ``r_t = w_progress · (d_{t−1} − d_t) + w_success · [success] − w_crash · [crash]``

    with ``d`` the distance to the hold point (m); ``[success]`` is 1 only on the final (truncating)
    step of a successful hold, ``[crash]`` on a step that ends in contact, tilt > 80° or out of
    bounds (then never a success). Defaults ``progress=1, success=10, crash=10`` (``reward_weights=``);
    each term is in ``info`` as ``reward_<name>``. Progress is potential-based: over an episode it
    sums to ``w_progress · (d_0 − d_T)``, so from the same start a hold that succeeds
    (``d_T ≤ 0.1 m``) earns more than any that does not, however the time is spent.

    ## Starting state
    Hover (rotors at hover speed, at rest) 0.9–1.3 m high, within ±1 m of the origin, random heading.

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
    REWARD_WEIGHTS = {"progress": 1.0, "success": 10.0, "crash": 10.0}

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

    def _potentials(self) -> dict[str, float]:
        return {"progress": -self._distance_m}
