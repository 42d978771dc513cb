"""Rewards rank behaviour: no policy that never succeeds out-earns the expert; shaping telescopes;
a crash step is never a success."""

import inspect

import numpy as np
import pytest

from ltc_drones.envs import make_env
from ltc_drones.tasks import SINGLE_TASKS, make_expert

TASKS = list(SINGLE_TASKS)
SEEDS = range(10)


def expert_policy(env):
    """The privileged expert as ``obs -> action`` (works with ``act()`` and with ``act(obs, episode_start)``)."""
    expert = make_expert(env)
    takes_obs = bool(inspect.signature(expert.act).parameters)
    return expert, (lambda obs: expert.act(obs)) if takes_obs else (lambda obs: expert.act())


def hover_in_place(obs):
    return np.zeros(4, np.float32)  # zero velocity command


def spin_in_place(obs):
    return np.array([0.0, 0.0, 0.0, 1.0], np.float32)  # yaw-rate command only


def fly_away(obs):
    """Full horizontal speed directly away from the goal (the kin vector's first entries point at it)."""
    g = np.asarray(obs[:2], np.float64)
    return np.array([*(-g / max(np.linalg.norm(g), 1e-9)), 0.0, 0.0], np.float32)


def episode(env, policy, seed, reset=None):
    """``(return, info of the last step, per-step infos)`` of one seeded episode."""
    obs, _ = env.reset(seed=seed)
    if reset is not None:
        reset()
    total, infos = 0.0, []
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        total += reward
        infos.append(info)
        if terminated or truncated:
            return total, info, infos


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_behaviours_that_never_succeed_earn_less_than_the_expert(task):
    env = make_env(task)
    expert, expert_act = expert_policy(env)
    runs = {"expert": [episode(env, expert_act, s, expert.reset) for s in SEEDS]}
    for name, policy in [("hover", hover_in_place), ("spin", spin_in_place), ("away", fly_away)]:
        runs[name] = [episode(env, policy, s) for s in SEEDS]
    mean = {name: float(np.mean([r for r, _, _ in eps])) for name, eps in runs.items()}
    assert all(info["is_success"] for _, info, _ in runs["expert"])
    for name in ("hover", "spin", "away"):
        assert not any(info["is_success"] for _, info, _ in runs[name]), name  # these never succeed here
        assert mean[name] < mean["expert"], (task, mean)
    # And by a margin: the expert earns the success bonus on top of its shaping.
    best_other = max(mean["hover"], mean["spin"], mean["away"])
    assert mean["expert"] - best_other > 0.5 * env.unwrapped.reward_weights["success"]
    env.close()


@pytest.mark.parametrize("task", TASKS)
def test_shaping_terms_telescope_to_a_difference_of_potentials(task):
    env = make_env(task, scenario="wind-gusts")
    base = env.unwrapped
    rng = np.random.default_rng(1)
    env.reset(seed=3)
    phi0 = base._potentials()
    sums = dict.fromkeys(phi0, 0.0)
    for _ in range(200):
        *_, terminated, truncated, info = env.step(rng.uniform(-1, 1, 4).astype(np.float32))
        for name in sums:
            sums[name] += info[f"reward_{name}"]
        if terminated or truncated:
            break
    phi = base._potentials()
    for name in sums:
        assert sums[name] == pytest.approx(base.reward_weights[name] * (phi[name] - phi0[name]), abs=1e-9)


@pytest.mark.parametrize("task", TASKS)
def test_a_crash_step_is_never_a_success_even_if_the_task_says_so(task):
    env = make_env(task, act="rpm")
    base = env.unwrapped
    env.reset(seed=0)
    base._task_outcome = lambda: (True, False)  # a task that declares success on every step
    base.SUCCESS_TERMINATES = False
    infos = []
    for _ in range(120):
        *_, terminated, _, info = env.step(-np.ones(4, np.float32))  # motors off: fall to the ground
        infos.append(info)
        if terminated:
            break
    assert terminated and infos[-1]["crashed"]
    assert not infos[-1]["is_success"] and infos[-1]["reward_success"] == 0.0 and infos[-1]["reward_crash"] < 0
    assert all(i["is_success"] for i in infos[:-1])  # the rigged success does count on flying steps


def test_falling_onto_a_target_is_a_crash_not_a_success():
    """A target below the ground: the first step within 0.5 m of it is the step that hits the ground."""
    env = make_env("fly-to-target", act="rpm")
    base = env.unwrapped
    finals = []
    for depth in (-0.45, -0.47):
        for seed in range(3):
            env.reset(seed=seed)
            p = base.state.pos_m
            base.target_pos_m = np.array([p[0], p[1], depth])
            while True:
                *_, terminated, truncated, info = env.step(-np.ones(4, np.float32))
                assert not (info["is_success"] and info["crashed"])
                if terminated or truncated:
                    break
            finals.append(info)
    radius = base.scenario.success_radius_m
    crashes_in_reach = [i for i in finals if i["crashed"] and i["distance_m"] <= radius]
    assert crashes_in_reach  # the situation arises ...
    assert not any(i["is_success"] or i["reward_success"] for i in crashes_in_reach)  # ... and is only a crash


@pytest.mark.parametrize("task, weight", [("fly-to-target", "track"), ("hover", "heading"), ("hiking", "track")])
def test_each_task_accepts_only_its_own_reward_weights(task, weight):
    with pytest.raises(ValueError, match="reward weight"):
        make_env(task, reward_weights={weight: 1.0})


def test_reward_weights_scale_their_terms():
    env = make_env("follow-target", reward_weights={"track": 2.0, "heading": 0.0})
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(4, np.float32))
    assert info["reward_track"] == pytest.approx(2.0 / 30) and info["reward_heading"] == 0.0
