"""Statistics of closed-loop results: per-episode metrics from a trajectory, per-scenario summaries.

Every metric is computed from plain arrays (:class:`Trajectory`), so it can be checked on hand-built
trajectories. Definitions (units in the names):

* ``time_to_success_s``: control steps until ``is_success`` was first reported, times the control period
  (None without success).
* ``path_length_m``: length of the drone's path (sum of the distances between consecutive positions).
* ``path_efficiency``: straight-line progress over path length. The goal may change during an episode
  (Hiking's markers); each stretch with one goal is a leg, and a leg's straight-line progress is the
  distance to its goal where the leg began minus that distance where it ended. 1 for a straight flight,
  smaller for detours, negative when the drone ended farther from the goal than it started. Reported for
  tasks with static goals only (None for following tasks, whose goal moves).
* ``min_distance_m`` / ``final_distance_m``: distance from the drone's centre to the goal.
* ``tracking_error_m`` (following tasks): mean over steps of how far the distance to the target lies
  outside the follow band ``[lo, hi]`` (0 inside it).
* ``tracked_fraction`` (following tasks): fraction of steps with the target tracked (in band and in view).
* ``action_smoothness``: mean Euclidean norm of the change of the normalised action between consecutive
  steps (0: constant commands; lower is smoother).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a success rate (95 % for z = 1.96); (0, 1) when n = 0.

    Wilson, "Probable inference, the law of succession, and statistical inference", JASA 1927.
    """
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Trajectory:
    """What one episode did, as arrays.

    Attributes:
        dt_s: control period (s).
        pos_m: drone positions ``(T + 1, 3)``: after the reset, then after each of the ``T`` steps.
        goal_m: the goal at the same times ``(T + 1, 3)``.
        action: the actions flown ``(T, A)`` (normalised).
        success: the episode's outcome.
        crashed: whether it ended in a crash.
        success_step: the step (1..T) at which success was first reported, or None.
        tracked: ``(T,)`` bools, target tracked after each step (following tasks), or None.
        follow_band_m: ``(lo, hi)`` distance band of a following task, or None.
        moving_goal: the goal moves continuously (path efficiency is then undefined).
    """

    dt_s: float
    pos_m: np.ndarray
    goal_m: np.ndarray
    action: np.ndarray
    success: bool
    crashed: bool
    success_step: int | None = None
    tracked: np.ndarray | None = None
    follow_band_m: tuple[float, float] | None = None
    moving_goal: bool = False

    def __post_init__(self) -> None:
        self.pos_m = np.asarray(self.pos_m, dtype=np.float64).reshape(-1, 3)
        self.goal_m = np.asarray(self.goal_m, dtype=np.float64).reshape(-1, 3)
        self.action = np.asarray(self.action, dtype=np.float64)
        if self.action.ndim == 1:
            self.action = self.action.reshape(-1, 1)
        if len(self.pos_m) != len(self.goal_m) or len(self.pos_m) != len(self.action) + 1:
            raise ValueError(f"need T + 1 positions and goals for T actions, got {len(self.pos_m)}, "
                             f"{len(self.goal_m)} and {len(self.action)}")


def _legs(goal_m: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges ``[start, end]`` of the legs; a leg's goal is ``goal_m[start]``.

    When the goal changes at time t (a marker was reached by the step ending at t), the old leg ends at
    t and the new one begins there.
    """
    legs, start = [], 0
    for t in range(1, len(goal_m)):
        if np.any(np.abs(goal_m[t] - goal_m[t - 1]) > 1e-9):
            legs.append((start, t))
            start = t
    legs.append((start, len(goal_m) - 1))
    return legs


def episode_metrics(traj: Trajectory) -> dict[str, Any]:
    """The metrics of one episode (see the module docstring for the definitions)."""
    steps = len(traj.action)
    dist = np.linalg.norm(traj.pos_m - traj.goal_m, axis=1)
    path = float(np.linalg.norm(np.diff(traj.pos_m, axis=0), axis=1).sum())
    efficiency = None
    if not traj.moving_goal and path > 1e-9:
        progress = 0.0
        for a, b in _legs(traj.goal_m):
            goal = traj.goal_m[a]
            progress += float(np.linalg.norm(traj.pos_m[a] - goal) - np.linalg.norm(traj.pos_m[b] - goal))
        efficiency = progress / path
    smooth = float(np.linalg.norm(np.diff(traj.action, axis=0), axis=1).mean()) if steps > 1 else 0.0
    out: dict[str, Any] = {
        "success": bool(traj.success),
        "crashed": bool(traj.crashed),
        "steps": steps,
        "time_s": steps * traj.dt_s,
        "time_to_success_s": None if traj.success_step is None or not traj.success else traj.success_step * traj.dt_s,
        "path_length_m": path,
        "path_efficiency": efficiency,
        "min_distance_m": float(dist.min()),
        "final_distance_m": float(dist[-1]),
        "action_smoothness": smooth,
        "tracking_error_m": None,
        "tracked_fraction": None,
    }
    if traj.follow_band_m is not None:
        lo, hi = traj.follow_band_m
        d = dist[1:] if steps else dist
        out["tracking_error_m"] = float(np.maximum.reduce([lo - d, d - hi, np.zeros_like(d)]).mean())
    if traj.tracked is not None and steps:
        out["tracked_fraction"] = float(np.mean(np.asarray(traj.tracked, dtype=bool)))
    return out


SUMMARY_METRICS = ("time_to_success_s", "path_efficiency", "min_distance_m", "final_distance_m",
                   "tracking_error_m", "tracked_fraction", "action_smoothness", "return")
"""Per-episode metrics averaged in a summary (time to success and path efficiency over successes only)."""
_OVER_SUCCESSES = ("time_to_success_s", "path_efficiency")


def _mean(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Summary of episode records (one scenario): success rate with its 95 % Wilson interval and means."""
    n = len(records)
    wins = sum(bool(r["success"]) for r in records)
    lo, hi = wilson_interval(wins, n)
    out: dict[str, Any] = {
        "episodes": n, "successes": wins, "success_rate": wins / n if n else math.nan,
        "success_ci95": [lo, hi], "crash_rate": (sum(bool(r["crashed"]) for r in records) / n) if n else math.nan,
    }
    for key in SUMMARY_METRICS:
        pool = [r for r in records if r["success"]] if key in _OVER_SUCCESSES else records
        out[key] = _mean(r.get(key) for r in pool)
    return out
