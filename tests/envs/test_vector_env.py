"""The vectorised explicit backend against the PyBullet env: trajectories, rules, autoreset, seeds, bad input."""

import copy
import math

import gymnasium as gym
import numpy as np
import pytest

from ltc_drones.sim import QuadrotorParams, RigidBodyState, SimClock, Simulation, euler_to_quat
from ltc_drones.sim.explicit import BatchQuadrotor
from ltc_drones.tasks import make_env, make_expert


def make_vector(task, **kwargs):
    return make_env(task, backend="vector", **kwargs)


POS_TOL_M = 1e-6
LOADED = 1  # the env index the PyBullet episode is copied into; the others fly their own episodes


def pybullet_episode(task, seed, policy="expert", act="vel", scenario="nominal", max_steps=700, **env_kwargs):
    """Fly one PyBullet episode; return what the vector env needs to replay it and what happened."""
    env = make_env(task, obs="kin", act=act, scenario=scenario, **env_kwargs)
    base = env.unwrapped
    obs, _ = env.reset(seed=seed)
    fields = {}
    if task == "hover":
        fields["goal_m"] = base.hold_pos_m.copy()
    elif task == "hiking":
        fields["markers_m"] = base.markers_m.copy()
    else:
        fields["goal_m"] = base.target_pos_m.copy()
    if task == "follow-target":  # the normals the target stream will draw, one per control step
        fields.update(path=copy.deepcopy(base.path), turn_noise=copy.deepcopy(base.rngs.target).standard_normal(700))
    if base.scenario.wind_gust_std_mps:
        fields.update(gust_mps=base.sim.wind._gust.copy(),
                      gust_noise=copy.deepcopy(base.rngs.wind).standard_normal((700, 3)))
    if base.scenario.motor_weakness:
        fields["weak_rotor"] = base.shifts.motor.rotor
    start = copy.deepcopy(base.state)
    expert = make_expert(env) if isinstance(policy, str) else None
    if expert is not None:
        expert.reset()
    rec = {"obs0": obs, "actions": [], "pos": [], "obs": [], "reward": [], "terminated": [], "truncated": [],
           "info": []}
    for _ in range(max_steps):
        a = expert.act(obs) if expert is not None else np.asarray(policy, dtype=np.float32)
        obs, reward, terminated, truncated, info = env.step(a)
        for key, value in (("actions", a), ("pos", base.state.pos_m.copy()), ("obs", obs), ("reward", reward),
                           ("terminated", terminated), ("truncated", truncated), ("info", info)):
            rec[key].append(value)
        if terminated or truncated:
            break
    env.close()
    return start, fields, rec


def replay(task, start, fields, actions, act="vel", scenario="nominal", num_envs=3, **env_kwargs):
    """The same commands in a vector env (the episode loaded into env ``LOADED``; the others fly zeros)."""
    venv = make_vector(task, num_envs=num_envs, act=act, scenario=scenario, seed=7, **env_kwargs)
    venv.reset()
    out = {"obs0": venv.load_episode(LOADED, start, **fields), "pos": [], "obs": [], "reward": [], "terminated": [],
           "truncated": [], "info": []}
    batch = np.zeros((num_envs, 4), dtype=np.float32)
    for a in actions:
        batch[LOADED] = a
        obs, reward, terminated, truncated, info = venv.step(batch)
        for key, value in (("pos", venv.positions_m[LOADED]), ("obs", obs[LOADED]), ("reward", reward[LOADED]),
                           ("terminated", terminated[LOADED]), ("truncated", truncated[LOADED]),
                           ("info", {k: v[LOADED] for k, v in info.items()})):
            out[key].append(value)
    return out


