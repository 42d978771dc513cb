"""Drone environments: Gymnasium single-drone envs, PettingZoo team envs (:mod:`.multi`, extra ``[multi]``), the
vectorised state-only backend (:mod:`.vector`), observations, actions, scenarios and shifts, cameras.

Make envs through the task registry, :func:`ltc_drones.tasks.make_env` (re-exported here)::

    env = make_env("fly-to-target", obs="rgb", scenario="fog@3")            # a Gymnasium env
    team = make_env("multi-follow", num_drones=4)                            # a PettingZoo ParallelEnv
    vec = make_env("fly-to-target", backend="vector", num_envs=1024, seed=0)  # a Gymnasium VectorEnv

Importing the package registers ``ltc_drones/Hover-v0``, ``ltc_drones/FlyToTarget-v0``,
``ltc_drones/FollowTarget-v0`` and ``ltc_drones/Hiking-v0`` with Gymnasium (PyBullet is imported only when an
env is made).
"""

from ..tasks import make_env, register_envs
from .scenario import Scenario, ScenarioError, available_scenarios, load_scenario

register_envs()

__all__ = ["Scenario", "ScenarioError", "available_scenarios", "load_scenario", "make_env", "register_envs"]
