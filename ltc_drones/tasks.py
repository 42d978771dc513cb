"""The task registry: every task of the suite, what it is made of, and the one way to make its env.

Each task has one :class:`TaskSpec` in :data:`TASKS`: its Gymnasium id, whether a team flies it, the env
class of each backend, the observation modes it allows, its privileged expert, whether its target moves and
whether the causal interventions apply. :func:`make_env` builds what the ecosystem expects for it: a
Gymnasium env for one drone, a PettingZoo ``ParallelEnv`` for a team, a Gymnasium ``VectorEnv`` for the
vector backend. :func:`task_spec`, :func:`check_obs` and :func:`check_num_drones` are the one validation
of task names, observation modes and team sizes that the CLI, configs, evaluator, benchmark grids,
diagnostics and RL all use.

The registry is data, as Gymnasium's is: classes are named ``"module:Class"`` and imported only when an env
or an expert is made, so every layer may read the registry (the env modules included) and ``import
ltc_drones`` does not load PyBullet. Adding a task means writing its env module (and its nominal scenario
``envs/tasks/<task>.yaml``) and adding one entry here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

OBS_MODES = ("kin", "rgb", "rgb_kin")
"""Observation modes: the state vector, the onboard camera image, or both (see :mod:`ltc_drones.envs.observations`)."""
IMAGE_OBS_MODES = ("rgb", "rgb_kin")
BACKENDS = ("pybullet", "vector")
VECTOR_ENV = "ltc_drones.envs.vector:VectorDroneEnv"
"""The vector backend's ``VectorEnv`` (N state-only drones of any task with a ``vector`` class)."""
MIN_DRONES = 2
MAX_DRONES = 8
"""Team sizes of the multi-agent tasks."""
DEFAULT_NUM_DRONES = 4
"""Team size when a multi-agent task is flown without one (the evaluator, ``make_env``)."""


class UnknownTaskError(ValueError):
    """A task name (or id) that the registry does not hold."""


@dataclass(frozen=True)
class TaskSpec:
    """One task of the suite.

    Attributes:
        name: the task key (``"fly-to-target"``), used by the CLI, configs, scenario files and grids.
        env_id: the Gymnasium id (``"ltc_drones/FlyToTarget-v0"``); for a team task a name only, recorded in
            checkpoints (PettingZoo envs are not registered with Gymnasium).
        env: the PyBullet env class, ``"module:Class"``.
        team: whether a team of drones flies it (a PettingZoo ``ParallelEnv``, one shared policy per drone).
        vector: the vector backend's task class, ``"module:Class"``, or None if the backend lacks the task.
        obs_modes: the observation modes it allows.
        expert: the privileged expert class, ``"module:Class"`` (built as ``Expert(env)``).
        moving_target: its goal moves (the follow metrics apply: tracked time, distance band).
        interventions: the causal interventions (moving the target mid-flight) apply.
        single_agent_task: for a team task, the single-drone task each agent's goal follows.
    """

    name: str
    env_id: str
    env: str
    team: bool = False
    vector: str | None = None
    obs_modes: tuple[str, ...] = OBS_MODES
    expert: str = "ltc_drones.control.experts:ReachExpert"
    moving_target: bool = False
    interventions: bool = False
    single_agent_task: str | None = None
    obs_note: str = ""
    """Why observation modes outside ``obs_modes`` are refused (for the error message)."""

    @property
    def title(self) -> str:
        """The name in the Gymnasium id (``"FlyToTarget"``)."""
        return self.env_id.split("/")[-1].rsplit("-v", 1)[0]

    @property
    def env_class(self) -> type:
        """The PyBullet env class (imports its module)."""
        return _resolve(self.env)

    @property
    def vector_class(self) -> type:
        """The vector backend's task class (imports its module); ``ValueError`` if the backend lacks the task."""
        if self.vector is None:
            raise ValueError(f"the vector backend has no task {self.name!r} (it has {', '.join(VECTOR_TASKS)}); use "
                             "the PyBullet env")
        return _resolve(self.vector)

    @property
    def episode_len_s(self) -> float:
        """Length of a nominal episode, seconds (from the task's nominal scenario file)."""
        return _resolve("ltc_drones.envs.scenario:load_scenario")(self.name).episode_len_s


TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (
    TaskSpec("hover", "ltc_drones/Hover-v0", "ltc_drones.envs.hover:HoverEnv",
             vector="ltc_drones.envs.vector.tasks:HoverTask", obs_modes=("kin",),
             expert="ltc_drones.control.experts:HoverExpert",
             obs_note='nothing visible marks the hold point, so an image shows no goal; use obs="kin" (its first 3 '
                      'entries point at the hold point)'),
    TaskSpec("fly-to-target", "ltc_drones/FlyToTarget-v0", "ltc_drones.envs.fly_to_target:FlyToTargetEnv",
             vector="ltc_drones.envs.vector.tasks:FlyToTargetTask", interventions=True),
    TaskSpec("follow-target", "ltc_drones/FollowTarget-v0", "ltc_drones.envs.follow_target:FollowTargetEnv",
             vector="ltc_drones.envs.vector.tasks:FollowTargetTask", expert="ltc_drones.control.experts:FollowExpert",
             moving_target=True, interventions=True),
    TaskSpec("hiking", "ltc_drones/Hiking-v0", "ltc_drones.envs.hiking:HikingEnv",
             vector="ltc_drones.envs.vector.tasks:HikingTask"),
    TaskSpec("multi-follow", "ltc_drones/MultiFollow-v0", "ltc_drones.envs.multi.follow:MultiFollowEnv", team=True,
             expert="ltc_drones.control.team_expert:TeamExpert", moving_target=True, single_agent_task="follow-target"),
    TaskSpec("multi-fly-to-target", "ltc_drones/MultiFlyToTarget-v0", "ltc_drones.envs.multi.reach:MultiFlyToTargetEnv",
             team=True, expert="ltc_drones.control.team_expert:TeamExpert", single_agent_task="fly-to-target"),
)}
"""Every task, by key."""

SINGLE_TASKS = tuple(name for name, spec in TASKS.items() if not spec.team)
TEAM_TASKS = tuple(name for name, spec in TASKS.items() if spec.team)
VECTOR_TASKS = tuple(name for name, spec in TASKS.items() if spec.vector)
"""The tasks the vector backend has."""


def _resolve(entry_point: str) -> Any:
    module, _, name = entry_point.partition(":")
    return getattr(importlib.import_module(module), name)


def task_spec(task: str) -> TaskSpec:
    """The :class:`TaskSpec` of a task key or Gymnasium id.

    Raises:
        UnknownTaskError: the name is not a task; the message lists the valid ones.
    """
    if task in TASKS:
        return TASKS[task]
    for spec in TASKS.values():
        if task == spec.env_id:
            return spec
    raise UnknownTaskError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")


def check_obs(task: str, obs: str) -> str:
    """Return ``obs`` if ``task`` allows that observation mode, else raise ``ValueError`` saying which it allows."""
    spec = task_spec(task)
    if obs not in OBS_MODES:
        raise ValueError(f"unknown observation mode {obs!r}; choose one of {', '.join(OBS_MODES)}")
    if obs not in spec.obs_modes:
        why = spec.obs_note or f"it allows {', '.join(spec.obs_modes)}"
        raise ValueError(f"{spec.title} does not support obs={obs!r}: {why}")
    return obs