def assert_same_episode(pb, vec, check_last_pos=True):
    """Trajectory within POS_TOL_M, the same observations and rewards, and the same end, step by step."""
    np.testing.assert_allclose(vec["obs0"], pb["obs0"], atol=1e-6)
    steps = len(pb["pos"])
    last = steps if check_last_pos else steps - 1
    err = np.abs(np.array(vec["pos"][:last]) - np.array(pb["pos"][:last])).max(initial=0.0)
    assert err < POS_TOL_M
    np.testing.assert_allclose(np.array(vec["obs"][:last]), np.array(pb["obs"][:last]), atol=1e-5)
    np.testing.assert_allclose(vec["reward"][:last], pb["reward"][:last], atol=1e-6)
    assert vec["terminated"] == pb["terminated"] and vec["truncated"] == pb["truncated"]
    for key in ("is_success", "crashed", "out_of_bounds", "target_in_view"):
        assert [bool(i[key]) for i in vec["info"]] == [bool(i[key]) for i in pb["info"]], key
    for key, value in pb["info"][-1].items():  # every key the PyBullet env reports, the vector env reports
        assert key in vec["info"][-1], key
        if key.startswith("reward_") and check_last_pos:
            assert vec["info"][-1][key] == pytest.approx(value, abs=1e-6), key


@pytest.mark.parametrize("task, seed", [("hover", 0), ("fly-to-target", 1), ("follow-target", 2), ("hiking", 3)])
def test_expert_episode_matches_the_pybullet_env(task, seed):
    """Every task's dynamics, observations, rewards, success and time limit, over a whole expert episode."""
    start, fields, pb = pybullet_episode(task, seed)
    assert len(pb["pos"]) >= 30  # at least 1 s flown
    assert pb["info"][-1]["is_success"]
    vec = replay(task, start, fields, pb["actions"])
    assert_same_episode(pb, vec)
    if task == "follow-target":
        assert vec["info"][-1]["lost_s"] == pytest.approx(pb["info"][-1]["lost_s"])
        assert vec["info"][-1]["tracked_fraction"] == pytest.approx(pb["info"][-1]["tracked_fraction"])


@pytest.mark.parametrize("act, action, ending", [
    ("vel", (0.0, 0.0, -1.0, 0.0), "crashed"),               # down into the ground
    ("vel", (0.5, 0.2, -0.5, 1.0), "crashed"),               # obliquely into the ground, turning
    ("vel", (0.0, 0.0, 1.0, 0.0), "out_of_bounds"),          # up through the ceiling
    ("rpm", (0.5, -0.2, 0.5, -0.2), "crashed"),              # spins up to PyBullet's 100 rad/s clamp, sinks
    ("rpm", (0.2, 0.2, 0.35, 0.35), "crashed"),              # rolls beyond 80° (tilt)
    ("ctbr", (0.1, 0.3, 0.0, 0.0), "crashed"),               # rolls beyond 80° under a roll-rate command
])
def test_crash_rules_agree_with_the_pybullet_env(act, action, ending):
    start, fields, pb = pybullet_episode("fly-to-target", 5, policy=action, act=act, max_steps=200)
    assert pb["terminated"][-1] and pb["info"][-1][ending]
    vec = replay("fly-to-target", start, fields, pb["actions"], act=act)
    # The crash step itself differs by PyBullet's contact impulse, which the vector backend does not apply.
    assert_same_episode(pb, vec, check_last_pos=ending != "crashed")
    assert np.abs(vec["pos"][-1] - pb["pos"][-1]).max() < 3e-3


@pytest.mark.parametrize("scenario, env_kwargs", [
    ("wind-gusts@5", {}), ("latency@3", {}), ("motor-weakness@5", {}),
    ("nominal", {"params": QuadrotorParams(motor_tau_s=0.03)}),  # first-order motor lag
    ("nominal", {"physics_hz": 300, "ctrl_hz": 50}),
])
def test_physical_shifts_and_settings_match_the_pybullet_env_over_1_s(scenario, env_kwargs):
    steps = int(env_kwargs.get("ctrl_hz", 30))
    start, fields, pb = pybullet_episode("fly-to-target", 4, scenario=scenario, max_steps=steps, **env_kwargs)
    vec = replay("fly-to-target", start, fields, pb["actions"], scenario=scenario, **env_kwargs)
    assert_same_episode(pb, vec)


