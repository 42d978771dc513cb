"""The privileged experts succeed on seeded episodes of every task, nominal and under every shift.

The full figure (100 episodes per task and scenario) comes from ``ltc-drones evaluate --agent expert`` (the
commands are in docs/shifts.md).
"""

import numpy as np
import pytest

from ltc_drones.envs import available_scenarios, make_env
from ltc_drones.envs.rollout import success_rate
from ltc_drones.tasks import SINGLE_TASKS, make_expert

SHIFTS = [s for s in available_scenarios() if s != "nominal"]


def expert_success(task, scenario, seeds, **env_kwargs):
    env = make_env(task, scenario=scenario, **env_kwargs)
    expert = make_expert(env)
    rate = success_rate(env, expert, seeds)
    env.close()
    return rate


@pytest.mark.parametrize("task", list(SINGLE_TASKS))
def test_expert_succeeds_on_nominal_episodes(task):
    assert expert_success(task, "nominal", range(1000, 1012)) >= 11 / 12


@pytest.mark.parametrize("shift", SHIFTS)
@pytest.mark.parametrize("task", list(SINGLE_TASKS))
def test_expert_succeeds_under_every_shift(task, shift):
    assert expert_success(task, shift, range(2000, 2004)) >= 3 / 4


@pytest.mark.parametrize("act", ["ctbr", "rpm"])
def test_expert_acts_in_the_envs_action_space(act):
    env = make_env("fly-to-target", act=act)
    expert = make_expert(env)
    env.reset(seed=0)
    expert.reset()
    a = expert.act()
    assert env.action_space.contains(a)


def test_expert_needs_a_known_task():
    class Dummy:
        unwrapped = object()

    with pytest.raises(ValueError, match="no expert"):
        make_expert(Dummy())


def test_expert_is_deterministic():
    env = make_env("follow-target")
    expert = make_expert(env)
    runs = []
    for _ in range(2):
        env.reset(seed=5)
        expert.reset()
        runs.append(np.stack([env.step(expert.act())[0] for _ in range(60)]))
    assert np.array_equal(*runs)


def test_plus_frame_flies_too():
    from ltc_drones.sim import crazyflie_plus

    assert expert_success("fly-to-target", "nominal", range(3), params=crazyflie_plus()) == 1.0
