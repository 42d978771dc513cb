"""One seed, one world: every random source draws from its own stream spawned from the episode seed."""

import dataclasses

import numpy as np
import pybullet as pb
import pytest

from ltc_drones.envs import load_scenario, make_env
from ltc_drones.envs.scenario import scenario_from_dict
from ltc_drones.envs.streams import RNG_STREAMS, EpisodeRngs


def gusty_noisy(task):
    """The task's ``wind-gusts`` shift with camera noise and two distractors added."""
    return scenario_from_dict({"camera_noise_std": 20.0, "distractors": 2}, base=load_scenario(task, "wind-gusts"))


def body_pos(env, body):
    return np.array(pb.getBasePositionAndOrientation(body, physicsClientId=env.unwrapped.sim.world.cid)[0])


def trajectory(env, seed, steps=45):
    """Drone and target positions (and distractor positions) over ``steps`` fixed random actions."""
    base = env.unwrapped
    env.reset(seed=seed)
    distractors = np.array([body_pos(env, b) for b in base.scene.distractor_ids])
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, 4)).astype(np.float32)
    drone, target = [base.state.pos_m.copy()], [base.goal_pos_m.copy()]
    for a in actions:
        env.step(a)
        drone.append(base.state.pos_m.copy())
        target.append(base.goal_pos_m.copy())
    return np.array(drone), np.array(target), distractors


@pytest.mark.parametrize("task", ["follow-target", "hiking"])
def test_same_seed_same_world_in_every_observation_mode_under_gusts_and_camera_noise(task):
    runs = {}
    for obs in ("kin", "rgb", "rgb_kin"):
        env = make_env(task, obs=obs, scenario=gusty_noisy(task))
        runs[obs] = trajectory(env, seed=7)
        if obs == "rgb":
            again = trajectory(env, seed=7)
            other = trajectory(env, seed=8)
        env.close()
    for obs in ("rgb", "rgb_kin"):
        for a, b in zip(runs["kin"], runs[obs], strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(runs["rgb"], again, strict=True):
        np.testing.assert_array_equal(a, b)
    drone, target, distractors = other
    assert not np.allclose(drone, runs["rgb"][0]) and not np.allclose(target, runs["rgb"][1])
    assert not np.allclose(distractors, runs["rgb"][2])


def test_target_motion_is_random_and_wind_moves_the_drone():
    """The streams are live: the same seed's target path and drift change with their stream's draws."""
    env = make_env("follow-target", scenario=gusty_noisy("follow-target"))
    base = env.unwrapped
    drone, target, _ = trajectory(env, seed=7)
    env.reset(seed=7)
    base.rngs.target.normal(size=10)  # consume the target-motion stream only
    base.rngs.wind.normal(size=10)  # and the wind stream
    actions = np.random.default_rng(0).uniform(-1, 1, (45, 4)).astype(np.float32)
    for a in actions:
        env.step(a)
    assert not np.allclose(base.goal_pos_m, target[-1]) and not np.allclose(base.state.pos_m, drone[-1])


def test_distractors_and_camera_noise_do_not_move_the_start_or_the_target():
    starts = []
    for scenario in ("nominal", "distractors", "camera-noise"):
        env = make_env("fly-to-target", obs="rgb", scenario=scenario)
        env.reset(seed=5)
        base = env.unwrapped
        starts.append(np.concatenate([base.state.pos_m, base.state.quat_xyzw, base.goal_pos_m]))
        env.close()
    np.testing.assert_array_equal(starts[0], starts[1])
    np.testing.assert_array_equal(starts[0], starts[2])


def test_unseeded_reset_gives_the_next_world_of_the_seed():
    env = make_env("fly-to-target")
    firsts = []
    for _ in range(2):
        env.reset(seed=11)
        firsts.append([env.unwrapped.goal_pos_m.copy()] + [env.reset()[0] for _ in range(2)])
    np.testing.assert_array_equal(np.array(firsts[0][1:]), np.array(firsts[1][1:]))
    assert not np.array_equal(firsts[0][1], firsts[0][2])


def test_episode_rngs_are_named_independent_and_spawned_in_a_fixed_order():
    assert tuple(f.name for f in dataclasses.fields(EpisodeRngs)) == RNG_STREAMS
    a, b = EpisodeRngs.spawn(42), EpisodeRngs.spawn(np.random.SeedSequence(42))
    draws = {name: a[name].random() for name in RNG_STREAMS}
    assert draws == {name: getattr(b, name).random() for name in RNG_STREAMS}
    assert len(set(draws.values())) == len(RNG_STREAMS)
    with pytest.raises(KeyError, match="streams: layout"):
        a["scenry"]