@pytest.mark.parametrize("roll, pitch", [(0.0, 0.0), (0.3, 0.06), (1.0, 0.2), (2.0, -0.4)])
def test_ground_contact_is_where_pybullet_reports_it(roll, pitch):
    """Bisect the height at which PyBullet first reports a contact; the batched test flips at the same height."""
    p = QuadrotorParams()
    sim = Simulation(p, 1, SimClock(240, 30))
    quad = BatchQuadrotor(p, 1 / 240, None, 1)
    quat = euler_to_quat(roll, pitch, 0.5)

    def contact_both(z):
        state = RigidBodyState(np.array([0.0, 0.0, z]), quat, np.zeros(3), np.zeros(3))
        sim.reset([state], np.random.default_rng(0))
        quad.reset(np.array([0]), state.pos_m[:, None], quat[:, None], np.zeros((3, 1)), np.zeros((3, 1)))
        predicted = bool(quad.in_contact()[0])
        sim.physics_step(np.full((1, 4), p.hover_rpm))
        return sim.world.in_contact(0), predicted

    lo, hi = 0.0, 0.2  # contact at lo, none at hi
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if contact_both(mid)[0] else (lo, mid)
    for z in (lo - 2e-7, hi + 2e-7, lo - 1e-3, hi + 1e-3):
        pybullet, batched = contact_both(z)
        assert pybullet == batched, z
    sim.close()


def test_is_a_gymnasium_vector_env_with_batched_spaces_and_info_arrays():
    env = make_vector("follow-target", num_envs=5, seed=0)
    assert isinstance(env, gym.vector.VectorEnv)
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert env.single_observation_space.shape == (16,) and env.single_action_space.shape == (4,)
    assert env.observation_space.shape == (5, 16) and env.action_space.shape == (5, 4)
    obs, info = env.reset()
    assert obs.dtype == np.float32 and env.observation_space.contains(obs)
    assert info["target_in_view"].all() and not info["is_success"].any()
    assert "reward_progress" not in info  # reset infos carry no reward terms, as the PyBullet env's
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs) and reward.shape == (5,) and terminated.dtype == bool
    for key in ("is_success", "distance_m", "target_in_view", "crashed", "out_of_bounds", "time_s",
                "reward_progress", "reward_heading", "reward_track", "reward_success", "reward_crash",
                "tracked_fraction", "lost_s"):
        assert info[key].shape == (5,) and info[f"_{key}"].all(), key
    assert info["time_s"] == pytest.approx(np.full(5, 1 / 30))
    terms = sum(info[k] for k in info if k.startswith("reward_") and not k.startswith("_"))
    np.testing.assert_allclose(terms, reward)


def test_layouts_follow_the_task_distributions():
    env = make_vector("hiking", num_envs=200, seed=1)
    obs, info = env.reset()
    pos, s = env.positions_m, env.scenario
    assert (np.abs(pos[:, :2]) <= 1.0).all() and (pos[:, 2] >= s.start_height_m[0]).all()
    assert (pos[:, 2] <= s.start_height_m[1]).all()
    markers = env.task.markers_m  # (M, 3, N)
    first = np.linalg.norm(markers[0, :2] - pos[:, :2].T, axis=0)
    assert (first >= s.start_distance_m[0] - 1e-9).all() and (first <= s.start_distance_m[1] + 1e-9).all()
    legs = np.linalg.norm(np.diff(markers[:, :2], axis=0), axis=1)
    assert (legs >= s.marker_spacing_m[0] - 1e-9).all() and (legs <= s.marker_spacing_m[1] + 1e-9).all()
    assert info["target_in_view"].all()
    hover = make_vector("hover", num_envs=200, seed=1)
    hover.reset()
    d = np.linalg.norm(hover.goals_m - hover.positions_m, axis=1)
    assert (d >= 0.1 - 1e-9).all() and (d <= 0.3 + 1e-9).all()
    assert np.unique(np.round(d, 6)).size > 150  # every env index draws its own layout


