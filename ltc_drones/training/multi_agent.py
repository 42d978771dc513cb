"""Multi-agent tasks in the imitation pipeline: one shared-parameter policy flies every agent.

A multi-agent task (:data:`ltc_drones.envs.scenario.MULTI_TASKS`) is a PettingZoo env of ``N``
drones (:mod:`ltc_drones.envs.multi`). One controller flies all of them as a batch of ``N``
(:func:`ltc_drones.envs.rollout.run_episode`), each agent with its own recurrent state,
so a trained :class:`~ltc_drones.training.agent.Agent` is one policy shared by every drone.

A *team episode* is stored as ``N`` shards, one per agent (shard ``k * N + i`` holds agent ``i`` of
team episode ``k``; see :mod:`ltc_drones.training.storage`): each is an ordinary demonstration
sequence of that agent's own observations, the team expert's labels, the actions flown, its rewards
and its own success, so behaviour cloning and the dataset code need nothing new.

Functions here take either kind of env and do the right thing, so the collection, DAgger and the
training run work on both: :func:`make_task_env`, :func:`make_task_expert`, :func:`team_size`.
"""

from __future__ import annotations

from ..control.protocol import Controller
from ..envs.scenario import MULTI_TASKS


def is_multi_task(task: str) -> bool:
    """Whether ``task`` is a multi-agent task key (``multi-follow``, ``multi-fly-to-target``)."""
    return task in MULTI_TASKS


def is_multi_env(env) -> bool:
    """Whether ``env`` is a multi-agent (PettingZoo) env."""
    return hasattr(env, "possible_agents")


def team_size(env) -> int:
    """Agents per episode of ``env``: its drones for a multi-agent env, else 1 (also shards per episode)."""
    return int(env.num_drones) if is_multi_env(env) else 1


def task_env_id(task: str) -> str:
    """The env identity recorded in manifests and checkpoints: the Gymnasium id of a single-agent task,
    ``ltc_drones/<TaskInCamelCase>-v0`` for a multi-agent task (a name only: PettingZoo envs are not
    registered with Gymnasium)."""
    if is_multi_task(task):
        return "ltc_drones/" + "".join(part.capitalize() for part in task.split("-")) + "-v0"
    from ..envs.registration import env_id_for

    return env_id_for(task)


def check_num_drones(num_drones, option: str = "--num-drones") -> int:
    """Return ``num_drones`` if a multi-agent env can have that many drones, else raise ``ValueError``."""
    from ..envs.multi import MAX_DRONES, MIN_DRONES

    ok = isinstance(num_drones, int) and not isinstance(num_drones, bool) and MIN_DRONES <= num_drones <= MAX_DRONES
    if not ok:
        raise ValueError(f"num_drones={num_drones!r} is invalid: a multi-agent task flies {MIN_DRONES} to "
                         f"{MAX_DRONES} drones (option {option})")
    return num_drones


def make_task_env(task: str, *, obs: str, act: str, scenario: str, physics_hz: int, ctrl_hz: int,
                  num_drones: int):
    """The env of ``task``: a Gymnasium env, or for a multi-agent task a PettingZoo env of ``num_drones``
    drones (``num_drones`` is ignored by single-agent tasks)."""
    kwargs = dict(obs=obs, act=act, scenario=scenario, physics_hz=physics_hz, ctrl_hz=ctrl_hz)
    if is_multi_task(task):
        from ..envs.multi import make_multi_env

        return make_multi_env(task, num_drones=check_num_drones(num_drones), **kwargs)
    from ..envs import make_env

    return make_env(task, **kwargs)


def make_task_expert(env) -> Controller:
    """The privileged expert of ``env``: a :class:`~ltc_drones.control.team.TeamExpert` for a multi-agent env."""
    if is_multi_env(env):
        from ..control.team import TeamExpert

        return TeamExpert(env)
    from ..control import make_expert

    return make_expert(env)


def agent_observation_space(env):
    """The observation space of one agent (every agent of a multi-agent env has the same)."""
    return env.observation_space(env.possible_agents[0]) if is_multi_env(env) else env.observation_space
