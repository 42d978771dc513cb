"""Fly one controller for every agent of a multi-agent env: the shared-policy episode loop.

One controller (a trained agent, a :class:`~ltc_drones.control.team_expert.TeamExpert`, a scripted
controller) acts for all ``N`` agents as for a batch of ``N`` envs: ``reset(N)``, then at every
step ``act(batch, episode_start)`` on the observations stacked in agent order (a dict of stacked
arrays for ``rgb_kin``), so each agent keeps its own recurrent state. An agent that is done keeps
its last observation in the batch (its rows are ignored), so the batch never changes shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from ...control.protocol import Controller


def stack_observations(observations: list) -> np.ndarray | dict[str, np.ndarray]:
    """Per-agent observations (arrays, or dicts of arrays) -> one batch in the same order."""
    if isinstance(observations[0], dict):
        return {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    return np.stack(observations)


@dataclass
class TeamEpisodeRecord:
    """Outcome of one multi-agent episode (per-agent lists in ``env.possible_agents`` order)."""

    seed: int
    team_success: bool
    agent_success: list[bool]
    agent_crashed: list[bool]
    agent_collided: list[bool]
    agent_steps: list[int]
    agent_returns: list[float]
    agent_final_distance_m: list[float]
    collisions: int
    steps: int
    time_s: float
    agent_infos: list[list[dict]] = field(default_factory=list, repr=False)
    """Each agent's ``info`` after every one of its steps (filled with ``keep_infos=True``)."""

    @property
    def num_agents(self) -> int:
        return len(self.agent_success)

    def summary(self) -> dict:
        return {"seed": self.seed, "team_success": self.team_success, "agent_success": self.agent_success,
                "agent_crashed": self.agent_crashed, "agent_collided": self.agent_collided,
                "collisions": self.collisions, "steps": self.steps, "time_s": round(self.time_s, 3),
                "agent_returns": [round(r, 3) for r in self.agent_returns],
                "agent_final_distance_m": [round(d, 3) for d in self.agent_final_distance_m]}


def agent_view_env(env) -> SimpleNamespace:
    """A single-agent-looking handle on ``env``'s first agent (``unwrapped``, ``observation_space``),
    for checks written for single-agent envs such as :meth:`ltc_drones.agents.Agent.check_env`."""
    first = env.possible_agents[0]
    return SimpleNamespace(unwrapped=env.agent_views[first], observation_space=env.observation_space(first),
                           action_space=env.action_space(first))


def run_team_episode(env, controller: Controller, seed: int, *,
                     on_step: Callable[[], None] | None = None,
                     before_act: Callable[[object, np.ndarray], None] | None = None,
                     on_transition: Callable[[np.ndarray, dict], None] | None = None,
                     keep_infos: bool = False) -> TeamEpisodeRecord:
    """Run one seeded episode of ``controller`` flying every agent of ``env``.

    Args:
        env: a :class:`~ltc_drones.envs.multi.base.MultiDroneEnv`.
        controller: reset for ``N`` agents after ``env.reset``; its first ``act`` gets all-True starts.
        seed: the episode's seed.
        on_step: called after the reset and after every step (e.g. to grab a video frame).
        before_act: called with the observation batch and the mask of live agents before each ``act``.
        on_transition: called after every step with the actions ``(N, 4)`` given and the step's infos.
        keep_infos: keep every agent's info of every step in the record.
    """
    names = list(env.possible_agents)
    n = len(names)
    obs, _ = env.reset(seed=seed)
    last = [obs[a] for a in names]
    controller.reset(n)
    if on_step is not None:
        on_step()
    returns = [0.0] * n
    steps_of = [0] * n
    final = [dict() for _ in range(n)]
    infos_of: list[list[dict]] = [[] for _ in range(n)]
    starts = np.ones(n, dtype=bool)
    steps = 0
    while env.agents:
        live = np.array([a in env.agents for a in names])
        batch = stack_observations(last)
        if before_act is not None:
            before_act(batch, live)
        actions = np.asarray(controller.act(batch, starts), dtype=np.float32).reshape(n, 4)
        starts = np.zeros(n, dtype=bool)
        obs, rewards, _, _, infos = env.step({a: actions[i] for i, a in enumerate(names) if live[i]})
        steps += 1
        for i, a in enumerate(names):
            if a in infos:
                last[i] = obs[a]
                returns[i] += rewards[a]
                steps_of[i] += 1
                final[i] = infos[a]
                if keep_infos:
                    infos_of[i].append(infos[a])
        if on_transition is not None:
            on_transition(actions, infos)
        if on_step is not None:
            on_step()
    return TeamEpisodeRecord(
        seed=seed, team_success=bool(env.team_success), agent_success=[bool(f["is_success"]) for f in final],
        agent_crashed=[bool(f["crashed"]) for f in final], agent_collided=[bool(f["collided"]) for f in final],
        agent_steps=steps_of, agent_returns=returns, agent_final_distance_m=[float(f["distance_m"]) for f in final],
        collisions=int(env.collisions), steps=steps, time_s=float(env.time_s), agent_infos=infos_of)
