"""The multi-agent PettingZoo envs: API, determinism across observation modes, the observation layout,
drone-drone collisions, per-agent termination and parking, downwash between agents, bad input."""

import math
import warnings

import numpy as np
import pybullet as pb
import pytest
from pettingzoo.test import parallel_api_test

from ltc_drones.control.team_expert import TeamExpert
from ltc_drones.envs.camera import CameraConfig
from ltc_drones.envs.multi import (
    MULTI_KIN_DIM,
    multi_fly_to_target,
    multi_follow,
)
from ltc_drones.envs.observations import PROPRIO_DIM
from ltc_drones.sim.forces import ForceConfig, downwash_force_world_n
from ltc_drones.sim.state import RigidBodyState
from ltc_drones.sim.world import HIDDEN_POS_M
from ltc_drones.tasks import MAX_DRONES, MIN_DRONES, make_env

CTORS = {"multi-follow": multi_follow, "multi-fly-to-target": multi_fly_to_target}
TASKS = list(CTORS)


def actions_of(env, rows) -> dict:
    """An action dict for the live agents from per-drone rows (num_drones, 4)."""
    return {name: rows[env.possible_agents.index(name)] for name in env.agents}


def hover(env) -> dict:
    return {name: np.zeros(4, dtype=np.float32) for name in env.agents}


def positions(env) -> np.ndarray:
    return np.stack([s.pos_m for s in env.sim.states])


def teleport(env, i: int, pos_m) -> None:
    """Put drone ``i`` at rest at ``pos_m`` with its attitude kept, and refresh the env's view of it."""
    env.sim.world.reset_drone(i, RigidBodyState.at_rest(np.asarray(pos_m, dtype=float), env.sim.states[i].quat_xyzw))
    env.sim.states[i] = env.sim.world.drone_state(i)


def body_pos(env, body: int) -> np.ndarray:
    return np.array(pb.getBasePositionAndOrientation(body, physicsClientId=env.sim.world.cid)[0])


