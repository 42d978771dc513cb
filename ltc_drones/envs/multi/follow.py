"""MultiFollow: N followers keep a moving leader in view, each at its own slot of a formation."""

from __future__ import annotations

import math

import numpy as np

from ...sim.rotation import euler_to_quat
from ...sim.state import RigidBodyState
from ..paths import SmoothPath
from .base import MultiDroneEnv

FORMATION_HEIGHT_SPAN_M = 0.6
"""The slots' heights span at most this much (so the leader stays inside every follower's vertical view)."""


class MultiFollowEnv(MultiDroneEnv):
    """Follow a leader along a random smooth path, ``num_drones`` followers in formation.

    ## Description
    The leader (the scenario's target body: nominal, a red 0.4 m sphere) flies along a random smooth
    path (:class:`~ltc_drones.envs.paths.SmoothPath`: speed 0.3–0.8 m/s, a slowly turning heading,
    height within ``target_height_m``). It is kinematic: it pushes no air and cannot be hit. Follower
    ``i``'s *slot* lies on an arc of radius ``formation_radius_m`` (1.2 m) behind the leader, in the
    frame of the leader's heading, neighbouring slots ``formation_spacing_m`` (0.7 m) apart, and
    stacked in height: neighbouring slots ``formation_height_step_m`` (0.3 m) apart, centred on the
    leader's height, the stack spanning at most 0.6 m. The height offsets keep followers that drift
    together out of each other's way and let a camera-only follower tell its slot: each sees the
    leader at its own image row (a leader that is a sphere shows no heading, so the side of a slot
    cannot be seen). A follower *tracks* the leader on a control step when its distance to the
    leader lies within ``follow_distance_m`` ([0.4, 2.0] m) and the leader is in its onboard camera's
    view; it succeeds when the 20 s pass with the leader lost for at most ``max_lost_s`` (2 s) in total.
    The team succeeds when every follower does (so no follower crashed or collided).

    ## Observations, actions, rewards
    See :mod:`ltc_drones.envs.multi.base`: the goal is the follower's slot and the look-at point the
    leader. Rewards add ``w_track · Δt`` on every tracked step (``track=0.5``); progress is toward the
    slot, heading toward the leader.

    ## Starting state
    The leader 0.9–1.3 m high within ±1 m of the origin; each follower at rest near its slot (±0.15 m
    horizontally, ±0.05 m in height), facing the leader (±10°).

    ## Episode end
    Per follower: terminated on a crash (a collision crashes both drones) or when the leader has been
    lost for more than 2 s in total; truncated at 20 s, ``is_success`` set when it succeeded.
    """

    TASK = "multi-follow"
    SUCCESS_TERMINATES = False
    REWARD_WEIGHTS = {"progress": 1.0, "heading": 0.5, "track": 0.5, "success": 10.0, "crash": 10.0}

    def _build_task(self) -> None:
        s = self.scenario
        self.leader_id = self.sim.world.add_visual_body(s.target_shape, s.target_size_m, s.target_color)
        self.target_ids = [self.leader_id]
        self._slot_angles = self.slot_angles_rad().tolist()  # fixed per env: read at every step by goal_of
        self._slot_heights = self.slot_heights_m().tolist()
        self.path = SmoothPath()

    def slot_angles_rad(self) -> np.ndarray:
        """Each follower's slot bearing from the leader, relative to the leader's heading (π = behind)."""
        s = self.scenario
        half = min(1.0, s.formation_spacing_m / (2.0 * s.formation_radius_m))
        step = 2.0 * math.asin(half)
        return math.pi + (np.arange(self.num_drones) - (self.num_drones - 1) / 2.0) * step

    def slot_heights_m(self) -> np.ndarray:
        """Each follower's slot height above (or below) the leader."""
        n = self.num_drones
        step = min(self.scenario.formation_height_step_m, FORMATION_HEIGHT_SPAN_M / max(n - 1, 1))
        return (np.arange(n) - (n - 1) / 2.0) * step

    def _task_reset(self, rng: np.random.Generator) -> list[RigidBodyState]:
        s = self.scenario
        leader = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(*s.target_height_m)])
        heading = rng.uniform(-math.pi, math.pi)
        behind = leader - np.array([math.cos(heading), math.sin(heading), 0.0])
        self.path.reset(self.rngs.target, leader, behind, s.target_speed_mps, s.target_height_m)
        self.sim.world.move_body(self.leader_id, self.path.pos_m)
        self._tracked = [0] * self.num_drones
        self._lost = [0] * self.num_drones
        self._tracking = [False] * self.num_drones
        starts = []
        for i in range(self.num_drones):
            p = self.goal_of(i) + np.array([*rng.uniform(-0.15, 0.15, 2), 0.0])
            p[2] += rng.uniform(-0.05, 0.05)
            d = self.path.pos_m - p
            yaw = math.atan2(d[1], d[0]) + math.radians(rng.uniform(-10.0, 10.0))
            starts.append(RigidBodyState.at_rest(p, euler_to_quat(0.0, 0.0, yaw)))
        return starts

    def _task_advance(self, dt_s: float) -> None:
        self.path.advance(dt_s, self.rngs.target, self.scenario.bounds_xy_m)
        self.sim.world.move_body(self.leader_id, self.path.pos_m)

    def goal_of(self, i: int) -> np.ndarray:
        a = self.path.heading_rad + self._slot_angles[i]
        r = self.scenario.formation_radius_m
        return self.path.pos_m + np.array([r * math.cos(a), r * math.sin(a), self._slot_heights[i]])

    def look_at_of(self, i: int) -> np.ndarray:
        return self.path.pos_m

    def target_velocity_of(self, i: int) -> np.ndarray:
        return self.path.vel_mps

    def leader_distance_m(self, i: int) -> float:
        return math.dist(self.path.pos_m.tolist(), self.sim.batch.pos_m[:, i].tolist())

    def lost_s(self, i: int) -> float:
        return self._lost[i] * self.clock.ctrl_dt_s

    def _agent_outcome(self, i: int) -> tuple[bool, bool]:
        s = self.scenario
        lo, hi = s.follow_distance_m
        self._tracking[i] = lo <= self.leader_distance_m(i) <= hi and self.sees(i, self.path.pos_m)
        if self._tracking[i]:
            self._tracked[i] += 1
        else:
            self._lost[i] += 1
        failed = self.lost_s(i) > s.max_lost_s + 1e-9
        at_end = self.time_s >= s.episode_len_s - 1e-9
        return at_end and not failed, failed

    def _task_reward_terms(self, i: int) -> dict[str, float]:
        return {"track": self.reward_weights["track"] * self.clock.ctrl_dt_s if self._tracking[i] else 0.0}

    def _task_info(self, i: int) -> dict[str, float]:
        if not self._reset_done:
            return {"tracked_fraction": 0.0, "lost_s": 0.0, "leader_distance_m": self.leader_distance_m(i)}
        return {"tracked_fraction": self._tracked[i] / max(self._step_count, 1), "lost_s": self.lost_s(i),
                "leader_distance_m": self.leader_distance_m(i)}

    def _layout_points_m(self) -> list[np.ndarray]:
        return [self.path.pos_m]
