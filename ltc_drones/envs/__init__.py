"""Gymnasium drone environments: tasks, observations, actions, scenarios, cameras, registration.

Importing this package registers ``ltc_drones/Hover-v0``, ``ltc_drones/FlyToTarget-v0``,
``ltc_drones/FollowTarget-v0`` and ``ltc_drones/Hiking-v0`` (PyBullet is imported only when an env is made).
"""

from .registration import ENV_IDS, env_id_for, make_env, register_envs
from .scenario import Scenario, ScenarioError, available_scenarios, load_scenario

register_envs()

__all__ = ["ENV_IDS", "Scenario", "ScenarioError", "available_scenarios", "env_id_for", "load_scenario",
           "make_env", "register_envs"]
