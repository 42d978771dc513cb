"""Every registered env: the gymnasium checker, determinism, spaces, info, bad input."""

import inspect
import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import ltc_drones  # noqa: F401 - registers the ids
from ltc_drones.envs import ScenarioError, make_env
from ltc_drones.envs.camera import SEG_TARGET
from ltc_drones.tasks import SINGLE_TASKS, task_spec

TASKS = list(SINGLE_TASKS)


# Hover has no visible goal and refuses image observations (tests/envs/test_tasks.py).
MODES = [(task, obs) for task in TASKS for obs in ("kin", "rgb", "rgb_kin") if task != "hover" or obs == "kin"]


@pytest.mark.parametrize("act", ["vel", "rpm", "ctbr"])
@pytest.mark.parametrize("task, obs", MODES)
def test_check_env_in_every_mode(task, obs, act):
    env = gym.make(task_spec(task).env_id, obs=obs, act=act, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    env.close()


def rollout(env, seed, steps=100):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(rng.uniform(-0.5, 0.5, 4).astype(np.float32))
        trace.append(obs)
        trace.append(np.array([reward, info["distance_m"]]))
        if terminated or truncated:
            obs, _ = env.reset()
    return trace


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_100_step_rollout_and_different_seeds_differ(task):
    scen = "wind-gusts"  # randomness in the dynamics as well as in the start
    env_a, env_b = make_env(task, scenario=scen), make_env(task, scenario=scen)
    a, b = rollout(env_a, 3), rollout(env_b, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    c = rollout(env_a, 4)
    assert not np.array_equal(a[0], c[0])  # different start
    env_a.close(), env_b.close()


def test_rgb_rollout_is_deterministic_with_camera_noise():
    env = make_env("fly-to-target", obs="rgb", scenario="camera-noise")
    a, b = rollout(env, 11, 20), rollout(env, 11, 20)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("task", TASKS)
def test_info_carries_required_keys(task):
    env = make_env(task)
    env.reset(seed=0)
    _, reward, *_, info = env.step(np.zeros(4, np.float32))
    for key in ("is_success", "distance_m", "target_in_view", "crashed"):
        assert key in info
    terms = {k: v for k, v in info.items() if k.startswith("reward_")}
    assert terms and sum(terms.values()) == pytest.approx(reward)


def test_target_spans_at_least_4_px_at_the_farthest_nominal_start():
    env = make_env("fly-to-target", obs="rgb")
    base = env.unwrapped
    base.reset(seed=0)
    s = base.state
    far = base.scenario.start_distance_m[1]
    heading = s.R[:, 0].copy()
    heading[2] = 0
    heading /= np.linalg.norm(heading)
    base.target_pos_m = base.camera.eye_m(s) + far * heading
    base.sim.world.move_body(base.target_id, base.target_pos_m)
    _, seg = base.onboard_camera()
    rows, cols = np.nonzero(seg == SEG_TARGET)
    assert cols.max() - cols.min() + 1 >= 4 and rows.max() - rows.min() + 1 >= 4


def test_segmentation_mask_matches_image_and_sees_target():
    env = make_env("fly-to-target", obs="rgb", scenario="distractors")
    obs, info = env.reset(seed=2)
    rgb, seg = env.unwrapped.onboard_camera()
    assert seg.shape == obs.shape[:2] and np.array_equal(rgb, obs)
    assert info["target_in_view"] and (seg == SEG_TARGET).sum() > 0
    red = rgb[seg == SEG_TARGET].mean(axis=0)
    assert red[0] > 2 * red[1]  # the nominal target is red


def test_crash_is_terminated_not_truncated():
    env = make_env("fly-to-target", act="rpm")
    env.reset(seed=0)
    for _ in range(200):
        _, _, terminated, truncated, info = env.step(-np.ones(4, np.float32))  # motors off: fall
        if terminated or truncated:
            break
    assert terminated and not truncated and info["crashed"] and not info["is_success"]


def test_time_limit_truncates():
    env = make_env("fly-to-target")
    env.reset(seed=0)
    steps = 0
    while True:
        _, _, terminated, truncated, info = env.step(np.zeros(4, np.float32))  # hover in place
        steps += 1
        if terminated or truncated:
            break
    assert truncated and not terminated and steps == 15 * 30


def test_nan_action_is_rejected_without_touching_state():
    env = make_env("fly-to-target")
    env.reset(seed=0)
    before = env.unwrapped.state.pos_m.copy()
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0, 0, 0], np.float32))
    assert np.array_equal(env.unwrapped.state.pos_m, before)
    env.step(np.zeros(4, np.float32))  # still usable
    with pytest.raises(ValueError, match="4 components"):
        env.step(np.zeros(3, np.float32))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"obs": "depth"}, "observation mode"),
        ({"act": "pwm"}, "action mode"),
        ({"scenario": "hurricane"}, "unknown"),
        ({"physics_hz": 240, "ctrl_hz": 70}, "multiple"),
        ({"render_mode": "video"}, "render_mode"),
        ({"reward_weights": {"progres": 1.0}}, "reward weight"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_env("fly-to-target", **kwargs)


def test_unknown_task_lists_valid_ones():
    with pytest.raises(ValueError, match="fly-to-target"):
        make_env("fly-to-mars")


def test_scenario_file_with_unknown_key_or_bad_value(tmp_path):
    bad_key = tmp_path / "bad.yaml"
    bad_key.write_text("target_colour: [0, 1, 0]\n")
    with pytest.raises(ScenarioError, match="target_colour.*valid keys"):
        make_env("fly-to-target", scenario=str(bad_key))
    bad_value = tmp_path / "bad_value.yaml"
    bad_value.write_text("target_color: [0, 2, 0]\n")
    with pytest.raises(ScenarioError, match="target_color"):
        make_env("fly-to-target", scenario=str(bad_value))
    good = tmp_path / "green.yaml"
    good.write_text("target_color: [0, 1, 0]\ndistractors: 2\n")
    env = make_env("fly-to-target", scenario=str(good))
    assert env.unwrapped.scenario.target_color == (0.0, 1.0, 0.0, 1.0)


def test_physics_and_control_rates_are_configurable():
    env = make_env("hover", physics_hz=480, ctrl_hz=48)
    assert env.unwrapped.clock.substeps == 10
    env.reset(seed=0)
    env.step(np.zeros(4, np.float32))
    assert env.unwrapped.time_s == pytest.approx(1 / 48)


def test_reset_moves_bodies_instead_of_rebuilding_them():
    env = make_env("fly-to-target", scenario="distractors")
    env.reset(seed=0)
    import pybullet as pb

    n_bodies = pb.getNumBodies(physicsClientId=env.unwrapped.sim.world.cid)
    for seed in range(5):
        env.reset(seed=seed)
    assert pb.getNumBodies(physicsClientId=env.unwrapped.sim.world.cid) == n_bodies


def test_render_gives_a_chase_view():
    env = make_env("follow-target", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8 and frame.std() > 5


def test_onboard_start_has_target_in_view_for_every_seed():
    env = make_env("fly-to-target")
    for seed in range(30):
        _, info = env.reset(seed=seed)
        assert info["target_in_view"]
        assert 1.5 - 1e-9 <= info["distance_m"] <= 4.0 + 0.6 + 1e-9  # height differences add at most 0.6 m


def test_hiking_markers_are_each_visible_from_the_last():
    env = make_env("hiking")
    base = env.unwrapped
    for seed in range(10):
        base.reset(seed=seed)
        m = base.markers_m
        for k in range(1, len(m)):
            leg = m[k] - m[k - 1]
            assert 1.5 <= math.hypot(leg[0], leg[1]) <= 3.0 + 1e-9


class TracingExpert:
    """The expert, recording every observation it is given; works as ``act(obs)`` or as a controller."""

    def __init__(self, env):
        from ltc_drones.tasks import make_expert

        self.expert = make_expert(env)
        self.trace = []

    def reset(self, num_envs=1):
        self.expert.reset()

    def act(self, obs, episode_start=None):
        self.trace.append(np.asarray(obs).copy())
        takes_obs = bool(inspect.signature(self.expert.act).parameters)
        return self.expert.act(obs) if takes_obs else self.expert.act()

    __call__ = act


@pytest.mark.parametrize("obs", ["kin", "rgb"])
def test_recording_an_episode_does_not_change_it(obs):
    from ltc_drones.envs.rollout import run_episode
    from ltc_drones.evaluation import record_episode

    env = make_env("fly-to-target", obs=obs, scenario="camera-noise", render_mode="rgb_array")
    traces = []
    for runner in (run_episode, record_episode, run_episode):
        tracer = TracingExpert(env)
        legacy = "reset" in inspect.signature(runner).parameters  # act(obs) + reset() callables
        rec = runner(env, tracer, 5, tracer.reset) if legacy else runner(env, tracer, 5)
        traces.append((rec.steps, rec.final_distance_m, tracer.trace))
    assert traces[0][:2] == traces[1][:2] == traces[2][:2]
    assert all(np.array_equal(a, b) for a, b in zip(traces[0][2], traces[1][2], strict=True))
