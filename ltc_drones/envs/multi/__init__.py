"""Multi-agent drone environments (PettingZoo ``ParallelEnv``) on the same simulator.

``multi_follow(num_drones=4, obs="kin", act="vel", scenario="nominal", ...)`` and
``multi_fly_to_target(...)`` build :class:`MultiFollowEnv` and :class:`MultiFlyToTargetEnv`; every
argument of the single-agent envs works the same way, scenario files and graded shifts included.
Needs the ``[multi]`` extra (PettingZoo).
"""

from __future__ import annotations

from .base import MAX_DRONES, MIN_DRONES, MULTI_KIN_DIM, DroneAgent, MultiDroneEnv
from .follow import MultiFollowEnv
from .reach import MultiFlyToTargetEnv

MULTI_ENVS = {"multi-follow": MultiFollowEnv, "multi-fly-to-target": MultiFlyToTargetEnv}


def multi_follow(num_drones: int = 4, **kwargs) -> MultiFollowEnv:
    """A :class:`MultiFollowEnv` with ``num_drones`` followers (2-8)."""
    return MultiFollowEnv(num_drones=num_drones, **kwargs)


def multi_fly_to_target(num_drones: int = 4, **kwargs) -> MultiFlyToTargetEnv:
    """A :class:`MultiFlyToTargetEnv` with ``num_drones`` drones (2-8)."""
    return MultiFlyToTargetEnv(num_drones=num_drones, **kwargs)


def make_multi_env(task: str, **kwargs) -> MultiDroneEnv:
    """The multi-agent env of a task key (``"multi-follow"`` or ``"multi-fly-to-target"``)."""
    if task not in MULTI_ENVS:
        raise ValueError(f"unknown multi-agent task {task!r}; valid: {', '.join(MULTI_ENVS)}")
    return MULTI_ENVS[task](**kwargs)


__all__ = ["MAX_DRONES", "MIN_DRONES", "MULTI_ENVS", "MULTI_KIN_DIM", "DroneAgent", "MultiDroneEnv",
           "MultiFlyToTargetEnv", "MultiFollowEnv", "make_multi_env", "multi_fly_to_target", "multi_follow"]