def test_next_step_autoreset_restarts_only_the_ended_envs():
    env = make_vector("fly-to-target", num_envs=4, seed=3)
    obs, _ = env.reset()
    first_goal = obs[:, :3].copy()
    down = np.array([0.0, 0.0, -1.0, 0.0], np.float32)
    ended = np.zeros(4, dtype=bool)
    restarted = []
    for k in range(200):
        actions = np.tile(down, (4, 1))
        actions[0] = 0.0  # env 0 hovers and keeps its episode
        actions[ended] = 0.7  # ignored: these envs start over on this step
        obs, reward, terminated, truncated, info = env.step(actions)
        for i in np.flatnonzero(ended):
            restarted.append(i)
            assert reward[i] == 0.0 and not terminated[i] and not truncated[i] and info["time_s"][i] == 0.0
            assert not info["_reward_progress"][i] and info["_distance_m"][i]
            np.testing.assert_array_equal(obs[i, 3:6], 0.0)  # at rest, level, no previous action
            np.testing.assert_allclose(obs[i, 6:9], [0.0, 0.0, -1.0], atol=1e-12)
            np.testing.assert_array_equal(obs[i, 12:], 0.0)
            assert not np.allclose(obs[i, :3], first_goal[i])  # a new world
        for i in np.flatnonzero(terminated):
            assert info["crashed"][i] and reward[i] < -9.0
        assert info["time_s"][0] == pytest.approx((k + 1) / 30) and info["_reward_progress"][0]
        ended = terminated | truncated
        if len(set(restarted)) == 3:
            break
    assert sorted(set(restarted)) == [1, 2, 3]
    np.testing.assert_allclose(obs[0, 12:], 0.0)


def test_same_seed_same_episodes_different_seeds_differ():
    def run(seed):
        env = make_vector("follow-target", num_envs=6, seed=seed)
        obs, _ = env.reset()
        rng = np.random.default_rng(0)
        trace = [obs]
        for _ in range(40):
            obs, reward, *_ = env.step(rng.uniform(-1, 1, (6, 4)).astype(np.float32))
            trace += [obs, reward]
        return trace, env

    a, env = run(11)
    b, _ = run(11)
    c, _ = run(12)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0])
    assert len({tuple(np.round(row[:3], 5)) for row in a[0]}) == 6  # each env index its own world
    again, _ = env.reset(seed=11)
    np.testing.assert_array_equal(again, a[0])


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="unknown task 'cartpole'.*valid tasks: hover"):
        make_vector("cartpole", num_envs=2)
    with pytest.raises(ValueError, match="no camera.*obs='kin'"):
        make_vector("fly-to-target", num_envs=2, obs="rgb")
    for n in (0, -3, 2.5):
        with pytest.raises(ValueError, match="num_envs must be a whole number >= 1"):
            make_vector("fly-to-target", num_envs=n)
    with pytest.raises(ValueError, match="unknown action mode 'torque'"):
        make_vector("hover", num_envs=2, act="torque")
    with pytest.raises(ValueError, match="occluders"):
        make_vector("fly-to-target", num_envs=2, scenario="occluders@3")
    with pytest.raises(ValueError, match="unknown reward weight"):
        make_vector("hover", num_envs=2, reward_weights={"heading": 1.0})
    env = make_vector("hover", num_envs=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, 4)))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        env.step(np.zeros(4))
    before = env.positions_m
    with pytest.raises(ValueError, match="finite.*envs \\[1\\]"):
        env.step(np.array([[0.0, 0, 0, 0], [math.nan, 0, 0, 0]]))
    np.testing.assert_array_equal(env.positions_m, before)


def test_make_vector_accepts_gymnasium_ids():
    env = make_vector("ltc_drones/Hover-v0", num_envs=2, seed=0)
    assert env.task_name == "hover"


def test_the_vector_backend_is_a_gymnasium_vector_env_made_by_the_registry():
    import gymnasium as gym

    import ltc_drones.envs as envs

    assert envs.make_env is make_env
    env = make_vector("fly-to-target", num_envs=3, seed=0)
    assert isinstance(env, gym.vector.VectorEnv) and env.num_envs == 3
    with pytest.raises(ValueError, match="vector backend has no task 'multi-follow'"):
        make_vector("multi-follow", num_envs=2)
