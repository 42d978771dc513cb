"""Labelled team episodes for imitation: one shared-parameter policy flies every agent.

A team task (:data:`ltc_drones.tasks.TEAM_TASKS`) is a PettingZoo env of ``N``
drones (:mod:`ltc_drones.envs.multi`). One controller flies all of them as a batch of ``N``
(:func:`ltc_drones.envs.multi.rollout.run_team_episode`), each agent with its own recurrent state,
so a trained :class:`~ltc_drones.agents.Agent` is one policy shared by every drone.

A *team episode* is stored as ``N`` shards, one per agent (shard ``k * N + i`` holds agent ``i`` of
team episode ``k``; see :mod:`ltc_drones.training.storage`): each is an ordinary demonstration
sequence of that agent's own observations, the team expert's labels, the actions flown, its rewards
and its own success, so behaviour cloning and the dataset code need nothing new.
"""

from __future__ import annotations

import numpy as np

from ..control.protocol import Controller
from .storage import stack_episode


class _LabelledTeamFlight:
    """The controller :func:`fly_labelled_team_episode` flies: the expert labels every live agent's state,
    the learner (if any) proposes, per agent and step the expert's action is flown with probability β."""

    def __init__(self, env, expert: Controller, learner: Controller | None, beta: float,
                 mix_rng: np.random.Generator | None, takeover_steps: int | None) -> None:
        if learner is not None and 0.0 < beta < 1.0 and mix_rng is None:
            raise ValueError(f"beta={beta} mixes expert and learner actions at random: pass mix_rng, a "
                             "numpy Generator, so that the episode can be flown again identically")
        self.views = [env.agent_views[a] for a in env.possible_agents]
        self.expert, self.learner, self.beta, self.mix_rng = expert, learner, beta, mix_rng
        self.takeover_steps = takeover_steps
        n = len(self.views)
        self.observations: list[list] = [[] for _ in range(n)]
        self.labels: list[list] = [[] for _ in range(n)]
        self.executed: list[list] = [[] for _ in range(n)]
        self.rewards: list[list] = [[] for _ in range(n)]
        self.live = np.ones(n, dtype=bool)
        self.lost = np.zeros(n, dtype=int)

    def reset(self, num_envs: int = 1) -> None:
        self.expert.reset(num_envs)
        if self.learner is not None:
            self.learner.reset(num_envs)
        self.lost[:] = 0

    def before_act(self, batch, live: np.ndarray) -> None:
        self.live = np.asarray(live, dtype=bool).copy()

    def act(self, obs, episode_start=None) -> np.ndarray:
        n = len(self.views)
        label = np.asarray(self.expert.act(obs, episode_start), dtype=np.float32).reshape(n, 4)
        action = label.copy()
        if self.learner is not None:
            learned = np.asarray(self.learner.act(obs, episode_start), dtype=np.float32).reshape(n, 4)
            if self.beta < 1.0:
                learner_flies = np.ones(n, dtype=bool) if self.mix_rng is None else self.mix_rng.random(n) >= self.beta
                action[learner_flies] = learned[learner_flies]
            if self.takeover_steps is not None:
                for i in np.flatnonzero(self.live):
                    self.lost[i] = 0 if self.views[i].target_in_view() else self.lost[i] + 1
                    if self.lost[i] >= max(1, self.takeover_steps):
                        action[i] = label[i]
        for i in np.flatnonzero(self.live):
            self.observations[i].append({k: v[i] for k, v in obs.items()} if isinstance(obs, dict) else obs[i])
            self.labels[i].append(label[i])
            self.executed[i].append(action[i])
        return action

    def on_transition(self, actions: np.ndarray, infos: dict) -> None:
        for i, view in enumerate(self.views):
            if view.name in infos:  # the step's reward is the sum of its named terms (see MultiDroneEnv)
                self.rewards[i].append(sum(v for k, v in infos[view.name].items() if k.startswith("reward_")))


def fly_labelled_team_episode(env, expert: Controller, seed: int, learner: Controller | None = None,
                              beta: float = 1.0, mix_rng: np.random.Generator | None = None,
                              takeover_steps: int | None = None) -> list[dict[str, np.ndarray]]:
    """Fly one team episode in which the team expert labels every state; returns one shard's arrays per agent.

    The multi-agent counterpart of :func:`ltc_drones.training.collect.fly_labelled_episode`. The
    expert (a :class:`~ltc_drones.control.team_expert.TeamExpert`) is asked exactly once per step for all
    agents, and so is the ``learner`` (reset for ``N`` agents, acting on the batch of their
    observations, one recurrent state per agent). For each live agent at each step the expert's
    action is flown with probability ``beta`` (one draw per agent from ``mix_rng``, required when
    ``0 < beta < 1``), the learner's otherwise. With ``takeover_steps`` (HG-DAgger) the expert flies an
    agent whenever that agent's look-at point (the leader, or its target) has been out of its onboard
    camera's view for that many steps (at least one), until it is back in view.

    Returns:
        ``N`` dicts of shard arrays in agent order; agent ``i``'s holds only the steps it flew, its own
        ``success``, the episode's ``team_success``, ``agent`` = ``i`` and the team episode's ``seed``.
    """
    from ..envs.multi.rollout import run_team_episode

    flight = _LabelledTeamFlight(env, expert, learner, beta, mix_rng, takeover_steps)
    record = run_team_episode(env, flight, seed, before_act=flight.before_act, on_transition=flight.on_transition)
    shards = []
    for i in range(record.num_agents):
        arrays = stack_episode(flight.observations[i], flight.labels[i], flight.executed[i], flight.rewards[i], seed,
                               record.agent_success[i])
        arrays.update(agent=np.int64(i), team_success=np.bool_(record.team_success))
        shards.append(arrays)
    return shards


def team_success_rate(env, controller: Controller, seeds) -> float:
    """Fraction of the seeded team episodes in which every agent, all flown by ``controller``, succeeded."""
    from ..envs.multi.rollout import run_team_episode

    records = [run_team_episode(env, controller, int(s)) for s in seeds]
    return sum(r.team_success for r in records) / len(records)
