"""Task rules: FollowTarget's total lost time, rgb_kin without the goal, Hover's refusal of images,
distractors clear of every Hiking marker."""

import inspect

import numpy as np
import pybullet as pb
import pytest

from ltc_drones.envs import load_scenario, make_env
from ltc_drones.envs.base import KIN_DIM, PROPRIO_DIM
from ltc_drones.envs.scenario import scenario_from_dict
from ltc_drones.tasks import make_expert


def act_fn(expert):
    return (lambda obs: expert.act(obs)) if inspect.signature(expert.act).parameters else (lambda obs: expert.act())


def test_follow_target_fails_when_lost_for_more_than_max_lost_s_in_total():
    """Lost 1 s, seen 0.1 s, repeated: never 2 s in a row, but over 2 s in total on the third stretch."""
    env = make_env("follow-target")
    base = env.unwrapped
    expert = make_expert(env)
    act = act_fn(expert)
    obs, _ = env.reset(seed=0)
    expert.reset()
    base.target_in_view = lambda: base._step_count % 33 >= 30  # hidden 30 steps, visible 3, ...
    infos = []
    while True:
        obs, _, terminated, truncated, info = env.step(act(obs))
        infos.append(info)
        if terminated or truncated:
            break
    lost_steps = int(round(base.scenario.max_lost_s * 30)) + 1  # the first step beyond 2 s in total
    assert terminated and not info["is_success"] and not info["crashed"]
    assert len(infos) == lost_steps + 2 * 3  # two visible stretches of 3 steps came between
    assert info["lost_s"] == pytest.approx(lost_steps / 30)
    for k, i in enumerate(infos, start=1):  # reported on every step: tracked steps so far / steps so far
        tracked = sum(1 for j in range(1, k + 1) if j % 33 >= 30)
        assert i["tracked_fraction"] == pytest.approx(tracked / k)


def test_follow_target_expert_tracks_nearly_all_the_time():
    env = make_env("follow-target")
    expert = make_expert(env)
    act = act_fn(expert)
    obs, _ = env.reset(seed=1)
    expert.reset()
    while True:
        obs, _, terminated, truncated, info = env.step(act(obs))
        if terminated or truncated:
            break
    assert info["is_success"] and info["tracked_fraction"] > 0.95 and info["lost_s"] <= 1.0


def test_rgb_kin_vector_is_proprioception_without_the_goal():
    env = make_env("fly-to-target", obs="rgb_kin")
    kin_env = make_env("fly-to-target", obs="kin")
    assert env.observation_space["kin"].shape == (PROPRIO_DIM,) and kin_env.observation_space.shape == (KIN_DIM,)
    obs, _ = env.reset(seed=3)
    kin, _ = kin_env.reset(seed=3)
    assert obs["kin"].shape == (PROPRIO_DIM,) and obs["kin"].dtype == np.float32
    np.testing.assert_array_equal(obs["kin"], kin[3:])  # kin = goal (3) + proprioception
    base = env.unwrapped
    action = np.array([0.3, 0.0, 0.1, 0.2], np.float32)
    before = env.step(action)[0]["kin"]
    env.reset(seed=3)
    base.target_pos_m = base.target_pos_m + np.array([3.0, -2.0, 0.5])  # the goal moves, the drone does not
    after = env.step(action)[0]["kin"]
    np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("obs", ["rgb", "rgb_kin"])
def test_hover_refuses_image_observations_and_says_why(obs):
    with pytest.raises(ValueError, match=r'nothing visible marks the hold point.*obs="kin"'):
        make_env("hover", obs=obs)


def test_distractors_keep_clear_of_every_hiking_marker():
    scenario = scenario_from_dict({"distractors": 4}, base=load_scenario("hiking"))
    env = make_env("hiking", scenario=scenario)
    base = env.unwrapped
    cid = base.sim.world.cid
    gaps = []
    for seed in range(12):
        env.reset(seed=seed)
        for body in base.scene.distractor_ids:
            p = np.array(pb.getBasePositionAndOrientation(body, physicsClientId=cid)[0])
            gaps.append(np.linalg.norm(base.markers_m - p, axis=1).min())
    assert len(gaps) == 4 * 12 and min(gaps) >= 1.0
