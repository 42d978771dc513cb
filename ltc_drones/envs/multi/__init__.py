"""Multi-agent drone environments (PettingZoo ``ParallelEnv``) on the same simulator.

``multi_follow(num_drones=4, obs="kin", act="vel", scenario="nominal", ...)`` and
``multi_fly_to_target(...)`` build :class:`MultiFollowEnv` and :class:`MultiFlyToTargetEnv`; every
argument of the single-agent envs works the same way, scenario files and graded shifts included.
Needs the ``[multi]`` extra (PettingZoo).
"""

from __future__ import annotations

from .base import MULTI_KIN_DIM, DroneAgent, MultiDroneEnv
from .follow import MultiFollowEnv
from .reach import MultiFlyToTargetEnv


def multi_follow(num_drones: int = 4, **kwargs) -> MultiFollowEnv:
    """A :class:`MultiFollowEnv` with ``num_drones`` followers (2-8)."""
    return MultiFollowEnv(num_drones=num_drones, **kwargs)


def multi_fly_to_target(num_drones: int = 4, **kwargs) -> MultiFlyToTargetEnv:
    """A :class:`MultiFlyToTargetEnv` with ``num_drones`` drones (2-8)."""
    return MultiFlyToTargetEnv(num_drones=num_drones, **kwargs)


__all__ = ["MULTI_KIN_DIM", "DroneAgent", "MultiDroneEnv", "MultiFlyToTargetEnv", "MultiFollowEnv",
           "multi_fly_to_target", "multi_follow"]
