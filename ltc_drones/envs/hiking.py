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
    As FlyToTarget, with progress toward the current marker and ``w_success / num_markers`` for each
    marker reached (``reward_marker``).

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
        self.current_marker = 0
        self._marker_reached_now = False
        for body, pos in zip(self.marker_ids, self.markers_m, strict=True):
            self.sim.world.move_body(body, pos)
        return start

    @property
    def goal_pos_m(self) -> np.ndarray:
        return self.markers_m[min(self.current_marker, len(self.markers_m) - 1)]

    def _task_outcome(self) -> tuple[bool, bool]:
        self._marker_reached_now = False
        if self._distance_m <= self.scenario.success_radius_m:
            self.sim.world.hide_body(self.marker_ids[self.current_marker])
            self.current_marker += 1
            self._marker_reached_now = True
            if self.current_marker >= len(self.markers_m):
                return True, False
            # The goal moved: progress is measured toward the new marker from here on.
            self._distance_m = self._prev_distance_m = self._goal_distance()
        return False, False

    def _task_reward_terms(self) -> dict[str, float]:
        terms = super()._task_reward_terms()
        terms["marker"] = self.reward_weights["success"] / len(self.markers_m) if self._marker_reached_now else 0.0
        return terms
