"""Gymnasium ids of the single-agent environments (entry points are imported lazily)."""

from __future__ import annotations

import gymnasium as gym

ENV_IDS = {
    "hover": "ltc_drones/Hover-v0",
    "fly-to-target": "ltc_drones/FlyToTarget-v0",
    "follow-target": "ltc_drones/FollowTarget-v0",
    "hiking": "ltc_drones/Hiking-v0",
}
_ENTRY_POINTS = {
    "hover": "ltc_drones.envs.hover:HoverEnv",
    "fly-to-target": "ltc_drones.envs.fly_to_target:FlyToTargetEnv",
    "follow-target": "ltc_drones.envs.follow_target:FollowTargetEnv",
    "hiking": "ltc_drones.envs.hiking:HikingEnv",
}


def register_envs() -> None:
    """Register every task once; episode limits are enforced by the envs themselves (in seconds)."""
    for task, env_id in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=_ENTRY_POINTS[task], disable_env_checker=True)


def env_id_for(task: str) -> str:
    """The gymnasium id of a task key such as ``"fly-to-target"`` (or an id, returned as is)."""
    if task in ENV_IDS.values():
        return task
    if task not in ENV_IDS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(ENV_IDS)}")
    return ENV_IDS[task]


def make_env(task: str, **kwargs) -> gym.Env:
    """``gymnasium.make`` for a task key or id, e.g. ``make_env("fly-to-target", obs="rgb")``."""
    register_envs()
    return gym.make(env_id_for(task), **kwargs)
