"""DAgger rounds: the learner flies (mixed with the expert at rate β), the expert labels every state.

Ross, Gordon & Bagnell, "A Reduction of Imitation Learning and Structured Prediction to No-Regret
Online Learning", AISTATS 2011. Episodes go to a folder per round in the demonstration format, so
they are aggregated with the expert data by simply adding the folder to the dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import write_json_atomic
from ..envs.rollout import success_rate
from .agent import Agent
from .collect import fly_labelled_episode
from .storage import MANIFEST, completed_episodes, episode_seed, write_episode


def fly_round(env, agent: Agent, expert, folder: Path, manifest: dict, episodes: int, beta: float,
              base_seed: int, progress: bool = True, takeover_steps: int | None = None) -> dict[str, float]:
    """Fly ``episodes`` learner episodes (resumable) into ``folder``; returns success and step counts.

    With ``takeover_steps``, the expert flies whenever the goal has been out of view that many steps,
    until it is back in view (see ``TrainConfig.takeover_lost_s``).
    """
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / MANIFEST, {**manifest, "base_seed": base_seed, "source": "dagger",
                                          "beta": beta, "episodes_requested": episodes})
    done = completed_episodes(folder)
    wins = steps = 0
    for k in tqdm(range(episodes), desc=f"dagger β={beta:.2f}", unit="episode", disable=not progress):
        if k in done:
            continue
        agent.reset()
        learner = agent.act if takeover_steps is None else _with_takeover(env, agent.act, expert, takeover_steps)
        arrays = fly_labelled_episode(env, expert, episode_seed(base_seed, k), learner=learner, beta=beta,
                                      mix_rng=np.random.default_rng([base_seed, k, 1]))
        write_episode(folder, k, arrays)
        wins += bool(arrays["success"])
        steps += len(arrays["label"])
    return {"successes": wins, "steps": steps}


def _with_takeover(env, learner, expert, lost_steps: int):
    """The learner's action, or the expert's while the goal has been out of view ``lost_steps`` steps."""
    base = env.unwrapped
    lost = 0

    def act(obs):
        nonlocal lost
        if base._step_count == 0:
            lost = 0
        lost = 0 if base.target_in_view() else lost + 1
        action = learner(obs)  # always called, so the learner's recurrent state follows the episode
        return expert.act() if lost >= lost_steps else action

    return act


def closed_loop_success(env, agent: Agent, seeds) -> float:
    """Fraction of episodes (one per seed) the agent alone succeeds in."""
    return success_rate(env, agent.act, seeds, agent.reset)
