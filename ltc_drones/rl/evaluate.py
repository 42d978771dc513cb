"""Closed-loop evaluation of an agent during PPO training, on held-out env seeds.

The agent evaluated is the one that is saved (:class:`~ltc_drones.training.Agent`: the actor with the
current observation normalisation, deterministic actions), flown on the training backend:

* ``vector``: ``n`` drones of the vector backend, one episode each, flown together (vector seed
  ``seeds[0]``, which spawns one generator per drone);
* ``pybullet``: one PyBullet episode per seed;
* ``gym`` (``--env-id``): one episode per seed; success is ``info["is_success"]`` where the env reports
  it, else a return of at least ``success_return``, else undefined (only the mean return is reported).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..envs.rollout import EpisodeStarts, run_episode


def evaluate_vector(agent, task: str, act: str, scenario: str, seeds: range) -> dict[str, Any]:
    """One episode on each of ``len(seeds)`` vector-backend drones (vector seed ``seeds[0]``)."""
    from ..tasks import make_env

    n = len(seeds)
    venv = make_env(task, backend="vector", num_envs=n, obs="kin", act=act, scenario=scenario)
    try:
        obs, _ = venv.reset(seed=int(seeds[0]))
        starts = EpisodeStarts(venv)
        agent.reset(n)
        returns, success = np.zeros(n), np.zeros(n, dtype=bool)
        finished = np.zeros(n, dtype=bool)
        while not finished.all():
            obs, reward, terminated, truncated, info = venv.step(agent.act(obs, starts.flags))
            returns += np.where(finished, 0.0, reward)
            ended = (terminated | truncated) & ~finished
            success[ended] = info["is_success"][ended]
            finished |= ended
            starts.update(terminated, truncated)
    finally:
        venv.close()
    return _summary(success.tolist(), returns.tolist())


def evaluate_env(agent, env, seeds: range, success_return: float | None = None) -> dict[str, Any]:
    """One episode of ``env`` (a PyBullet drone env or any Gymnasium env) per seed, through
    :func:`~ltc_drones.envs.rollout.run_episode`."""
    last: list[dict] = [{}]

    def keep(_actions, _rewards, infos: list[dict]) -> None:
        last[:] = infos

    successes: list[bool | None] = []
    returns: list[float] = []
    for s in seeds:
        record = run_episode(env, agent, int(s), after_step=keep)
        if "is_success" in last[0]:
            successes.append(bool(last[0]["is_success"]))
        elif success_return is not None:
            successes.append(record.episode_return >= success_return)
        else:
            successes.append(None)
        returns.append(record.episode_return)
    return _summary(successes, returns)


def _summary(successes: list, returns: list[float]) -> dict[str, Any]:
    known = [s for s in successes if s is not None]
    rate = sum(known) / len(known) if known and len(known) == len(successes) else None
    mean_return = float(np.mean(returns)) if returns else math.nan
    return {"episodes": len(returns), "success_rate": rate, "successes": sum(known) if rate is not None else None,
            "mean_return": round(mean_return, 4)}
