"""The team expert of the multi-agent envs: team success on nominal episodes, actions in agent order,
and a collision avoidance that keeps drones apart.

The ≥ 95 % figure over 100 episodes comes from a longer run; these tests fly a few seeded episodes.
"""

import itertools
import math

import numpy as np
import pytest

from ltc_drones.control.team_expert import AvoidanceConfig, TeamExpert, avoidance_velocity
from ltc_drones.envs.multi import multi_fly_to_target, multi_follow
from ltc_drones.sim.rotation import yaw_of
from ltc_drones.sim.state import RigidBodyState

NO_AVOIDANCE = AvoidanceConfig(avoid_gain=0.0, vertical_gain=0.0)


def actions_of(env, rows) -> dict:
    return {name: rows[env.possible_agents.index(name)] for name in env.agents}


def fly(env, expert, seed, layout=None):
    """One episode; returns the last step's infos, every step's terminations/truncations, the closest approach (m).

    The closest approach is the smallest distance between two flying drones after any step, and 0 once
    two drones have collided (they are parked on that step, so their last distance is not seen).
    """
    env.reset(seed=seed)
    if layout is not None:
        layout(env)
    expert.reset(env.num_drones)
    closest, ends, infos = math.inf, {}, {}
    while env.agents:
        _, _, terminations, truncations, infos = env.step(actions_of(env, expert.act()))
        ends.update({n: (terminations[n], truncations[n]) for n in terminations if terminations[n] or truncations[n]})
        flying = [env.sim.states[env.possible_agents.index(n)].pos_m for n in env.agents]
        for p, q in itertools.combinations(flying, 2):
            closest = min(closest, float(np.linalg.norm(p - q)))
    return infos, ends, (0.0 if env.collisions else closest)


@pytest.mark.parametrize("ctor", [multi_follow, multi_fly_to_target], ids=["multi-follow", "multi-fly-to-target"])
def test_team_succeeds_on_nominal_episodes_with_four_drones(ctor):
    env = ctor(num_drones=4, obs="kin")
    expert = TeamExpert(env)
    for seed in (100, 101, 102):
        infos, ends, closest = fly(env, expert, seed)
        assert set(infos) and all(info["team_success"] is True for info in infos.values()), seed
        assert all(info["collisions"] == 0 for info in infos.values())
        assert env.team_success and all(env.agent_success.values())
        assert set(ends) == set(env.possible_agents)
        if env.SUCCESS_TERMINATES:  # reaching: each drone terminates on arrival, before the time limit
            assert all(term and not trunc for term, trunc in ends.values())
            assert max(info["time_s"] for info in infos.values()) < env.scenario.episode_len_s
        else:  # following: every follower flies the whole episode and is truncated at the end
            assert all(trunc and not term for term, trunc in ends.values())
            assert all(info["time_s"] == pytest.approx(env.scenario.episode_len_s) for info in infos.values())
        assert closest > 0.5 * AvoidanceConfig().avoid_radius_m
    env.close()


def test_actions_come_in_agent_order_and_head_for_each_agents_own_goal():
    env = multi_fly_to_target(num_drones=4)
    expert = TeamExpert(env)
    env.reset(seed=3)
    expert.reset(4)
    rows = expert.act()
    assert rows.shape == (4, 4) and rows.dtype == np.float32 and np.all(np.abs(rows) <= 1)
    cosines = np.zeros((4, 4))  # [drone, goal of drone]
    for i, j in itertools.product(range(4), range(4)):
        s = env.sim.states[i]
        d = (s.R.T @ (env.targets_m[j] - s.pos_m))[:2]
        cosines[i, j] = rows[i, :2] @ d / (np.linalg.norm(rows[i, :2]) * np.linalg.norm(d))
    assert np.all(np.diag(cosines) > 0.99)  # straight at its own target (the others are far from this line)
    assert np.all(cosines[~np.eye(4, dtype=bool)] < np.diag(cosines).min())
    with pytest.raises(ValueError, match="num_envs=4"):
        expert.reset(num_envs=2)
    env.close()


def test_avoidance_pushes_away_turned_right_and_separates_vertically():
    cfg = AvoidanceConfig()
    here = np.array([0.0, 0.0, 1.0])
    gap = 0.5 * cfg.avoid_radius_m
    v = avoidance_velocity(here, np.array([[gap, 0.0, 0.9]]), cfg)  # the other drone ahead (+x), a bit lower
    push = (cfg.avoid_radius_m - math.hypot(gap, 0.1)) / cfg.avoid_radius_m
    away = math.radians(180.0 - cfg.avoid_turn_deg)  # straight away (-x), turned to the right (clockwise)
    np.testing.assert_allclose(v, [cfg.avoid_gain * push * math.cos(away), cfg.avoid_gain * push * math.sin(away),
                                   cfg.vertical_gain * push], atol=1e-12)
    below = avoidance_velocity(np.array([gap, 0.0, 0.9]), here[None], cfg)
    assert below[2] == pytest.approx(-v[2])  # the lower drone moves down, the higher one up
    assert not avoidance_velocity(here, np.array([[cfg.avoid_radius_m + 0.01, 0.0, 1.0]]), cfg).any()
    assert not avoidance_velocity(here, np.array([[gap, 0.0, 0.9]]), NO_AVOIDANCE).any()


def crossing(env):
    """Drone 0 and drone 1 fly to targets beyond each other's start: their paths cross halfway, at one height."""
    a, b = env.sim.states[0].pos_m.copy(), env.sim.states[1].pos_m.copy()
    yaw = yaw_of(env.sim.states[0].R)
    ahead = 1.5 * np.array([math.cos(yaw), math.sin(yaw), 0.0])
    env.targets_m[0], env.targets_m[1] = b + ahead, a + ahead
    env.targets_m[:, 2] = 0.5 * (a[2] + b[2])


def blocked(env):
    """Drone 1 hovers on the straight path of drone 0 to its target 3 m ahead (drone 1 is given zero actions)."""
    s = env.sim.states[0]
    yaw = yaw_of(s.R)
    ahead = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    env.targets_m[0] = s.pos_m + 3.0 * ahead
    env.sim.world.reset_drone(1, RigidBodyState.at_rest(s.pos_m + 1.5 * ahead, env.sim.states[1].quat_xyzw))
    env.sim.states[1] = env.sim.world.drone_state(1)


class HoldingDrone1(TeamExpert):
    def act(self, obs=None, episode_start=None):
        rows = super().act(obs, episode_start)
        rows[1] = 0.0
        return rows


@pytest.mark.parametrize("layout, expert_class, seeds", [(crossing, TeamExpert, (0, 1, 2)),
                                                         (blocked, HoldingDrone1, (0,))], ids=["crossing", "blocked"])
def test_avoidance_keeps_drones_further_apart_than_without_it(layout, expert_class, seeds):
    env = multi_fly_to_target(num_drones=2)
    avoiding, ignoring = expert_class(env), expert_class(env, avoidance=NO_AVOIDANCE)
    for seed in seeds:
        _, _, with_avoidance = fly(env, avoiding, seed, layout)
        collisions = env.collisions
        _, _, without = fly(env, ignoring, seed, layout)
        assert without < AvoidanceConfig().avoid_radius_m  # the layout brings the drones close
        assert with_avoidance > without, seed
        assert collisions <= env.collisions
    if layout is blocked:  # flying straight through a hovering drone hits it; swerving around it does not
        assert env.collisions == 1 and collisions == 0
    env.close()
