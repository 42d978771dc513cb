"""The episode loop: any controller (agent, expert, scripted) in a single env or a team env.

Controllers follow :class:`ltc_drones.control.protocol.Controller`: ``reset(num_envs)`` and
``act(obs, episode_start)``. :func:`run_episode` flies one episode of a Gymnasium env (one drone, or any
Gymnasium env with a 1-D action space) or of a PettingZoo multi-agent env (``N`` drones). A single env is
a team of one: the controller is reset for one env and acts on batches of one observation. Every
collection, evaluation, diagnosis and video flies through it, watching the episode from its hooks.
:class:`EpisodeStarts` gives the ``episode_start`` flags for a Gymnasium vector env with autoreset
(which keeps its own loop).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..control.protocol import Controller
from ..tasks import is_team_env


@dataclass
class EpisodeRecord:
    """Outcome of one episode of a single env."""

    seed: int
    success: bool
    crashed: bool
    steps: int
    time_s: float
    final_distance_m: float
    episode_return: float
    frames: list[np.ndarray] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {"seed": self.seed, "success": self.success, "crashed": self.crashed, "steps": self.steps,
                "time_s": round(self.time_s, 3), "final_distance_m": round(self.final_distance_m, 3),
                "return": round(self.episode_return, 3)}


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


def stack_observations(observations: list) -> np.ndarray | dict[str, np.ndarray]:
    """Per-agent observations (arrays, or dicts of arrays) -> one batch in the same order."""
    if isinstance(observations[0], dict):
        return {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    return np.stack(observations)


def agent_observation(batch, i: int):
    """Agent ``i``'s observation in a stacked batch (an array, or a dict of arrays for ``rgb_kin``)."""
    return {k: v[i] for k, v in batch.items()} if isinstance(batch, dict) else batch[i]


BeforeAct = Callable[[object, np.ndarray], None]
AfterStep = Callable[[np.ndarray, np.ndarray, list], None]


def run_episode(env, controller: Controller, seed: int, *, before_act: BeforeAct | None = None,
                after_step: AfterStep | None = None, on_frame: Callable[[], None] | None = None,
                keep_infos: bool = False, max_steps: int | None = None) -> EpisodeRecord | TeamEpisodeRecord:
    """Fly one seeded episode of ``controller`` in ``env``, a single env or a team env.

    The controller flies the ``N`` agents of the env (``N = 1`` for a single env) as a batch of ``N``
    envs: ``reset(N)`` after ``env.reset``, then at every step ``act(batch, episode_start)`` on the
    observations stacked in agent order (a dict of stacked arrays for ``rgb_kin``; all-True starts at
    the first step), so each agent keeps its own recurrent state. An agent that is done keeps its last
    observation in the batch (its rows are ignored), so the batch never changes shape.

    Args:
        env: a Gymnasium env (a ``ltc_drones`` env or any env with a 1-D action space) or a
            :class:`~ltc_drones.envs.multi.base.MultiDroneEnv`.
        controller: anything following :class:`~ltc_drones.control.protocol.Controller`.
        seed: the episode's seed.
        before_act: ``before_act(batch, live)`` before every ``act``, with the observation batch (leading dim
            ``N``) and the bool mask ``(N,)`` of the agents that act at this step. The controller then acts on
            this very batch (a fresh copy at every step), so a hook may edit it in place.
        after_step: ``after_step(actions, rewards, infos)`` after every step, with the actions ``(N, A)`` the
            controller gave (rows of agents that are done are not flown), the step's rewards ``(N,)`` (0 for
            agents that did not step) and a list of ``N`` infos (None for agents that did not step).
        on_frame: ``on_frame()`` after the reset and after every step (after ``after_step``), e.g. to grab a
            video frame.
        keep_infos: keep every agent's info of every step in a :class:`TeamEpisodeRecord`.
        max_steps: stop after this many steps (default: the episode's end); the record then describes the
            episode so far.

    Returns:
        An :class:`EpisodeRecord` for a single env (from the last ``info``'s ``is_success``, ``crashed``,
        ``time_s`` and ``distance_m``; False or NaN where an env does not report them), a
        :class:`TeamEpisodeRecord` for a team env.
    """
    team = is_team_env(env)
    names = list(env.possible_agents) if team else [""]
    n = len(names)
    obs, _ = env.reset(seed=seed)
    last = [obs[a] for a in names] if team else [obs]
    controller.reset(n)
    if on_frame is not None:
        on_frame()
    returns, steps_of = [0.0] * n, [0] * n
    final: list[dict] = [{} for _ in range(n)]
    infos_of: list[list[dict]] = [[] for _ in range(n)]
    starts = np.ones(n, dtype=bool)
    live = np.array([a in env.agents for a in names]) if team else np.ones(1, dtype=bool)
    steps = 0
    while live.any() and (max_steps is None or steps < max_steps):
        batch = stack_observations(last)
        if before_act is not None:
            before_act(batch, live)
        actions = np.asarray(controller.act(batch, starts), dtype=np.float32).reshape(n, -1)
        starts = np.zeros(n, dtype=bool)
        rewards, infos = np.zeros(n), [None] * n
        if team:
            obs, got_rewards, _, _, got_infos = env.step({a: actions[i] for i, a in enumerate(names) if live[i]})
            for i, a in enumerate(names):
                if a in got_infos:
                    last[i], rewards[i], infos[i] = obs[a], got_rewards[a], got_infos[a]
            live = np.array([a in env.agents for a in names])
        else:
            last[0], rewards[0], terminated, truncated, infos[0] = env.step(actions[0])
            live = np.array([not (terminated or truncated)])
        steps += 1
        for i in range(n):
            if infos[i] is not None:
                returns[i] += float(rewards[i])
                steps_of[i] += 1
                final[i] = infos[i]
                if keep_infos:
                    infos_of[i].append(infos[i])
        if after_step is not None:
            after_step(actions, rewards, infos)
        if on_frame is not None:
            on_frame()
    if not team:
        info = final[0]
        return EpisodeRecord(seed, bool(info.get("is_success", False)), bool(info.get("crashed", False)), steps,
                             float(info.get("time_s", np.nan)), float(info.get("distance_m", np.nan)), returns[0])
    return TeamEpisodeRecord(
        seed=seed, team_success=bool(env.team_success), agent_success=[bool(f["is_success"]) for f in final],
        agent_crashed=[bool(f["crashed"]) for f in final], agent_collided=[bool(f["collided"]) for f in final],
        agent_steps=steps_of, agent_returns=returns, agent_final_distance_m=[float(f["distance_m"]) for f in final],
        collisions=int(env.collisions), steps=steps, time_s=float(env.time_s), agent_infos=infos_of)


