"""Recorded rollouts: an episode with a chase-beside-onboard frame per step."""

from __future__ import annotations

import numpy as np

from ..control.protocol import Controller
from ..envs.rollout import EpisodeRecord, TeamEpisodeRecord, run_episode
from ..tasks import is_team_env
from .video import side_by_side


def record_episode(env, controller: Controller, seed: int, follower: int = 0) -> EpisodeRecord | TeamEpisodeRecord:
    """Like :func:`~ltc_drones.envs.rollout.run_episode`, keeping a video frame per step: the chase view beside
    the onboard view (``env`` needs ``render_mode="rgb_array"``).

    In a team env the chase view shows the whole team, beside agent ``follower``'s onboard view; once that
    agent is done (its drone parked out of the airspace), its last onboard view stays on screen.

    Returns:
        The episode's record, with the frames ``(H, W, 3)`` uint8 in ``frames``.
    """
    frames: list[np.ndarray] = []
    onboard: list[np.ndarray] = []
    if is_team_env(env):
        if not 0 <= follower < env.num_drones:
            raise ValueError(f"follower must be an agent index from 0 to {env.num_drones - 1}, got {follower}")
        view = env.agent_views[env.possible_agents[follower]]

        def snap() -> None:
            if view.active or not onboard:
                onboard[:] = [env.onboard_camera(follower)[0]]
            frames.append(side_by_side(env.render(), onboard[0]))
    else:
        base = env.unwrapped

        def snap() -> None:
            frames.append(side_by_side(env.render(), base.onboard_camera()[0]))

    record = run_episode(env, controller, seed, on_frame=snap)
    record.frames = frames
    return record
