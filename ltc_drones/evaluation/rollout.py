"""Fly a controller in an env for one episode and record what happened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .video import side_by_side


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
    record: bool = False,
) -> EpisodeRecord:
    """Run one episode with ``act(obs) -> action``; with ``record``, keep chase+onboard frames.

    Args:
        env: a ``ltc_drones`` env (``render_mode="rgb_array"`` when recording).
        act: maps an observation to an action.
        seed: the episode's seed.
        reset: called after ``env.reset`` (e.g. to reset an expert or a recurrent state).
        record: store a side-by-side frame per step.
    """
    obs, info = env.reset(seed=seed)
    if reset is not None:
        reset()
    base = env.unwrapped
    frames = []
    total, steps = 0.0, 0

    def snap():
        onboard, _ = base.onboard_camera()
        frames.append(side_by_side(env.render(), onboard))

    if record:
        snap()
    while True:
        obs, reward, terminated, truncated, info = env.step(act(obs))
        total += reward
        steps += 1
        if record:
            snap()
        if terminated or truncated:
            break
    return EpisodeRecord(seed, bool(info["is_success"]), bool(info["crashed"]), steps, float(info["time_s"]),
                         float(info["distance_m"]), total, frames)
