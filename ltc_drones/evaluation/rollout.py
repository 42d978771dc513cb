"""Recorded rollouts: an episode with a chase-beside-onboard frame per step."""

from __future__ import annotations

import numpy as np

from ..control.protocol import Controller
from ..envs.rollout import EpisodeRecord, run_episode
from .video import side_by_side


def record_episode(env, controller: Controller, seed: int) -> EpisodeRecord:
    """Like :func:`~ltc_drones.envs.rollout.run_episode`, keeping a video frame per step
    (``env`` needs ``render_mode="rgb_array"``)."""
    frames: list[np.ndarray] = []
    base = env.unwrapped

    def snap() -> None:
        onboard, _ = base.onboard_camera()
        frames.append(side_by_side(env.render(), onboard))

    record = run_episode(env, controller, seed, on_step=snap)
    record.frames = frames
    return record
