"""Gymnasium drone environments: tasks, observations, actions, scenarios, cameras, registration.

Multi-agent PettingZoo envs (extra ``[multi]``): ``multi_follow(num_drones=4, obs="kin", ...)`` and
``multi_fly_to_target(...)``, imported from :mod:`ltc_drones.envs.multi` on first use; the vectorised
state-only backend ``make_vector("fly-to-target", num_envs=1024)`` likewise (:mod:`ltc_drones.envs.vector`).

Importing this package registers ``ltc_drones/Hover-v0``, ``ltc_drones/FlyToTarget-v0``,
``ltc_drones/FollowTarget-v0`` and ``ltc_drones/Hiking-v0`` (PyBullet is imported only when an env is made).
"""

from .registration import ENV_IDS, env_id_for, make_env, register_envs
from .scenario import Scenario, ScenarioError, available_scenarios, load_scenario

register_envs()

_MULTI = ("multi_follow", "multi_fly_to_target", "make_multi_env")


def __getattr__(name: str):
    """Multi-agent constructors, imported on first use (PettingZoo is an optional dependency)."""
    if name in _MULTI:
        from . import multi

        return getattr(multi, name)
    if name == "make_vector":
        from .vector import make_vector

        return make_vector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["make_multi_env", "make_vector", "multi_fly_to_target", "multi_follow",
           "ENV_IDS", "Scenario", "ScenarioError", "available_scenarios", "env_id_for", "load_scenario",
           "make_env", "register_envs"]
