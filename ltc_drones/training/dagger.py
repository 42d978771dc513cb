"""DAgger rounds: the learner flies (mixed with the expert at rate β), the expert labels every state.

Ross, Gordon & Bagnell, "A Reduction of Imitation Learning and Structured Prediction to No-Regret
Online Learning", AISTATS 2011. Episodes go to a folder per round in the demonstration format, so
they are aggregated with the expert data by simply adding the folder to the dataset. Round ``r`` of
training seed ``s`` flies the env seeds ``ltc_drones.seeding.dagger_seeds(s, r, episodes)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import write_json_atomic
from ..control.protocol import Controller
from ..envs.rollout import success_rate
from ..seeding import dagger_seeds
from .collect import fly_labelled_episode
from .storage import MANIFEST, completed_episodes, load_episode, write_episode


def fly_round(env, learner: Controller, expert: Controller, folder: Path, manifest: dict, episodes: int,
              beta: float, training_seed: int, round_index: int, progress: bool = True,
              takeover_steps: int | None = None) -> dict[str, int]:
    """Fly the ``episodes`` learner episodes of one round into ``folder`` (resumable: episodes already
    there are kept); returns the successes and steps of all the round's episodes.

    With ``takeover_steps``, the expert flies whenever the goal has been out of view that many steps,
    until it is back in view (see ``TrainConfig.takeover_lost_s``).
    """
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / MANIFEST, {**manifest, "base_seed": training_seed, "round": round_index,
                                          "source": "dagger", "beta": beta, "episodes_requested": episodes})
    seeds = dagger_seeds(training_seed, round_index, episodes)
    done = completed_episodes(folder)
    for k in tqdm(range(episodes), desc=f"dagger β={beta:.2f}", unit="episode", disable=not progress):
        if k in done:
            continue
        arrays = fly_labelled_episode(env, expert, seeds[k], learner=learner, beta=beta,
                                      mix_rng=np.random.default_rng([seeds[k], 1]), takeover_steps=takeover_steps)
        write_episode(folder, k, arrays)
    wins = steps = 0
    for k, path in completed_episodes(folder).items():
        if k < episodes:
            ep = load_episode(path)
            wins += bool(ep["success"])
            steps += len(ep["label"])
    return {"successes": wins, "steps": steps}


def closed_loop_success(env, agent: Controller, seeds) -> float:
    """Fraction of episodes (one per seed) the agent alone succeeds in."""
    return success_rate(env, agent, seeds)
