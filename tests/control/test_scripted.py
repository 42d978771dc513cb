"""One acting protocol: experts and scripted baselines are Controllers; scripted ones never succeed."""

import subprocess
import sys

import numpy as np
import pytest

from ltc_drones.control import SCRIPTED, ConstantAction, Controller, make_scripted
from ltc_drones.envs import make_env
from ltc_drones.envs.rollout import run_episode
from ltc_drones.tasks import make_expert


def test_protocol_is_importable_without_torch():
    code = ("import sys; from ltc_drones.control.protocol import Controller; "
            "from ltc_drones.control import make_scripted; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_experts_and_scripted_controllers_follow_the_protocol():
    env = make_env("fly-to-target", obs="kin")
    for controller in (make_expert(env), ConstantAction(), *(make_scripted(n, env) for n in SCRIPTED)):
        assert isinstance(controller, Controller)
    with pytest.raises(ValueError, match="num_envs=3"):
        make_expert(env).reset(num_envs=3)
    with pytest.raises(ValueError, match="valid names"):
        make_scripted("fly-backwards", env)


def test_expert_resets_its_controller_on_episode_start():
    """A ctbr expert keeps integrator state: ``episode_start`` clears it as ``reset()`` does."""
    env = make_env("fly-to-target", act="ctbr")
    expert = make_expert(env)

    def first_action_of_second_episode(how):
        env.reset(seed=4)
        expert.reset()
        for _ in range(20):  # build up integrator state
            env.step(expert.act())
        env.reset(seed=9)
        if how == "reset":
            expert.reset()
        return expert.act(None, np.array([how == "flag"]))

    by_reset = first_action_of_second_episode("reset")
    assert np.array_equal(by_reset, first_action_of_second_episode("flag"))
    assert not np.array_equal(by_reset, first_action_of_second_episode("none"))  # the old state leaks in
    with pytest.raises(ValueError, match="one bool"):
        expert.act(None, np.array([True, False]))


@pytest.mark.parametrize("name", list(SCRIPTED))
def test_scripted_baselines_never_reach_the_target(name):
    env = make_env("fly-to-target", obs="kin")
    controller = make_scripted(name, env)
    record = run_episode(env, controller, seed=3)
    assert not record.success
    if name == "fly-away":
        assert record.final_distance_m > 5.0  # it left
    else:
        assert record.steps == 450 and not record.crashed  # held its place to the time limit


def test_constant_action_drives_any_number_of_envs():
    c = ConstantAction([0.5, 0.0, 0.0, -0.5])
    assert c.act(None).shape == (4,)
    c.reset(num_envs=3)
    assert c.act(np.zeros((3, 16)), np.array([True, False, False])).shape == (3, 4)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        ConstantAction([2.0, 0, 0, 0])
