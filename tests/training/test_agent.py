"""Agents follow the acting protocol: one agent drives a Gymnasium vector env with autoreset."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from ltc_drones.agents import Agent, env_spec_of
from ltc_drones.control import Controller
from ltc_drones.envs import make_env
from ltc_drones.envs.rollout import EpisodeStarts
from ltc_drones.models import Policy, PolicyConfig

SEEDS = [11, 12, 13]
STEPS = 160  # 2-3 episodes per env: the policy below descends and crashes after about 60 steps


def descending_agent(env) -> Agent:
    """An untrained recurrent policy biased downwards, so its episodes end (and autoreset) early."""
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(obs_kind="kin", obs_dim=16, core="gru", core_config={"units": 8}, feature_dim=8))
    with torch.no_grad():
        policy.head.bias[:] = torch.tensor([0.0, 0.0, -0.6, 0.0])
    return Agent(policy, env_spec_of(env, "fly-to-target", "nominal"))


def single_env_actions(seed: int, count: int) -> list[np.ndarray]:
    """``count`` actions of one env flown alone; after each episode ``reset()`` without a seed, as autoreset does."""
    env = make_env("fly-to-target", obs="kin")
    agent = descending_agent(env)
    obs, _ = env.reset(seed=seed)
    agent.reset(1)
    start, actions = True, []
    while len(actions) < count:
        action = agent.act(obs, np.array([start]))
        actions.append(action)
        obs, _, terminated, truncated, _ = env.step(action)
        start = terminated or truncated
        if start:
            obs, _ = env.reset()
    env.close()
    return actions


def test_one_agent_drives_a_vector_env_as_n_single_env_runs():
    venv = gym.vector.SyncVectorEnv([lambda: make_env("fly-to-target", obs="kin") for _ in SEEDS])
    agent = descending_agent(venv.envs[0])
    assert isinstance(agent, Controller)
    starts = EpisodeStarts(venv)
    obs, _ = venv.reset(seed=SEEDS)
    agent.reset(len(SEEDS))
    flown = [[] for _ in SEEDS]  # the actions each env applied (not those an autoreset step ignores)
    episodes = np.zeros(len(SEEDS), int)
    for _ in range(STEPS):
        resetting = starts.resetting  # this step autoresets these envs and ignores their action
        actions = agent.act(obs, starts.flags)
        assert actions.shape == (len(SEEDS), 4)
        obs, _, terminated, truncated, _ = venv.step(actions)
        starts.update(terminated, truncated)
        episodes += terminated | truncated
        for i in np.flatnonzero(~resetting):
            flown[i].append(actions[i])
    venv.close()
    assert (episodes >= 2).all()  # every env went through at least two autoresets
    for i, seed in enumerate(SEEDS):
        alone = single_env_actions(seed, len(flown[i]))
        np.testing.assert_allclose(np.stack(flown[i]), np.stack(alone), rtol=0, atol=1e-6)


def test_episode_starts_follow_next_step_autoreset():
    class Fake:
        num_envs = 2
        metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    starts = EpisodeStarts(Fake())
    assert starts.flags.tolist() == [True, True]
    assert starts.update([False, True], [False, False]).tolist() == [False, False]  # env 1 ended
    assert starts.update([False, False], [False, False]).tolist() == [False, True]  # ...reset by this step
    assert starts.update([False, False], [True, False]).tolist() == [False, False]
    Fake.metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
    assert EpisodeStarts(Fake()).update([True, False], [False, False]).tolist() == [True, False]


def test_agent_checks_its_batch_and_flags():
    env = make_env("fly-to-target", obs="kin")
    agent = descending_agent(env)
    obs, _ = env.reset(seed=0)
    agent.reset(2)
    with pytest.raises(ValueError, match="reset for 2 env"):
        agent.act(obs)
    with pytest.raises(ValueError, match="one bool per env"):
        agent.act(np.stack([obs, obs]), np.array([True]))
    # episode_start clears only the flagged env's state.
    agent.act(np.stack([obs, obs]), np.array([True, True]))
    a = agent.act(np.stack([obs, obs]), np.array([True, False]))
    agent.reset(1)
    fresh = agent.act(obs)
    assert np.allclose(a[0], fresh, atol=1e-6) and not np.allclose(a[1], fresh, atol=1e-6)
