"""Expert demonstrations collected in parallel worker processes, resumable.

``collect_demonstrations(...)`` flies the privileged expert for ``episodes`` seeded episodes and
stores each as a shard (see :mod:`ltc_drones.training.storage`). Episodes already in the folder
are skipped, so running the same command again after an interruption completes the set without
repeating or losing any episode; a different request for the same folder raises an error.
Episode ``k`` of a collection with base seed ``s`` flies env seed ``ltc_drones.seeding.demo_seeds(s, n)[k]``.

Multi-agent tasks (:data:`ltc_drones.tasks.TEAM_TASKS`): episode ``k`` is a team episode flown
by the team expert and stored as ``num_drones`` shards, one per agent; it counts as done only when all
of them are on disk, and flying it again (to refill a lost shard) writes the same shards.
"""

from __future__ import annotations

import time
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_json_atomic
from ..control.protocol import Controller
from ..envs.rollout import agent_observation, run_episode
from ..parallel import process_pool
from ..seeding import SCHEME, check_training_seed, demo_seeds
from ..tasks import agent_observation_space, check_num_drones, is_team_env, make_env, make_expert, task_spec
from ..version import __version__
from .storage import (
    FORMAT,
    MANIFEST,
    SCHEMA_VERSION,
    DatasetError,
    check_manifest_matches,
    completed_team_episodes,
    read_manifest,
    stack_episode,
    write_episode,
)


@dataclass(frozen=True)
class CollectSpec:
    """What to collect: the env, its modes and scenario, the team size of a multi-agent task, the seeding."""

    task: str
    obs: str = "rgb"
    act: str = "vel"
    scenario: str = "nominal"
    base_seed: int = 0
    physics_hz: int = 240
    ctrl_hz: int = 30
    num_drones: int = 2
    """Drones of a multi-agent task (2-8); ignored by single-agent tasks."""

    def __post_init__(self) -> None:
        check_training_seed(self.base_seed, "base_seed")
        if self.multi:
            check_num_drones(self.task, self.num_drones, "--num-drones")

    @property
    def multi(self) -> bool:
        return task_spec(self.task).team

    @property
    def team_size(self) -> int:
        """Agents (and shards) per episode: ``num_drones`` for a multi-agent task, else 1."""
        return self.num_drones if self.multi else 1

    def make_env(self):
        """The env: Gymnasium for a single-agent task, PettingZoo for a multi-agent one."""
        return make_env(self.task, obs=self.obs, act=self.act, scenario=self.scenario, physics_hz=self.physics_hz,
                        ctrl_hz=self.ctrl_hz, num_drones=self.num_drones if self.multi else None)

    def manifest(self, source: str = "expert") -> dict:
        env = self.make_env()
        cam = env.unwrapped.camera.config
        space = agent_observation_space(env)
        env.close()
        kin = space["kin"] if "kin" in getattr(space, "spaces", {}) else (space if self.obs == "kin" else None)
        manifest = {
            "format": FORMAT, "schema_version": SCHEMA_VERSION, "package_version": __version__,
            "env_id": task_spec(self.task).env_id, "task": self.task, "obs": self.obs, "act": self.act,
            "scenario": self.scenario, "physics_hz": self.physics_hz, "ctrl_hz": self.ctrl_hz,
            "image_hw": [cam.height, cam.width], "kin_dim": 0 if kin is None else int(kin.shape[0]),
            "base_seed": self.base_seed, "source": source, "seeding": SCHEME,
        }
        if self.multi:
            manifest.update(num_drones=self.num_drones,
                            shard_layout="shard k * num_drones + i holds agent i (drone_i) of team episode k")
        return manifest


_WORKER_ENV: dict = {}


class _LabelledFlight:
    """The controller :func:`labelled_episode` flies: the expert labels every live agent's state, the learner (if
    any) proposes, per agent and step the expert's action is flown with probability β."""

    def __init__(self, env, expert: Controller, learner: Controller | None, beta: float,
                 mix_rng: np.random.Generator | None, takeover_steps: int | None) -> None:
        if learner is not None and 0.0 < beta < 1.0 and mix_rng is None:
            raise ValueError(f"beta={beta} mixes expert and learner actions at random: pass mix_rng, a "
                             "numpy Generator, so that the episode can be flown again identically")
        self.views = [env.agent_views[a] for a in env.possible_agents] if is_team_env(env) else [env.unwrapped]
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
            self.observations[i].append(agent_observation(obs, i))
            self.labels[i].append(label[i])
            self.executed[i].append(action[i])
        return action

    def after_step(self, actions: np.ndarray, rewards: np.ndarray, infos: list) -> None:
        for i, info in enumerate(infos):
            if info is not None:
                self.rewards[i].append(float(rewards[i]))


