"""Run one episode of any controller in an env and summarise it (shared by every caller)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpisodeRecord:
    """Outcome of one episode."""

    seed: int
    success: bool
    crashed: bool
    steps: int
    time_s: float
    final_distance_m: float
    episode_return: float
    frames: list[np.ndarray] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {"seed": self.seed, "success": self.success, "crashed": self.crashed, "steps": self.steps,
                "time_s": round(self.time_s, 3), "final_distance_m": round(self.final_distance_m, 3),
                "return": round(self.episode_return, 3)}


def run_episode(
    env,
    act: Callable[[object], np.ndarray],
    seed: int,
    reset: Callable[[], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> EpisodeRecord:
    """Run one episode with ``act(obs) -> action``.

    Args:
        env: a ``ltc_drones`` env.
        act: maps an observation to an action.
        seed: the episode's seed.
        reset: called after ``env.reset`` (e.g. to reset an expert or a recurrent state).
        on_step: called after the reset and after every step (e.g. to grab a video frame).
    """
    obs, info = env.reset(seed=seed)
    if reset is not None:
        reset()
    if on_step is not None:
        on_step()
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, info = env.step(act(obs))
        total += reward
        steps += 1
        if on_step is not None:
            on_step()
        if terminated or truncated:
            break
    return EpisodeRecord(seed, bool(info["is_success"]), bool(info["crashed"]), steps, float(info["time_s"]),
                         float(info["distance_m"]), total)


def success_rate(env, act: Callable[[object], np.ndarray], seeds: Iterable[int],
                 reset: Callable[[], None] | None = None) -> float:
    """Fraction of the seeded episodes that succeed."""
    records = [run_episode(env, act, int(s), reset) for s in seeds]
    return sum(r.success for r in records) / len(records)