def episode_success(record: EpisodeRecord | TeamEpisodeRecord) -> bool:
    """A single env's success, or a team's (every agent succeeded)."""
    return record.team_success if isinstance(record, TeamEpisodeRecord) else record.success


def success_rate(env, controller: Controller, seeds: Iterable[int]) -> float:
    """Fraction of the seeded episodes (one per seed) that ``controller`` succeeds in; in a team env, the
    fraction in which every agent (all flown by ``controller``) succeeded."""
    records = [run_episode(env, controller, int(s)) for s in seeds]
    return sum(episode_success(r) for r in records) / len(records)


class EpisodeStarts:
    """``episode_start`` flags for a Gymnasium vector env with autoreset.

    Gymnasium 1.x resets a finished sub-env on the *next* ``step`` by default (``NextStep``): that
    step ignores the sub-env's action and returns its first observation, so the controller's next
    ``act`` starts a new episode there. Under ``SameStep`` the first observation comes with the step
    that ended the episode. Use::

        starts = EpisodeStarts(venv)
        obs, _ = venv.reset(seed=seeds)
        controller.reset(venv.num_envs)
        while ...:
            obs, reward, terminated, truncated, info = venv.step(controller.act(obs, starts.flags))
            starts.update(terminated, truncated)
    """

    def __init__(self, venv) -> None:
        mode = getattr(venv, "metadata", {}).get("autoreset_mode", "NextStep")
        self.mode = str(getattr(mode, "value", mode))
        if self.mode not in ("NextStep", "SameStep"):
            raise ValueError(f"autoreset mode {self.mode!r} is not supported; use NextStep or SameStep")
        self.flags = np.ones(venv.num_envs, dtype=bool)  # after venv.reset every env starts
        self._done = np.zeros(venv.num_envs, dtype=bool)

    @property
    def resetting(self) -> np.ndarray:
        """Envs that the next ``venv.step`` resets, ignoring their action (``NextStep`` mode only)."""
        return self._done.copy()

    def update(self, terminated, truncated) -> np.ndarray:
        """Record one ``venv.step``'s outcome; returns the flags for the next ``act``."""
        done = np.logical_or(terminated, truncated)
        if self.mode == "SameStep":
            self.flags = done
        else:  # envs that ended at the previous step were reset by this one
            self.flags, self._done = self._done, done
        return self.flags
