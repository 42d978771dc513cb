"""FollowTarget: keep a moving target close and in view."""

from __future__ import annotations

import numpy as np

from ..sim.state import RigidBodyState
from .base import DroneEnv
from .paths import SmoothPath
from .target_hooks import InterventionTarget


class FollowTargetEnv(InterventionTarget, DroneEnv):
    """Follow a target moving along a random smooth path.

    ## Description
    The target (nominal: a red 0.4 m sphere) starts 1.0–1.5 m ahead in view and moves at a constant
    speed drawn from 0.3–1.0 m/s. Its heading turns with a smoothly varying turn rate (an
    Ornstein–Uhlenbeck process, std 0.4 rad/s, 2 s correlation), its height follows a slow sinusoid
    within ``target_height_m``, and it turns back toward the centre near the bounds. The target is
    *tracked* on a control step when the distance lies within ``follow_distance_m`` ([0.4, 2.0] m)
    and the target is in the onboard camera's view, else *lost*. Success: the 20 s pass with the
    target lost for at most ``max_lost_s`` (2 s) *in total* (not only consecutively).

    ## Action space / Observation space
    As :class:`~ltc_drones.envs.fly_to_target.FlyToTargetEnv`; the target vector points at the moving target.

    ## Rewards
    ``r_t = w_track · Δt · [tracked_t] + w_progress · (e_{t−1} − e_t) + w_heading · (c_t − c_{t−1})
    + w_success · [success] − w_crash · [crash]``

    with ``Δt`` the control period (s), ``e = |d − d_mid|`` the distance's offset from the middle of
    the band (m), ``c`` the cosine of the target's horizontal bearing off the drone's heading,
    ``[success]`` 1 only on the final (truncating) step of a successful episode, ``[crash]`` on a step
    ending in contact, tilt > 80° or out of bounds (never a success). Defaults ``track=0.5`` (per
    second tracked), ``progress=1, heading=0.5, success=10, crash=10`` (``reward_weights=``); each term
    is in ``info`` as ``reward_<name>``. Progress and heading are potential-based (they sum to
    ``w_progress · (e_0 − e_T) + w_heading · (c_T − c_0)`` whatever the episode's length); the only
    per-step income is earned while tracking, and an episode that loses the target for more than
    ``max_lost_s`` in total ends there, so a policy that never succeeds tracks for less time and
    forgoes ``w_success`` (or pays ``w_crash``).

    ## Starting state
    Hover (at rest) 0.9–1.3 m high within ±1 m of the origin, random heading; the target in view.

    ## Episode end
    * truncated at 20 s, ``info["is_success"]`` True when the target was lost for at most 2 s in total;
    * terminated, failure: the target lost for more than 2 s in total, contact, tilt > 80°, out of bounds.

    ``info`` also reports, on every step, ``tracked_fraction`` (the fraction of control steps so far
    on which the target was tracked) and ``lost_s`` (total time lost so far, s).

    ## Arguments
    As FlyToTarget; so are the interventions (``move_target``, ``set_target_visible``; a hidden target
    counts as lost).

    ## Version history
    * v0: initial version.
    """

    TASK = "follow-target"
    SUCCESS_TERMINATES = False
    REWARD_WEIGHTS = {"progress": 1.0, "heading": 0.5, "track": 0.5, "success": 10.0, "crash": 10.0}
    TURN_RATE_STD_RADPS = 0.4
    TURN_RATE_TAU_S = 2.0

    def _build_task(self) -> None:
        s = self.scenario
        self.target_id = self.sim.world.add_visual_body(s.target_shape, s.target_size_m, s.target_color)
        self.target_ids = [self.target_id]

    def _task_reset(self, rng: np.random.Generator) -> RigidBodyState:
        s = self.scenario
        start = self._start_state(rng)
        target = self._point_in_view(rng, start, s.start_distance_range_m)
        self.path = SmoothPath(self.TURN_RATE_STD_RADPS, self.TURN_RATE_TAU_S)
        self.path.reset(self.rngs.target, target, start.pos_m, s.target_speed_mps, s.target_height_m)
        self.target_pos_m, self.target_vel_mps = self.path.pos_m, self.path.vel_mps
        self._tracked_steps = self._lost_steps = 0
        self._tracking = False
        self.set_target_visible(True)
        return start

    def _task_advance(self, dt_s: float) -> None:
        path = self.path
        path.pos_m = self.target_pos_m  # an intervention may have moved the target
        path.advance(dt_s, self.rngs.target, self.scenario.bounds_xy_m)
        self.target_pos_m, self.target_vel_mps = path.pos_m, path.vel_mps
        self._place_target_body()  # stays hidden while an intervention hides it

    @property
    def goal_pos_m(self) -> np.ndarray:
        return self.target_pos_m

    @property
    def lost_s(self) -> float:
        """Total time the target has been lost this episode (s)."""
        return self._lost_steps * self.clock.ctrl_dt_s

    def _task_outcome(self) -> tuple[bool, bool]:
        s = self.scenario
        lo, hi = s.follow_distance_m
        self._tracking = lo <= self._distance_m <= hi and self.target_in_view()
        if self._tracking:
            self._tracked_steps += 1
        else:
            self._lost_steps += 1
        failed = self.lost_s > s.max_lost_s + 1e-9
        at_end = self.time_s >= s.episode_len_s - 1e-9
        return at_end and not failed, failed

    def _potentials(self) -> dict[str, float]:
        mid = 0.5 * sum(self.scenario.follow_distance_m)
        return {"progress": -abs(self._distance_m - mid), "heading": self._heading_cos()}

    def _task_reward_terms(self) -> dict[str, float]:
        return {"track": self.reward_weights["track"] * self.clock.ctrl_dt_s if self._tracking else 0.0}

    def _task_info(self) -> dict[str, float]:
        return {"tracked_fraction": self._tracked_steps / max(self._step_count, 1), "lost_s": self.lost_s}
