"""The one episode loop: a single env flown as a team of one gives what stepping it by hand gives."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from ltc_drones.control.team_expert import TeamExpert
from ltc_drones.envs import make_env
from ltc_drones.envs.rollout import EpisodeRecord, TeamEpisodeRecord, run_episode, success_rate
from ltc_drones.tasks import SINGLE_TASKS, make_expert
from ltc_drones.tasks import make_env as make_team_env


def by_hand(env, controller, seed: int) -> tuple[EpisodeRecord, list[np.ndarray], list[np.ndarray]]:
    """The plain Gymnasium loop on unbatched observations: the record, the observations acted on, the actions."""
    obs, _ = env.reset(seed=seed)
    controller.reset(1)
    seen, flown, total, steps = [], [], 0.0, 0
    while True:
        seen.append(obs)
        action = controller.act(obs, np.array([steps == 0]))
        flown.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            break
    record = EpisodeRecord(seed, bool(info["is_success"]), bool(info["crashed"]), steps, float(info["time_s"]),
                           float(info["distance_m"]), total)
    return record, seen, flown


@pytest.mark.parametrize("task", SINGLE_TASKS)
def test_a_single_env_flown_as_a_team_of_one_is_the_plain_gymnasium_episode(task):
    env = make_env(task, obs="kin")
    expected, seen, flown = by_hand(env, make_expert(env), 1)
    batches, actions, frames = [], [], []

    def after(a, rewards, infos):
        assert a.shape == (1, 4) and rewards.shape == (1,) and len(infos) == 1 and infos[0]["time_s"] > 0
        actions.append(a[0])

    record = run_episode(env, make_expert(env), 1, before_act=lambda batch, live: batches.append((batch, live)),
                         after_step=after, on_frame=lambda: frames.append(env.unwrapped.time_s))
    env.close()
    assert isinstance(record, EpisodeRecord) and record == expected
    assert all(b.shape == (1, *o.shape) and np.array_equal(b[0], o) and live.tolist() == [True]
               for (b, live), o in zip(batches, seen, strict=True))
    assert np.array_equal(np.array(actions), np.array(flown))
    assert len(frames) == record.steps + 1  # after the reset and after every step


def test_a_team_episode_reports_every_agent_step_to_the_hooks():
    env = make_team_env("multi-fly-to-target", num_drones=2, obs="kin")
    steps, rewards_of = [0, 0], [0.0, 0.0]
    masks = []

    def after(actions, rewards, infos):
        assert actions.shape == (2, 4) and len(infos) == 2
        for i, info in enumerate(infos):
            if info is not None:
                steps[i] += 1
                rewards_of[i] += float(rewards[i])
            else:
                assert rewards[i] == 0.0

    record = run_episode(env, TeamExpert(env), 3, before_act=lambda batch, live: masks.append(live.copy()),
                         after_step=after, keep_infos=True)
    env.close()
    assert isinstance(record, TeamEpisodeRecord)
    assert record.agent_steps == steps and record.agent_returns == rewards_of
    assert [len(i) for i in record.agent_infos] == steps
    assert [int(np.sum([m[i] for m in masks])) for i in range(2)] == steps  # live exactly while it flies


def test_max_steps_stops_the_episode_early():
    env = make_env("hover", obs="kin")
    record = run_episode(env, make_expert(env), 0, max_steps=5)
    env.close()
    assert record.steps == 5 and not record.success


class ZeroAction:
    def reset(self, num_envs: int = 1) -> None:
        self.num_envs = num_envs

    def act(self, obs, episode_start=None) -> np.ndarray:
        assert np.asarray(obs).shape == (self.num_envs, 3)
        return np.zeros((self.num_envs, 1), np.float32)


def test_any_gymnasium_env_flies_and_reports_what_it_knows():
    env = gym.make("Pendulum-v1")
    total = []
    record = run_episode(env, ZeroAction(), 0, after_step=lambda a, rewards, infos: total.append(rewards[0]))
    env.close()
    assert record.steps == 200 and not record.success and np.isnan(record.final_distance_m)
    assert record.episode_return == pytest.approx(sum(total))
    assert success_rate(gym.make("Pendulum-v1"), ZeroAction(), [0]) == 0.0
