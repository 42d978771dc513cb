"""DAgger rounds: the learner flies (mixed with the expert at rate β), the expert labels every state.

Ross, Gordon & Bagnell, "A Reduction of Imitation Learning and Structured Prediction to No-Regret
Online Learning", AISTATS 2011. Episodes go to a folder per round in the demonstration format, so
they are aggregated with the expert data by simply adding the folder to the dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .agent import Agent
from .collect import stack_episode
from .storage import MANIFEST, completed_episodes, episode_seed, write_episode, write_json_atomic


def fly_round(env, agent: Agent, expert, folder: Path, manifest: dict, episodes: int, beta: float,
              base_seed: int, progress: bool = True) -> dict[str, float]:
    """Fly ``episodes`` learner episodes (resumable) into ``folder``; returns success and step counts."""
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / MANIFEST, {**manifest, "base_seed": base_seed, "source": "dagger",
                                          "beta": beta, "episodes_requested": episodes})
    done = completed_episodes(folder)
    wins = steps = 0
    for k in tqdm(range(episodes), desc=f"dagger β={beta:.2f}", unit="episode", disable=not progress):
        if k in done:
            continue
        seed = episode_seed(base_seed, k)
        mix_rng = np.random.default_rng([base_seed, k, 1])
        obs, _ = env.reset(seed=seed)
        expert.reset()
        agent.reset()
        observations, labels, executed, rewards = [], [], [], []
        while True:
            label = expert.act()
            learner = agent.act(obs)
            action = label if mix_rng.random() < beta else learner
            observations.append(obs)
            labels.append(label)
            executed.append(action)
            obs, reward, terminated, truncated, info = env.step(action)
            rewards.append(reward)
            if terminated or truncated:
                break
        write_episode(folder, k, stack_episode(observations, labels, executed, rewards, seed, info["is_success"]))
        wins += info["is_success"]
        steps += len(labels)
    return {"successes": wins, "steps": steps}


def closed_loop_success(env, agent: Agent, seeds, progress: bool = False) -> float:
    """Fraction of episodes (one per seed) the agent alone succeeds in."""
    from tqdm import tqdm

    wins = 0
    seeds = list(seeds)
    for seed in tqdm(seeds, desc="eval", unit="episode", disable=not progress):
        obs, _ = env.reset(seed=int(seed))
        agent.reset()
        while True:
            obs, _, terminated, truncated, info = env.step(agent.act(obs))
            if terminated or truncated:
                break
        wins += info["is_success"]
    return wins / len(seeds)
