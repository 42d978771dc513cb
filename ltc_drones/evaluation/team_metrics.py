"""Statistics of multi-agent episodes: one record per team episode, one summary per scenario.

A team episode (:class:`~ltc_drones.envs.rollout.TeamEpisodeRecord`, flown with ``keep_infos=True``)
becomes a record (:func:`team_episode_metrics`) with

* ``success``: the *team* succeeded (every agent did; the episode's outcome, as ``success`` is in
  single-agent records); ``agent_success``: one bool per agent;
* ``crashed``: at least one agent crashed (a drone–drone collision is a crash for both drones);
  ``collided``: at least one drone–drone collision; ``agent_crashed`` / ``agent_collided`` per agent;
  ``collisions``: the number of drone–drone collisions;
* ``steps`` / ``time_s`` (the episode), ``agent_steps``, ``agent_return``, ``agent_final_distance_m``
  (to the agent's goal: its slot or its target);
* MultiFollow: ``agent_tracked_fraction`` (share of the agent's steps with the leader in its distance band
  and in view), ``agent_lost_s`` (time the leader was lost, in total) and ``agent_leader_distance_m``
  (mean distance to the leader over the agent's steps);
* MultiFlyToTarget: ``agent_time_to_success_s`` (None for an agent that did not succeed).

A summary (:func:`summarize_team`) reports the team success rate with its 95 % Wilson interval, the
per-agent success rate with its interval (agent-episodes pooled as trials; agents of one episode are not
independent, so this interval is too narrow when outcomes are correlated), the collision rate (episodes with
at least one collision), the crash rate (episodes with at least one crash) and the means of the task metrics
over agent-episodes (time to success over successful agents only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tasks import task_spec
from .metrics import wilson_interval

FOLLOW_KEYS = ("agent_tracked_fraction", "agent_lost_s", "agent_leader_distance_m")
TEAM_SUMMARY_METRICS = {"time_to_success_s": "agent_time_to_success_s", "final_distance_m": "agent_final_distance_m",
                        "tracked_fraction": "agent_tracked_fraction", "lost_s": "agent_lost_s",
                        "leader_distance_m": "agent_leader_distance_m", "return": "agent_return"}
"""Summary mean -> the per-agent record list it averages (over every agent of every episode)."""


def team_episode_metrics(record, dt_s: float, follow: bool) -> dict[str, Any]:
    """The record of one team episode (see the module docstring).

    Args:
        record: a :class:`~ltc_drones.envs.rollout.TeamEpisodeRecord` with ``agent_infos`` (every
            agent's info after each of its steps).
        dt_s: control period (s).
        follow: a following task (MultiFollow): leader metrics instead of time to success.
    """
    n = record.num_agents
    if len(record.agent_infos) != n or any(len(infos) != k for infos, k in zip(record.agent_infos,
                                                                                record.agent_steps, strict=True)):
        raise ValueError("the record needs every agent's info after each of its steps: fly it with keep_infos=True")
    out: dict[str, Any] = {
        "success": bool(record.team_success), "agent_success": [bool(s) for s in record.agent_success],
        "crashed": any(record.agent_crashed), "agent_crashed": [bool(c) for c in record.agent_crashed],
        "collided": any(record.agent_collided) or record.collisions > 0,
        "agent_collided": [bool(c) for c in record.agent_collided], "collisions": int(record.collisions),
        "steps": int(record.steps), "time_s": float(record.time_s), "agent_steps": [int(k) for k in record.agent_steps],
        "agent_return": [float(r) for r in record.agent_returns],
        "agent_final_distance_m": [float(d) for d in record.agent_final_distance_m],
    }
    if follow:
        out["agent_tracked_fraction"] = [float(infos[-1]["tracked_fraction"]) if infos else 0.0
                                         for infos in record.agent_infos]
        out["agent_lost_s"] = [float(infos[-1]["lost_s"]) if infos else 0.0 for infos in record.agent_infos]
        out["agent_leader_distance_m"] = [float(np.mean([i["leader_distance_m"] for i in infos])) if infos else None
                                          for infos in record.agent_infos]
    else:
        first = [next((k + 1 for k, i in enumerate(infos) if i["is_success"]), None) for infos in record.agent_infos]
        out["agent_time_to_success_s"] = [k * dt_s if k is not None and ok else None
                                          for k, ok in zip(first, record.agent_success, strict=True)]
    return out


def measure_team_episode(env, controller, seed: int, probe=None) -> dict[str, Any]:
    """Fly one seeded episode of ``controller`` for every agent of ``env``; returns its record's metrics.

    ``probe.before_act(batch, live)`` (if given) sees every observation batch before the controller acts on it.
    """
    from ..envs.rollout import run_episode

    record = run_episode(env, controller, seed, before_act=None if probe is None else probe.before_act,
                         keep_infos=True)
    return team_episode_metrics(record, env.clock.ctrl_dt_s, follow=task_spec(env.TASK).moving_target)


def _rate(flags: Sequence[bool]) -> float:
    return sum(bool(f) for f in flags) / len(flags) if flags else math.nan


def summarize_team(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Summary of team-episode records (one scenario); see the module docstring."""
    n = len(records)
    wins = sum(bool(r["success"]) for r in records)
    agent_bits = [bool(s) for r in records for s in r["agent_success"]]
    agent_wins = sum(agent_bits)
    out: dict[str, Any] = {
        "episodes": n, "successes": wins, "success_rate": wins / n if n else math.nan,
        "success_ci95": list(wilson_interval(wins, n)),
        "agent_episodes": len(agent_bits), "agent_successes": agent_wins,
        "agent_success_rate": agent_wins / len(agent_bits) if agent_bits else math.nan,
        "agent_success_ci95": list(wilson_interval(agent_wins, len(agent_bits))),
        "collision_rate": _rate([r["collided"] for r in records]),
        "crash_rate": _rate([r["crashed"] for r in records]),
        "collisions": float(np.mean([r["collisions"] for r in records])) if n else math.nan,
    }
    for name, key in TEAM_SUMMARY_METRICS.items():
        values = [v for r in records for v in r.get(key) or () if v is not None]
        out[name] = float(np.mean(values)) if values else None
    return out
