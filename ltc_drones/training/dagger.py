"""DAgger rounds: the learner flies (mixed with the expert at rate β), the expert labels every state.

Ross, Gordon & Bagnell, "A Reduction of Imitation Learning and Structured Prediction to No-Regret
Online Learning", AISTATS 2011. Episodes go to a folder per round in the demonstration format, so
they are aggregated with the expert data by simply adding the folder to the dataset. Round ``r`` of
training seed ``s`` flies the env seeds ``ltc_drones.seeding.dagger_seeds(s, r, episodes)``.

On a multi-agent env the learner flies every agent (one shared policy, one recurrent state per
agent), the team expert labels every agent's state, β mixes per agent and step, and each team
episode is stored as one shard per agent (see :mod:`ltc_drones.training.collect`); model
selection counts team successes (every agent succeeded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import write_json_atomic
from ..control.protocol import Controller
from ..seeding import dagger_seeds
from ..tasks import is_team_env, team_size
from .collect import labelled_episode
from .storage import MANIFEST, completed_team_episodes, load_episode, write_episode


def dagger_round(env, learner: Controller, expert: Controller, folder: Path, manifest: dict, episodes: int,
              beta: float, training_seed: int, round_index: int, progress: bool = True,
              takeover_steps: int | None = None) -> dict[str, int]:
    """Fly the ``episodes`` learner episodes of one round into ``folder`` (resumable: episodes already
    there are kept); returns the (team) successes and the agent-steps of all the round's episodes.

    With ``takeover_steps``, the expert flies (an agent) whenever the goal has been out of (its) view
    that many steps, until it is back in view (see ``TrainConfig.takeover_lost_s``).
    """
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    n = team_size(env)
    if is_team_env(env):  # this env's team size, whatever the expert data had
        manifest = {**manifest, "num_drones": n}
    write_json_atomic(folder / MANIFEST, {**manifest, "base_seed": training_seed, "round": round_index,
                                          "source": "dagger", "beta": beta, "episodes_requested": episodes})
    seeds = dagger_seeds(training_seed, round_index, episodes)
    done = completed_team_episodes(folder, n)
    for k in tqdm(range(episodes), desc=f"dagger β={beta:.2f}", unit="episode", disable=not progress):
        if k in done:
            continue
        shards = labelled_episode(env, expert, seeds[k], learner=learner, beta=beta,
                              mix_rng=np.random.default_rng([seeds[k], 1]), takeover_steps=takeover_steps)
        for i, arrays in enumerate(shards):
            write_episode(folder, k * n + i, arrays)
    wins = steps = 0
    for k, paths in completed_team_episodes(folder, n).items():
        if k < episodes:
            shards = [load_episode(p) for p in paths]
            wins += all(bool(ep["success"]) for ep in shards)
            steps += sum(len(ep["label"]) for ep in shards)
    return {"successes": wins, "steps": steps}