def labelled_episode(env, expert: Controller, seed: int, learner: Controller | None = None, beta: float = 1.0,
                 mix_rng: np.random.Generator | None = None,
                 takeover_steps: int | None = None) -> list[dict[str, np.ndarray]]:
    """Fly one episode (a team episode in a multi-agent env) in which the expert labels every state; returns
    one shard's arrays per agent (one for a single-agent env).

    The expert (a :class:`~ltc_drones.control.team_expert.TeamExpert` in a multi-agent env) is asked exactly once per
    step for all agents, and so is the ``learner`` (reset for the ``N`` agents, acting on the batch of their
    observations, one recurrent state per agent), so that its recurrent state follows the episode. For each
    live agent at each step the expert's action is flown with probability ``beta`` (one draw per agent from
    ``mix_rng``, required when ``0 < beta < 1``), the learner's otherwise; ``beta=1`` without a learner is plain
    expert demonstration. With ``takeover_steps`` (HG-DAgger, see ``TrainConfig.takeover_lost_s``) the expert
    flies an agent whenever that agent's look-at point (its goal, or the leader) has been out of its onboard
    camera's view for that many steps (at least one), until it is back in view.

    Returns:
        ``N`` dicts of shard arrays in agent order; agent ``i``'s holds only the steps it flew and its own
        ``success``; in a multi-agent env also the episode's ``team_success`` and ``agent`` = ``i``.
    """
    flight = _LabelledFlight(env, expert, learner, beta, mix_rng, takeover_steps)
    record = run_episode(env, flight, seed, before_act=flight.before_act, after_step=flight.after_step)
    success = record.agent_success if is_team_env(env) else [record.success]
    shards = []
    for i in range(len(success)):
        arrays = stack_episode(flight.observations[i], flight.labels[i], flight.executed[i], flight.rewards[i], seed,
                               success[i])
        if is_team_env(env):
            arrays.update(agent=np.int64(i), team_success=np.bool_(record.team_success))
        shards.append(arrays)
    return shards


def write_team_episode(folder: Path, index: int, shards: list[dict[str, np.ndarray]]) -> None:
    """Write episode ``index``'s shards (one per agent) as shards ``index * len(shards) + i``."""
    for i, arrays in enumerate(shards):
        write_episode(folder, index * len(shards) + i, arrays)


def _expert_episode(spec: CollectSpec, folder: str, index: int) -> tuple[int, int, bool]:
    """Worker: fly one expert episode and write its shard(s). Returns (index, agent-steps, (team) success)."""
    if spec not in _WORKER_ENV:
        _WORKER_ENV.clear()
        env = spec.make_env()
        _WORKER_ENV[spec] = (env, make_expert(env))
    env, expert = _WORKER_ENV[spec]
    shards = labelled_episode(env, expert, demo_seeds(spec.base_seed, index + 1)[index])
    write_team_episode(Path(folder), index, shards)
    return index, sum(len(a["label"]) for a in shards), all(bool(a["success"]) for a in shards)


@dataclass
class CollectResult:
    folder: Path
    new_episodes: int
    total_episodes: int
    successes_new: int
    steps_new: int
    wall_time_s: float
    shards_per_episode: int = 1
    """Agents of a multi-agent task (one shard each per episode); 1 for single-agent tasks."""


def collect_demonstrations(spec: CollectSpec, episodes: int, out: str | Path, workers: int = 1,
                           progress: bool = True, folder_option: str = "--out") -> CollectResult:
    """Collect ``episodes`` expert episodes into ``out`` (resuming what is already there).

    For a multi-agent task an episode is a team episode (``spec.num_drones`` shards); the counts of
    the result are team episodes and team successes (every agent succeeded), ``steps_new`` agent-steps.
    ``folder_option`` names the command-line option that chose ``out``, for error messages.

    Raises:
        DatasetError: ``out`` holds a collection made with other settings.
        RuntimeError: a worker process died; the shards already written stay valid, rerun to resume.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    demo_seeds(spec.base_seed, episodes)  # the seed range holds that many episodes
    folder = Path(out)
    wanted = spec.manifest()
    fix = f"choose another folder with {folder_option}, or delete {folder}"
    if (folder / MANIFEST).is_file():
        check_manifest_matches(read_manifest(folder), wanted, folder, fix)
    elif folder.exists() and any(folder.iterdir()):
        raise DatasetError(f"{folder} exists, is not empty and holds no {MANIFEST}; {fix}")
    write_json_atomic(folder / MANIFEST, {**wanted, "episodes_requested": episodes})
    for stale in folder.glob(".episode_*.tmp"):  # left by a process killed while writing
        stale.unlink()
    done = completed_team_episodes(folder, spec.team_size)
    todo = [k for k in range(episodes) if k not in done]
    t0 = time.perf_counter()
    successes = steps = 0
    what = f"{spec.task}x{spec.num_drones}" if spec.multi else spec.task
    bar = _progress(len(todo), f"collect {what}/{spec.obs}", progress)
    try:
        if workers == 1:
            for k in todo:
                _, n, ok = _expert_episode(spec, str(folder), k)
                successes, steps = successes + ok, steps + n
                bar.update(1)
        else:
            with process_pool(workers) as pool:
                futures = [pool.submit(_expert_episode, spec, str(folder), k) for k in todo]
                for fut in as_completed(futures):
                    _, n, ok = fut.result()
                    successes, steps = successes + ok, steps + n
                    bar.update(1)
    except BrokenProcessPool as exc:
        have = len(completed_team_episodes(folder, spec.team_size))
        raise RuntimeError(
            f"a collection worker died; {have} complete episodes are saved in {folder}. "
            "Run the same command again to resume."
        ) from exc
    finally:
        bar.close()
    return CollectResult(folder, len(todo), len(completed_team_episodes(folder, spec.team_size)), successes,
                         steps, time.perf_counter() - t0, spec.team_size)


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="episode", disable=not enabled)
