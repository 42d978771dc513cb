"""Expert demonstrations collected in parallel worker processes, resumable.

``collect_demonstrations(...)`` flies the privileged expert for ``episodes`` seeded episodes and
stores each as a shard (see :mod:`ltc_drones.training.storage`). Episodes already in the folder
are skipped, so running the same command again after an interruption completes the set without
repeating or losing any episode; a different request for the same folder raises an error.
Episode ``k`` of a collection with base seed ``s`` flies env seed ``ltc_drones.seeding.demo_seeds(s, n)[k]``.

Multi-agent tasks (see :mod:`ltc_drones.training.multi_agent`): episode ``k`` is a team episode flown
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
from ..parallel import process_pool
from ..seeding import SCHEME, check_training_seed, demo_seeds
from ..tasks import agent_observation_space, check_num_drones, is_team_env, make_env, make_expert, task_spec
from ..version import __version__
from .multi_agent import fly_labelled_team_episode
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


def fly_labelled_episode(env, expert: Controller, seed: int, learner: Controller | None = None, beta: float = 1.0,
                         mix_rng: np.random.Generator | None = None,
                         takeover_steps: int | None = None) -> dict[str, np.ndarray]:
    """Fly one episode in which the expert labels every state; returns the shard arrays.

    The expert is asked exactly once per step (its answer is the label), and so is the ``learner``
    when there is one (so that its recurrent state follows the episode). The expert's action is
    flown with probability ``beta`` (drawn from ``mix_rng`` at every step when ``beta < 1``), the
    learner's otherwise; ``beta=1`` without a learner is plain expert demonstration. With
    ``takeover_steps`` (HG-DAgger, see ``TrainConfig.takeover_lost_s``) the expert flies whenever the
    goal has been out of the onboard camera's view for that many steps (at least one), until it is
    back in view.
    """
    obs, _ = env.reset(seed=seed)
    expert.reset(1)
    if learner is not None:
        learner.reset(1)
    lost = 0
    observations, labels, executed, rewards = [], [], [], []
    while True:
        start = np.array([not observations])
        label = expert.act(obs, start)
        action = label
        if learner is not None:
            learned = learner.act(obs, start)
            if beta < 1.0 and (mix_rng is None or mix_rng.random() >= beta):
                action = learned
            if takeover_steps is not None:
                lost = 0 if env.unwrapped.target_in_view() else lost + 1
                if lost >= max(1, takeover_steps):
                    action = label
        observations.append(obs)
        labels.append(label)
        executed.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        if terminated or truncated:
            break
    return stack_episode(observations, labels, executed, rewards, seed, info["is_success"])


def fly_labelled(env, expert: Controller, seed: int, **kwargs) -> list[dict[str, np.ndarray]]:
    """One labelled episode of either kind of env, as a list of shard arrays (one per agent).

    ``kwargs`` (learner, beta, mix_rng, takeover_steps) as in :func:`fly_labelled_episode` and
    :func:`~ltc_drones.training.multi_agent.fly_labelled_team_episode`.
    """
    if is_team_env(env):
        return fly_labelled_team_episode(env, expert, seed, **kwargs)
    return [fly_labelled_episode(env, expert, seed, **kwargs)]


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
    shards = fly_labelled(env, expert, demo_seeds(spec.base_seed, index + 1)[index])
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