# ---- 1. the PettingZoo API --------------------------------------------------------------------
@pytest.mark.parametrize("obs", ["kin", "rgb"])
@pytest.mark.parametrize("num_drones", [2, 4])
@pytest.mark.parametrize("task", TASKS)
def test_parallel_api_test_passes_and_spaces_hold_what_the_env_returns(task, num_drones, obs):
    env = CTORS[task](num_drones=num_drones, obs=obs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(env, num_cycles=30)
    api_warnings = [str(w.message) for w in caught if "pettingzoo" in w.filename]
    assert not api_warnings  # the checker only warns about agents missing from the returned dicts
    assert env.possible_agents == [f"drone_{i}" for i in range(num_drones)]
    observations, infos = env.reset(seed=0)
    assert set(observations) == set(infos) == set(env.agents) == set(env.possible_agents)
    rng = np.random.default_rng(0)
    for _ in range(3):
        for name, o in observations.items():
            assert env.observation_space(name).contains(o), name
        act = {name: rng.uniform(-1, 1, 4).astype(np.float32) for name in env.agents}
        assert all(env.action_space(name).contains(a) for name, a in act.items())
        observations, *_ = env.step(act)
    env.close()


# ---- 2. determinism ---------------------------------------------------------------------------
def fly_expert(task, obs, seed, steps=30, num_drones=3, scenario="wind-gusts"):
    """The team expert's flight: positions (steps + 1, N, 3), then per-step observations and rewards."""
    env = CTORS[task](num_drones=num_drones, obs=obs, scenario=scenario)
    expert = TeamExpert(env)
    observations, _ = env.reset(seed=seed)
    expert.reset(num_drones)
    track, seen, rewarded = [positions(env)], [observations], []
    for _ in range(steps):
        observations, rewards, *_ = env.step(actions_of(env, expert.act()))
        track.append(positions(env))
        seen.append(observations)
        rewarded.append(rewards)
        if not env.agents:
            break
    env.close()
    return np.stack(track), seen, rewarded


def same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


@pytest.mark.parametrize("task", TASKS)
def test_one_seed_is_one_world_in_every_observation_mode(task):
    # wind gusts: the dynamics draw random numbers too, not only the layout
    runs = {obs: fly_expert(task, obs, seed=7) for obs in ("kin", "rgb", "rgb_kin")}
    track = runs["kin"][0]
    assert len(track) == 31 and np.ptp(track[:, :, :2], axis=0).max() > 0.1  # the drones did move
    for obs in ("rgb", "rgb_kin"):
        assert np.array_equal(runs[obs][0], track), obs
    # the parts of rgb_kin are the rgb image and the kin vector's proprioception
    for kin, rgb, both in zip(*(runs[m][1] for m in ("kin", "rgb", "rgb_kin")), strict=True):
        assert kin.keys() == rgb.keys() == both.keys()
        for name in both:
            assert np.array_equal(both[name]["rgb"], rgb[name])
            assert np.array_equal(both[name]["kin"], kin[name][9:])


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_observations_and_different_seeds_differ(task):
    a, b = fly_expert(task, "rgb", seed=3, steps=10, scenario="camera-noise"), fly_expert(
        task, "rgb", seed=3, steps=10, scenario="camera-noise")
    assert np.array_equal(a[0], b[0])
    assert all(same(x, y) for x, y in zip(a[1] + a[2], b[1] + b[2], strict=True))
    env = CTORS[task](num_drones=3)

    def layout(seed=None):
        env.reset(seed=seed)
        return np.concatenate([positions(env), [env.agent_views[n].goal_pos_m for n in env.possible_agents]])

    first, second, other = layout(3), layout(), layout(4)
    assert not np.allclose(first, other) and not np.allclose(first, second)
    assert np.array_equal(layout(3), first) and np.array_equal(layout(), second)  # reset() continues the seed
    env.close()


# ---- 3. observations --------------------------------------------------------------------------
@pytest.mark.parametrize("task", TASKS)
def test_kin_vector_is_goal_look_at_nearest_drone_and_proprioception(task):
    env = CTORS[task](num_drones=3, obs="kin")
    expert = TeamExpert(env)
    env.reset(seed=2)
    expert.reset(3)
    assert env.observation_space("drone_0").shape == (MULTI_KIN_DIM,) == (9 + PROPRIO_DIM,) == (22,)
    for _ in range(12):
        act = actions_of(env, expert.act())
        observations, *_ = env.step(act)
    checked = 0
    for name, o in observations.items():
        i = env.possible_agents.index(name)
        s = env.sim.states[i]
        R = s.R
        if task == "multi-fly-to-target":
            goal, look = env.targets_m[i], env.targets_m[i]
        else:
            goal, look = env.agent_views[name].goal_pos_m, env.path.pos_m
            assert np.linalg.norm(goal - look) > 0.5  # the slot is not the leader: the entries differ
        others = [env.sim.states[env.possible_agents.index(n)].pos_m for n in env.agents if n != name]
        nearest = min(others, key=lambda p: np.linalg.norm(p - s.pos_m))
        expected = np.concatenate([
            R.T @ (goal - s.pos_m) / 5.0, R.T @ (look - s.pos_m) / 5.0, R.T @ (nearest - s.pos_m) / 5.0,
            R.T @ s.vel_world_mps / 2.0, R.T @ np.array([0.0, 0.0, -1.0]), R.T @ s.omega_world_radps / 10.0,
            np.clip(act[name], -1, 1)])
        assert o.shape == (22,) and o.dtype == np.float32
        np.testing.assert_allclose(o, expected, atol=1e-6)
        assert abs(R[2, 2]) < 1 - 1e-6  # tilted: the body frame is not the world frame
        checked += 1
    assert checked == 3
    env.close()


@pytest.mark.parametrize("task", TASKS)
def test_image_observations_have_the_camera_shape(task):
    cam = CameraConfig()
    rgb_env, both_env = CTORS[task](num_drones=2, obs="rgb"), CTORS[task](num_drones=2, obs="rgb_kin")
    assert rgb_env.observation_space("drone_1").shape == (cam.height, cam.width, 3) == (48, 64, 3)
    assert rgb_env.observation_space("drone_1").dtype == np.uint8
    space = both_env.observation_space("drone_1")
    assert set(space.spaces) == {"rgb", "kin"} and space["kin"].shape == (PROPRIO_DIM,)
    rgb, _ = rgb_env.reset(seed=1)
    both, _ = both_env.reset(seed=1)
    for name in rgb_env.possible_agents:
        assert rgb[name].shape == (48, 64, 3) and rgb[name].dtype == np.uint8 and rgb[name].std() > 0
        assert both[name]["kin"].dtype == np.float32 and space.contains(both[name])
    rgb_env.close(), both_env.close()


def test_onboard_camera_sees_the_other_drones():
    env = multi_fly_to_target(num_drones=2, obs="rgb")
    env.reset(seed=0)
    s = env.sim.states[0]
    ahead = s.pos_m + 0.5 * s.R[:, 0]  # half a metre along drone_0's nose
    teleport(env, 1, ahead)
    seen, _ = env.onboard_camera(0, postprocess=False)
    teleport(env, 1, s.pos_m - 0.5 * s.R[:, 0])  # behind it
    unseen, _ = env.onboard_camera(0, postprocess=False)
    changed = np.any(seen != unseen, axis=2)
    assert changed.sum() >= 20  # a 12 cm drone at 0.5 m spans about 12 px across
    env.close()


# ---- 4. collisions ----------------------------------------------------------------------------
@pytest.mark.parametrize("task", TASKS)
def test_touching_drones_both_crash_and_count_one_collision(task):
    env = CTORS[task](num_drones=3)
    env.reset(seed=0)
    teleport(env, 1, env.sim.states[0].pos_m + [0.05, 0.0, 0.0])  # the 6 cm radius cylinders overlap
    _, rewards, terminations, truncations, infos = env.step(hover(env))
    crash = env.reward_weights["crash"]
    for name in ("drone_0", "drone_1"):
        assert terminations[name] and not truncations[name]
        assert infos[name]["collided"] and infos[name]["crashed"] and not infos[name]["is_success"]
        assert infos[name]["reward_crash"] == -crash
        assert rewards[name] == pytest.approx(sum(v for k, v in infos[name].items() if k.startswith("reward_")))
        assert rewards[name] < -crash / 2
    assert not terminations["drone_2"] and not infos["drone_2"]["collided"] and infos["drone_2"]["reward_crash"] == 0
    assert env.collisions == 1
    assert env.agents == ["drone_2"]
    assert "team_success" not in infos["drone_2"]  # the episode goes on for drone_2
    env.close()


def test_two_separate_collisions_on_one_step_count_two():
    env = multi_fly_to_target(num_drones=4)
    env.reset(seed=0)
    teleport(env, 1, env.sim.states[0].pos_m + [0.05, 0.0, 0.0])
    teleport(env, 3, env.sim.states[2].pos_m + [0.0, 0.05, 0.0])
    _, _, terminations, _, infos = env.step(hover(env))
    assert all(terminations.values()) and all(info["collided"] for info in infos.values())
    assert env.collisions == 2 and not env.agents
    assert all(info["collisions"] == 2 and info["team_success"] is False for info in infos.values())
    env.close()


def test_a_chain_of_three_touching_drones_counts_two_pairs():
    env = multi_fly_to_target(num_drones=3)
    env.reset(seed=0)
    p = env.sim.states[0].pos_m
    teleport(env, 1, p + [0.1, 0.0, 0.0])  # touches drone 0 and drone 2 (drone radius 0.06 m)
    teleport(env, 2, p + [0.2, 0.0, 0.0])  # 0.2 m from drone 0: no contact between 0 and 2
    _, _, terminations, _, infos = env.step(hover(env))
    assert all(terminations.values()) and all(info["collided"] for info in infos.values())
    assert env.collisions == 2
    env.close()


def test_drones_flown_into_each_other_collide():
    env = multi_fly_to_target(num_drones=2)
    env.reset(seed=1)
    for _ in range(60):
        rows = np.zeros((2, 4), dtype=np.float32)
        for i, j in ((0, 1), (1, 0)):
            s = env.sim.states[i]
            d_body = s.R.T @ (env.sim.states[j].pos_m - s.pos_m)
            rows[i, :2] = d_body[:2] / np.linalg.norm(d_body[:2])  # full speed at the other drone
            rows[i, 2] = np.clip(3.0 * d_body[2], -1, 1)  # and to its height
        _, rewards, terminations, _, infos = env.step(actions_of(env, rows))
        if any(terminations.values()):
            break
    assert terminations == {"drone_0": True, "drone_1": True}
    assert all(info["collided"] and info["crashed"] for info in infos.values())
    assert all(r < 0 for r in rewards.values())
    assert env.collisions == 1 and not env.agents
    assert all(info["collisions"] == 1 and info["team_success"] is False for info in infos.values())
    env.close()


# ---- 5. per-agent termination -----------------------------------------------------------------
def test_an_agent_that_reaches_its_target_is_done_and_parked_while_the_others_fly_on():
    env = multi_fly_to_target(num_drones=3)
    expert = TeamExpert(env)
    env.reset(seed=5)
    expert.reset(3)
    far_m = env.camera.config.far_m
    done: list[str] = []
    for _ in range(int(env.scenario.episode_len_s * env.metadata["render_fps"])):
        live_before = list(env.agents)
        rows = expert.act()
        for name in done:  # rows of done agents are zeros
            assert not rows[env.possible_agents.index(name)].any()
        observations, rewards, terminations, truncations, infos = env.step(actions_of(env, rows))
        assert set(observations) == set(rewards) == set(terminations) == set(infos) == set(live_before)
        finished = [n for n in live_before if terminations[n]]
        for name in finished:
            i = env.possible_agents.index(name)
            assert infos[name]["is_success"] and not infos[name]["crashed"] and not truncations[name]
            assert infos[name]["distance_m"] <= env.scenario.success_radius_m
            assert infos[name]["reward_success"] == env.reward_weights["success"]
            assert name not in env.agents and not env.agent_views[name].active
            assert np.allclose(body_pos(env, env.target_ids[i]), HIDDEN_POS_M)  # its target vanished
            parked = env.sim.states[i].pos_m
            for other in env.agents:
                j = env.possible_agents.index(other)
                assert np.linalg.norm(env.sim.states[j].pos_m - parked) > far_m  # unseen
                assert not np.any(np.all(np.isclose(env.agent_views[other].other_positions_m(), parked), axis=1))
        if finished and not done:
            assert env.agents, "pick a seed where the drones arrive on different steps"
            first, parked_at = finished[0], positions(env)[env.possible_agents.index(finished[0])]
        done += finished
        if done:
            here = env.sim.states[env.possible_agents.index(first)]
            assert np.linalg.norm(here.pos_m - parked_at) < 1e-3 and np.linalg.norm(here.vel_world_mps) < 0.05
        if len(live_before) == 1 and env.agents:  # no other drone flies: the nearest-drone entry points 50 m up
            (name,) = env.agents
            s = env.sim.states[env.possible_agents.index(name)]
            assert np.allclose(observations[name][6:9], np.clip(s.R.T @ [0.0, 0.0, 50.0] / 5.0, -10, 10), atol=1e-5)
        if not env.agents:
            break
    assert len(done) == 3 and not env.agents
    assert all(info["team_success"] is True and info["collisions"] == 0 for info in infos.values())
    assert env.team_success and all(env.agent_success.values())
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.reset(seed=6)  # everything comes back for the next episode
    assert env.agents == env.possible_agents
    assert np.all(np.abs(positions(env)) < 10) and all(env.agent_views[n].active for n in env.agents)
    for i, body in enumerate(env.target_ids):
        assert np.allclose(body_pos(env, body), env.targets_m[i])
    env.close()


def test_step_before_reset_is_refused():
    env = multi_follow(num_drones=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.close()


# ---- 6. downwash between agents ---------------------------------------------------------------
def stacked_accelerations(forces: ForceConfig | None):
    """Vertical accelerations (m/s²) of the lower and upper drone over one control step, 0.5 m apart."""
    env = multi_fly_to_target(num_drones=2, forces=forces)
    env.reset(seed=0)
    low = np.array([0.0, 0.0, 1.0])
    teleport(env, 0, low)
    teleport(env, 1, low + [0.0, 0.0, 0.5])
    v0 = np.array([s.vel_world_mps[2] for s in env.sim.states])
    env.step(hover(env))
    v1 = np.array([s.vel_world_mps[2] for s in env.sim.states])
    env.close()
    return (v1 - v0) / env.clock.ctrl_dt_s


def test_a_drone_below_another_is_pushed_down_by_its_downwash():
    with_dw, without = stacked_accelerations(None), stacked_accelerations(ForceConfig(downwash=False))
    env = multi_fly_to_target(num_drones=2)
    p = env.params
    push_mps2 = -downwash_force_world_n(p, np.array([0.0, 0.0, 1.0]), np.array([[0.0, 0.0, 1.5]]))[2] / p.mass_kg
    env.close()
    assert push_mps2 > 0
    # the lower drone drops; the controller only starts to fight it within one control step
    assert with_dw[0] < without[0] - 0.5 * push_mps2
    assert abs(with_dw[1] - without[1]) < 0.05 * push_mps2  # the upper drone feels nothing


# ---- 7. bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("num_drones", [MIN_DRONES - 1, MAX_DRONES + 1, 2.5])
@pytest.mark.parametrize("task", TASKS)
def test_num_drones_out_of_range_is_refused(task, num_drones):
    with pytest.raises(ValueError, match=f"from {MIN_DRONES} to {MAX_DRONES}"):
        CTORS[task](num_drones=num_drones)


@pytest.mark.parametrize("kwargs, match", [({"obs": "depth"}, "observation mode.*kin"),
                                           ({"act": "pos"}, "action mode.*vel"),
                                           ({"reward_weights": {"speed": 1.0}}, "speed")])
def test_unknown_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        multi_fly_to_target(num_drones=2, **kwargs)
    with pytest.raises(ValueError, match="multi-follow"):
        make_env("multi-hover")


def test_missing_or_malformed_actions_are_refused():
    env = multi_follow(num_drones=3)
    env.reset(seed=0)
    act = hover(env)
    del act["drone_1"]
    with pytest.raises(ValueError, match="drone_1"):
        env.step(act)
    with pytest.raises(ValueError, match="drone_2.*4 finite"):
        env.step({**hover(env), "drone_2": np.zeros(3)})
    with pytest.raises(ValueError, match="drone_0.*4 finite"):
        env.step({**hover(env), "drone_0": np.array([0.0, np.nan, 0.0, 0.0])})
    with pytest.raises(KeyError, match="drone_7"):
        env.observation_space("drone_7")
    env.close()


@pytest.mark.parametrize("task", TASKS)
def test_graded_shifts_load_and_act(task):
    nominal_kin, gusts = CTORS[task](num_drones=2), CTORS[task](num_drones=2, scenario="wind-gusts@3")
    assert gusts.scenario.wind_gust_std_mps > nominal_kin.scenario.wind_gust_std_mps == 0
    tracks = []
    for env in (nominal_kin, gusts):
        env.reset(seed=4)
        for _ in range(10):
            env.step(hover(env))
        tracks.append(positions(env))
        env.close()
    assert np.abs(tracks[0] - tracks[1]).max() > 1e-3  # the wind blows the drones off
    nominal_rgb, fog = CTORS[task](num_drones=2, obs="rgb"), CTORS[task](num_drones=2, obs="rgb", scenario="fog@2")
    assert fog.scenario.fog_density_per_m > nominal_rgb.scenario.fog_density_per_m == 0
    clear, foggy = nominal_rgb.reset(seed=4)[0]["drone_0"], fog.reset(seed=4)[0]["drone_0"]
    assert np.array_equal(positions(nominal_rgb), positions(fog))  # the same world, seen through fog
    assert np.abs(clear.astype(int) - foggy.astype(int)).mean() > 1.0
    nominal_rgb.close(), fog.close()


def test_render_is_a_chase_view_of_the_team():
    env = multi_follow(num_drones=2, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8 and frame.std() > 0
    assert multi_follow(num_drones=2).render() is None
    env.close()


def test_crash_on_the_ground_is_a_crash_but_not_a_collision():
    env = multi_fly_to_target(num_drones=2)
    env.reset(seed=0)
    teleport(env, 0, [*env.sim.states[0].pos_m[:2], 0.01])
    _, _, terminations, _, infos = env.step(hover(env))
    assert terminations["drone_0"] and infos["drone_0"]["crashed"] and not infos["drone_0"]["collided"]
    assert not terminations["drone_1"] and env.collisions == 0 and env.agents == ["drone_1"]
    assert math.isclose(infos["drone_0"]["reward_crash"], -env.reward_weights["crash"])
    env.close()
