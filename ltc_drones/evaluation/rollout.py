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


def record_team_episode(env, controller: Controller, seed: int, follower: int = 0):
    """Like :func:`~ltc_drones.envs.multi.rollout.run_team_episode`, keeping a video frame per step: the chase
    view of the whole team beside agent ``follower``'s onboard view (``env`` needs ``render_mode="rgb_array"``).

    Once that agent is done (its drone parked out of the airspace), its last onboard view stays on screen.

    Returns:
        The :class:`~ltc_drones.envs.multi.rollout.TeamEpisodeRecord`, with the frames in ``frames``.
    """
    from ..envs.multi.rollout import run_team_episode

    if not 0 <= follower < env.num_drones:
        raise ValueError(f"follower must be an agent index from 0 to {env.num_drones - 1}, got {follower}")
    view = env.agent_views[env.possible_agents[follower]]
    frames: list[np.ndarray] = []
    onboard: list[np.ndarray] = []

    def snap() -> None:
        if view.active or not onboard:
            onboard[:] = [env.onboard_camera(follower)[0]]
        frames.append(side_by_side(env.render(), onboard[0]))

    record = run_team_episode(env, controller, seed, on_step=snap)
    record.frames = frames
    return record