def check_num_drones(task: str, num_drones: int | None, option: str = "num_drones") -> int | None:
    """The validated team size of ``task``: ``num_drones`` (:data:`DEFAULT_NUM_DRONES` if None) for a team task;
    None for a single-drone task, which refuses any other value.

    Raises:
        ValueError: a team size out of :data:`MIN_DRONES`-:data:`MAX_DRONES` or not a whole number, or a team
            size given for a single-drone task; the message names ``option``.
    """
    spec = task_spec(task)
    if not spec.team:
        if num_drones is not None:
            raise ValueError(f"{option} applies to the multi-agent tasks ({', '.join(TEAM_TASKS)}); {spec.name} flies "
                             "one drone: leave it out")
        return None
    n = DEFAULT_NUM_DRONES if num_drones is None else num_drones
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not MIN_DRONES <= n <= MAX_DRONES:
        raise ValueError(f"{option}={num_drones!r} is invalid: a multi-agent task flies a whole number of drones "
                         f"from {MIN_DRONES} to {MAX_DRONES}")
    return int(n)


def make_env(task: str, *, obs: str = "kin", act: str = "vel", scenario: Any = "nominal", num_drones: int | None = None,
             backend: str = "pybullet", num_envs: int = 1024, **kwargs) -> Any:
    """The env of ``task``, validated: what the ecosystem expects for it.

    Args:
        task: a task key (``"fly-to-target"``) or Gymnasium id.
        obs: observation mode (:data:`OBS_MODES`, as the task allows).
        act: action mode (``"vel"``, ``"rpm"``, ``"ctbr"``).
        scenario: ``"nominal"``, a shift such as ``"fog@3"``, a YAML path or a ``Scenario``.
        num_drones: team size of a multi-agent task (default :data:`DEFAULT_NUM_DRONES`); refused for one drone.
        backend: ``"pybullet"`` (a Gymnasium env, or a PettingZoo ``ParallelEnv`` for a team) or ``"vector"``
            (a Gymnasium ``VectorEnv`` of ``num_envs`` state-only drones).
        num_envs: drones of the vector backend.
        **kwargs: passed to the env (``render_mode``, ``physics_hz``, ``ctrl_hz``, ``seed`` for the vector backend...).

    Raises:
        UnknownTaskError, ValueError: an unknown task or backend, a mode or team size the task does not allow.
    """
    spec = task_spec(task)
    check_obs(spec.name, obs)
    num_drones = check_num_drones(spec.name, num_drones)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "vector":
        return _resolve(VECTOR_ENV)(spec.name, num_envs, obs=obs, act=act, scenario=scenario, **kwargs)
    if spec.team:
        return spec.env_class(num_drones=num_drones, obs=obs, act=act, scenario=scenario, **kwargs)
    import gymnasium as gym

    register_envs()
    return gym.make(spec.env_id, obs=obs, act=act, scenario=scenario, **kwargs)


def register_envs() -> None:
    """Register every single-drone task with Gymnasium once (``gymnasium.make("ltc_drones/FlyToTarget-v0")``);
    episode limits are enforced by the envs themselves, in seconds."""
    import gymnasium as gym

    for spec in TASKS.values():
        if not spec.team and spec.env_id not in gym.registry:
            gym.register(id=spec.env_id, entry_point=spec.env, disable_env_checker=True)


def is_team_env(env) -> bool:
    """Whether ``env`` is a team (PettingZoo) env."""
    return hasattr(env, "possible_agents")


def team_size(env) -> int:
    """Drones flown per episode of ``env``: its team size, else 1."""
    return int(env.num_drones) if is_team_env(env) else 1


def agent_observation_space(env):
    """The observation space of one drone (every drone of a team has the same)."""
    return env.observation_space(env.possible_agents[0]) if is_team_env(env) else env.observation_space


def make_expert(env, config=None):
    """The privileged expert of ``env``'s task (it reads the true target state), a controller of the acting protocol.

    Raises:
        ValueError: ``env`` is not an env of a registered task.
    """
    task = getattr(env.unwrapped, "TASK", None) if not is_team_env(env) else getattr(env, "TASK", None)
    if task not in TASKS:
        raise ValueError(f"no expert for {type(env.unwrapped).__name__}: it is not an env of a registered task "
                         f"({', '.join(TASKS)})")
    expert = _resolve(TASKS[task].expert)
    return expert(env) if config is None else expert(env, config)
