"""Task rules of the vector env, batched: goals, target motion, success, failure and reward terms.

Each class follows its PyBullet task (the class docstrings in :mod:`ltc_drones.envs.hover`,
``fly_to_target``, ``follow_target``, ``hiking`` are the specification) over N envs at once. The
env (:mod:`.env`) owns stepping, crashes, potentials' differences and the success and crash terms;
a task says where the goal is, how targets move, what success and failure are, its potentials and
its other reward terms, exactly as ``DroneEnv`` asks of a task.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from ...control.cascade import remainder_2pi
from ..follow_target import FollowTargetEnv
from ..scenario import Scenario
from .layout import Layout

TIME_EPS_S = 1e-9
"""Tolerance of the time comparisons, as in the PyBullet tasks."""


class BatchTask:
    """Rules shared by every task; subclasses fill in the goal and the outcome.

    Args:
        scenario: the task's settings.
        num_envs: N.
        ctrl_dt_s: control period (s).
        weights: reward weights (all of the task's terms).
    """

    HAS_TARGET_VIEW_RULE: ClassVar[bool] = False
    """Whether :meth:`outcome` needs to know if the camera sees the goal."""

    def __init__(self, scenario: Scenario, num_envs: int, ctrl_dt_s: float, weights: dict[str, float]) -> None:
        self.scenario, self.n, self.ctrl_dt_s, self.weights = scenario, num_envs, ctrl_dt_s, weights
        self.goal_m = np.zeros((3, num_envs))
        """Where each drone should go now (3, N): hold point, target or current marker."""

    def reset(self, idx: np.ndarray, layout: Layout) -> None:
        self.goal_m[:, idx] = layout.goals_m[0]

    def load(self, i: int, **fields) -> None:
        """Set env ``i``'s task state from the PyBullet env's (tests); see :meth:`VectorDroneEnv.load_episode`."""
        goal = fields.pop("goal_m", None)
        if fields:
            raise ValueError(f"{type(self).__name__} takes goal_m only, got {sorted(fields)}")
        if goal is None:
            raise ValueError(f"{type(self).__name__}.load needs goal_m (3 numbers, m)")
        self.goal_m[:, i] = np.asarray(goal, dtype=float).reshape(3)

    def advance(self, dt_s: float, step_index: np.ndarray) -> None:
        """Move targets by one control period; ``step_index`` (N,) counts the control steps flown so far."""

    def outcome(self, distance_m: np.ndarray, crash_now: np.ndarray, time_s: np.ndarray, pos_m: np.ndarray,
                in_view: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(succeeded, failed, distance_m)`` after this step (the distance changes when the goal does)."""
        raise NotImplementedError

    def potentials(self, distance_m: np.ndarray, heading_cos: np.ndarray) -> dict[str, np.ndarray]:
        """Unweighted potential of each shaping term: ``progress`` = −distance, ``heading`` = cos of the bearing."""
        return {"progress": -distance_m, "heading": heading_cos}

    def extra_terms(self) -> dict[str, np.ndarray]:
        """This step's weighted reward terms other than shaping, success and crash."""
        return {}

    def info(self, step_count: np.ndarray) -> dict[str, np.ndarray]:
        """Task-specific ``info`` entries (N,) of this step."""
        return {}

    def _at_end(self, time_s: np.ndarray) -> np.ndarray:
        return time_s >= self.scenario.episode_len_s - TIME_EPS_S


class HoverTask(BatchTask):
    """Hold a point: success when within ``hold_tolerance_m`` for the last ``hold_s``, judged at the time limit."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.held_s = np.zeros(self.n)

    def reset(self, idx: np.ndarray, layout: Layout) -> None:
        super().reset(idx, layout)
        self.held_s[idx] = 0.0

    def load(self, i: int, **fields) -> None:
        super().load(i, **fields)
        self.held_s[i] = 0.0

    def outcome(self, distance_m, crash_now, time_s, pos_m, in_view):
        s = self.scenario
        self.held_s = np.where(distance_m <= s.hold_tolerance_m, self.held_s + self.ctrl_dt_s, 0.0)
        succeeded = self._at_end(time_s) & (self.held_s >= s.hold_s - TIME_EPS_S)
        return succeeded, np.zeros(self.n, dtype=bool), distance_m

    def potentials(self, distance_m, heading_cos):
        return {"progress": -distance_m}


class FlyToTargetTask(BatchTask):
    """Reach a static target: success within ``success_radius_m``."""

    def outcome(self, distance_m, crash_now, time_s, pos_m, in_view):
        return distance_m <= self.scenario.success_radius_m, np.zeros(self.n, dtype=bool), distance_m


class FollowTargetTask(BatchTask):
    """Keep a moving target within ``follow_distance_m`` and in view; lost for over ``max_lost_s`` in total fails."""

    HAS_TARGET_VIEW_RULE = True
    PATH_KEYS = ("heading_rad", "speed_mps", "turn_rate_radps", "z_mid_m", "z_amp_m", "z_phase_rad", "z_omega_radps")

    def __init__(self, *args) -> None:
        super().__init__(*args)
        n = self.n
        self.target_vel_mps = np.zeros((3, n))
        self.path = {key: np.zeros(n) for key in self.PATH_KEYS}
        self.turn_noise = np.zeros((n, 1))
        self.tracked_steps = np.zeros(n, dtype=np.int64)
        self.lost_steps = np.zeros(n, dtype=np.int64)
        self.tracking = np.zeros(n, dtype=bool)
        a = math.exp(-self.ctrl_dt_s / FollowTargetEnv.TURN_RATE_TAU_S)
        self._turn_a = a
        self._turn_scale = FollowTargetEnv.TURN_RATE_STD_RADPS * math.sqrt(1 - a * a)

    def reset(self, idx: np.ndarray, layout: Layout) -> None:
        super().reset(idx, layout)
        for key in self.PATH_KEYS:
            self.path[key][idx] = layout.path[key]
        if self.turn_noise.shape[1] != layout.turn_noise.shape[1]:
            self.turn_noise = np.zeros((self.n, layout.turn_noise.shape[1]))
        self.turn_noise[idx] = layout.turn_noise
        self.target_vel_mps[:, idx] = self._velocity(idx)
        self.tracked_steps[idx] = self.lost_steps[idx] = 0
        self.tracking[idx] = False

    def load(self, i: int, **fields) -> None:
        """``goal_m`` (the target's position), ``path`` (a :class:`ltc_drones.envs.paths.SmoothPath` just
        reset) and ``turn_noise`` (the standard normals its generator will draw, one per step)."""
        path, noise = fields.pop("path", None), fields.pop("turn_noise", None)
        if path is None or noise is None:
            raise ValueError("FollowTarget's load needs path (a SmoothPath) and turn_noise (standard normals, one per "
                             "control step)")
        super().load(i, **fields)
        values = {"heading_rad": path.heading_rad, "speed_mps": path.speed_mps, "turn_rate_radps": path._turn_rate,
                  "z_mid_m": path._z_mid, "z_amp_m": path._z_amp, "z_phase_rad": path._z_phase,
                  "z_omega_radps": path._z_omega}
        for key, value in values.items():
            self.path[key][i] = value
        noise = np.asarray(noise, dtype=float).reshape(-1)
        steps = self.turn_noise.shape[1]
        if len(noise) < steps:
            raise ValueError(f"turn_noise needs {steps} values (one per control step), got {len(noise)}")
        self.turn_noise[i] = noise[:steps]
        self.target_vel_mps[:, i] = self._velocity(np.array([i]))[:, 0]
        self.tracked_steps[i] = self.lost_steps[i] = 0
        self.tracking[i] = False

    def _velocity(self, idx=slice(None)) -> np.ndarray:
        p = self.path
        heading, speed = p["heading_rad"][idx], p["speed_mps"][idx]
        vz = p["z_amp_m"][idx] * p["z_omega_radps"][idx] * np.cos(p["z_phase_rad"][idx])
        return np.stack([speed * np.cos(heading), speed * np.sin(heading), vz])

    def advance(self, dt_s: float, step_index: np.ndarray) -> None:
        """One control period of :meth:`ltc_drones.envs.paths.SmoothPath.advance` for every target."""
        p, pos = self.path, self.goal_m
        k = np.minimum(step_index, self.turn_noise.shape[1] - 1)
        noise = self._turn_scale * self.turn_noise[np.arange(self.n), k]
        turn = self._turn_a * p["turn_rate_radps"] + noise
        far = np.maximum(np.abs(pos[0]), np.abs(pos[1])) > 0.6 * self.scenario.bounds_xy_m
        if far.any():  # beyond 60 % of the bounds the path turns back toward the centre
            back = 0.6 * remainder_2pi(np.arctan2(-pos[1], -pos[0]) - p["heading_rad"])
            turn = np.where(far, back, turn)
        p["turn_rate_radps"] = turn
        p["heading_rad"] = p["heading_rad"] + turn * dt_s
        p["z_phase_rad"] = p["z_phase_rad"] + p["z_omega_radps"] * dt_s
        vel = self._velocity()
        self.target_vel_mps = vel
        self.goal_m = np.stack([pos[0] + vel[0] * dt_s, pos[1] + vel[1] * dt_s,
                                p["z_mid_m"] + p["z_amp_m"] * np.sin(p["z_phase_rad"])])

    def outcome(self, distance_m, crash_now, time_s, pos_m, in_view):
        s = self.scenario
        lo, hi = s.follow_distance_m
        self.tracking = (lo <= distance_m) & (distance_m <= hi) & in_view
        self.tracked_steps += self.tracking
        self.lost_steps += ~self.tracking
        failed = self.lost_steps * self.ctrl_dt_s > s.max_lost_s + TIME_EPS_S
        return self._at_end(time_s) & ~failed, failed, distance_m

    def potentials(self, distance_m, heading_cos):
        mid = 0.5 * sum(self.scenario.follow_distance_m)
        return {"progress": -np.abs(distance_m - mid), "heading": heading_cos}

    def extra_terms(self):
        return {"track": np.where(self.tracking, self.weights["track"] * self.ctrl_dt_s, 0.0)}

    def info(self, step_count):
        return {"tracked_fraction": self.tracked_steps / np.maximum(step_count, 1),
                "lost_s": self.lost_steps * self.ctrl_dt_s}


class HikingTask(BatchTask):
    """Visit ``num_markers`` markers in order; each reached within ``success_radius_m`` earns ``w_success / N``."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        m, n = self.scenario.num_markers, self.n
        self.markers_m = np.zeros((m, 3, n))
        self.course_after_m = np.zeros((m + 1, n))
        self.current = np.zeros(n, dtype=np.intp)
        self.reached = np.zeros(n, dtype=bool)

    def _set_markers(self, idx, markers: np.ndarray) -> None:
        """Markers (M, 3, B) of envs ``idx``; the course left after each marker along the remaining legs."""
        self.markers_m[:, :, idx] = markers
        legs = np.sqrt((np.diff(markers, axis=0) ** 2).sum(axis=1))  # (M - 1, B)
        after = np.zeros((len(markers) + 1, legs.shape[1]))
        after[:-2] = np.cumsum(legs[::-1], axis=0)[::-1]
        self.course_after_m[:, idx] = after
        self.current[idx] = 0
        self.reached[idx] = False
        self.goal_m[:, idx] = markers[0]

    def reset(self, idx: np.ndarray, layout: Layout) -> None:
        self._set_markers(idx, layout.goals_m)

    def load(self, i: int, **fields) -> None:
        """``markers_m``: the course (num_markers, 3) in order."""
        markers = fields.pop("markers_m", None)
        if fields or markers is None:
            raise ValueError(f"Hiking's load takes markers_m only ((num_markers, 3) m), got {sorted(fields)}")
        markers = np.asarray(markers, dtype=float)
        if markers.shape != (self.markers_m.shape[0], 3):
            raise ValueError(f"markers_m must have shape ({self.markers_m.shape[0]}, 3), got {markers.shape}")
        self._set_markers(np.array([i]), markers[:, :, None])

    def outcome(self, distance_m, crash_now, time_s, pos_m, in_view):
        m = self.markers_m.shape[0]
        self.reached = (distance_m <= self.scenario.success_radius_m) & ~crash_now
        self.current = self.current + self.reached
        succeeded = self.reached & (self.current >= m)
        moved = self.reached & ~succeeded
        if moved.any():  # the goal moves on to the next marker
            cols = np.flatnonzero(moved)
            self.goal_m[:, cols] = self.markers_m[self.current[cols], :, cols].T
            d = self.goal_m[:, cols] - pos_m[:, cols]
            distance_m = distance_m.copy()
            distance_m[cols] = np.sqrt((d * d).sum(axis=0))
        return succeeded, np.zeros(self.n, dtype=bool), distance_m

    def potentials(self, distance_m, heading_cos):
        m = self.markers_m.shape[0]
        after = self.course_after_m[np.minimum(self.current, m), np.arange(self.n)]
        to_go = np.where(self.current >= m, 0.0, distance_m + after)
        return {"progress": -to_go, "heading": heading_cos}

    def extra_terms(self):
        m = self.markers_m.shape[0]
        return {"marker": np.where(self.reached, self.weights["success"] / m, 0.0)}

