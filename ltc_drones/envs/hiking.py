"""Hiking: visit a course of markers in order."""

from __future__ import annotations

import math

import numpy as np

from ..sim.rotation import euler_to_quat
from ..sim.state import RigidBodyState
from .base import DroneEnv


class HikingEnv(DroneEnv):
    """Visit ``num_markers`` markers (nominal 3) in order; each is visible from the one before.

    ## Description
    The first marker is placed like FlyToTarget's target (1.5–3 m ahead, in view). Each next marker
    lies ``marker_spacing_m`` (1.5–3 m) beyond the previous one within ±``start_bearing_deg`` of the
    direction of the leg just flown, checked to be in the camera's view from the previous marker
    facing along that leg. A marker is reached within ``success_radius_m`` (0.5 m) and then vanishes;
    only the current and later markers are visible.

    ## Action space / Observation space
    As :class:`~ltc_drones.envs.fly_to_target.FlyToTargetEnv`; the target vector points at the
    current marker.

    ## Rewards
    ``r_t = w_progress · (L_{t−1} − L_t) + w_heading · (c_t − c_{t−1}) + (w_success / N) · [marker reached]
    + w_success · [last marker reached] − w_crash · [crash]``

    with ``L`` the course still to fly (m): the distance to the current marker plus the legs between
    the remaining markers (0 once the last is reached), ``c`` the cosine of the current marker's
    horizontal bearing off the drone's heading, ``N = num_markers``; ``[crash]`` marks a step ending
    in contact, tilt > 80° or out of bounds, on which no marker counts as reached and the episode
    never succeeds. Defaults ``progress=1, heading=0.5, success=10, crash=10`` (``reward_weights=``);
    ``info`` reports the terms as ``reward_progress``, ``reward_heading``, ``reward_marker``,
    ``reward_success`` and ``reward_crash``. Progress and heading are potential-based: over an
    episode they sum to ``w_progress · (L_0 − L_T) + w_heading · (c_T − c_0)`` whatever its length,
    so from the same start an episode that succeeds (``L_T = 0``) earns more than one that does not
    (``L_T > 0.5 m``, at most ``N − 1`` markers) whenever ``w_success · (1 + 1/N) > 2 · w_heading``.

    ## Starting state
    Hover (at rest) 0.9–1.3 m high within ±1 m of the origin, random heading; the first marker in view.
    Distractors (scenario ``distractors``) keep at least 1 m from every marker.

    ## Episode end
    * terminated, success: the last marker reached;
    * terminated, failure: contact, tilt > 80°, out of bounds;
    * truncated: 30 s elapsed.

    ## Arguments
    As FlyToTarget.

    ## Version history
    * v0: initial version.
    """

    TASK = "hiking"

    def _build_task(self) -> None:
        s = self.scenario
        self.marker_ids = [
            self.sim.world.add_visual_body(s.target_shape, s.target_size_m, s.target_color)
            for _ in range(s.num_markers)
        ]
        self.target_ids = list(self.marker_ids)

    def _task_reset(self, rng: np.random.Generator) -> RigidBodyState:
        s = self.scenario
        start = self._start_state(rng)
        markers = [self._point_in_view(rng, start, s.start_distance_range_m)]
        prev = start.pos_m
        for _ in range(1, s.num_markers):
            leg = markers[-1] - prev
            heading = math.atan2(leg[1], leg[0])
            viewpoint = RigidBodyState.at_rest(markers[-1], euler_to_quat(0.0, 0.0, heading))
            prev = markers[-1]
            markers.append(self._point_in_view(rng, viewpoint, s.marker_spacing_m))
        self.markers_m = np.stack(markers)
        legs_m = np.linalg.norm(np.diff(self.markers_m, axis=0), axis=1)
        # Course length from marker k to the last marker, along the remaining legs.
        self._course_after_m = np.append(np.cumsum(legs_m[::-1])[::-1], 0.0)
        self.current_marker = 0
        self._marker_reached_now = False
        for body, pos in zip(self.marker_ids, self.markers_m, strict=True):
            self.sim.world.move_body(body, pos)
        return start

    @property
    def goal_pos_m(self) -> np.ndarray:
        return self.markers_m[min(self.current_marker, len(self.markers_m) - 1)]

    def _layout_points_m(self) -> list[np.ndarray]:
        return list(self.markers_m)

    def _task_outcome(self) -> tuple[bool, bool]:
        self._marker_reached_now = False
        if self._distance_m <= self.scenario.success_radius_m and not self._crash_now:
            self.sim.world.hide_body(self.marker_ids[self.current_marker])
            self.current_marker += 1
            self._marker_reached_now = True
            if self.current_marker >= len(self.markers_m):
                return True, False
            self._distance_m = self._goal_distance()  # the goal moved on to the next marker
        return False, False

    def _potentials(self) -> dict[str, float]:
        k = self.current_marker
        to_go = 0.0 if k >= len(self.markers_m) else self._distance_m + self._course_after_m[k]
        return {"progress": -to_go, "heading": self._heading_cos()}

    def _task_reward_terms(self) -> dict[str, float]:
        reached = self._marker_reached_now
        return {"marker": self.reward_weights["success"] / len(self.markers_m) if reached else 0.0}
