"""Recorded rollouts: an episode with a chase-beside-onboard frame per step."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..envs.rollout import EpisodeRecord, run_episode
from .video import side_by_side


def record_episode(env, act: Callable[[object], np.ndarray], seed: int,
                   reset: Callable[[], None] | None = None) -> EpisodeRecord:
    """Like :func:`~ltc_drones.envs.rollout.run_episode`, keeping a video frame per step
    (``env`` needs ``render_mode="rgb_array"``)."""
    frames: list[np.ndarray] = []
    base = env.unwrapped

    def snap() -> None:
        onboard, _ = base.onboard_camera()
        frames.append(side_by_side(env.render(), onboard))

    record = run_episode(env, act, seed, reset, on_step=snap)
    record.frames = frames
    return record
