"""The world's context in the envs: seeded scenery out of the flight corridor, a sky and a textured
ground, segmentation, and the shifts that act through the scene (season, scenery, fog, occluders)
or the step (latency, motor weakness)."""

import math

import numpy as np
import pybullet as pb
import pytest

from ltc_drones.envs import make_env
from ltc_drones.envs.camera import SEG_GROUND, SEG_SKY, SEG_TARGET
from ltc_drones.envs.rollout import run_episode
from ltc_drones.envs.scenery import CORRIDOR_CLEARANCE_M, SEG_SCENERY, corridor_distance
from ltc_drones.sim.rotation import tilt_of
from ltc_drones.tasks import SINGLE_TASKS, make_expert

TASKS = list(SINGLE_TASKS)


def scenery_poses(env):
    scene, cid = env.unwrapped.scene, env.unwrapped.sim.world.cid
    return [pb.getBasePositionAndOrientation(b, physicsClientId=cid) for b in scene.scenery.body_ids]


def placed_objects(env):
    """``(object, position)`` of every scenery object standing in the world (not waiting hidden)."""
    scene = env.unwrapped.scene
    return [(o, np.array(p)) for o, (p, _) in zip(scene.scenery.objects, scenery_poses(env), strict=True)
            if p[2] > -1.0]


def test_scenery_varies_with_the_seed_repeats_with_it_and_is_never_rebuilt():
    env = make_env("fly-to-target")
    cid = env.unwrapped.sim.world.cid
    env.reset(seed=1)
    bodies, first = pb.getNumBodies(physicsClientId=cid), scenery_poses(env)
    env.reset(seed=2)
    second = scenery_poses(env)
    env.reset(seed=1)
    assert scenery_poses(env) == first
    assert second != first
    assert pb.getNumBodies(physicsClientId=cid) == bodies
    assert len(first) == env.unwrapped.scenario.scenery_objects == 16


@pytest.mark.parametrize("task", TASKS)
def test_scenery_keeps_out_of_the_flight_corridor(task):
    env = make_env(task)
    base = env.unwrapped
    placed = 0
    for seed in range(25):
        env.reset(seed=seed)
        corridor = [base.state.pos_m, *base._layout_points_m()]
        for obj, p in placed_objects(env):
            placed += 1
            assert corridor_distance(p, corridor) >= CORRIDOR_CLEARANCE_M + obj.radius_m - 1e-9
            if task == "follow-target":
                assert max(abs(p[0]), abs(p[1])) >= base.scene.scenery.keep_out_half_m + obj.radius_m
    assert placed >= 0.8 * 25 * base.scenario.scenery_objects  # most objects find a spot


def test_follow_targets_stay_well_inside_the_scenery_free_square():
    """The target's path does not depend on the drone: advance it alone over many seeds."""
    env = make_env("follow-target")
    base = env.unwrapped
    reach = 0.0
    for seed in range(150):
        env.reset(seed=seed)
        for _ in range(round(base.scenario.episode_len_s / base.clock.ctrl_dt_s)):
            base._task_advance(base.clock.ctrl_dt_s)
            reach = max(reach, abs(base.target_pos_m[0]), abs(base.target_pos_m[1]))
    # The drone trails the target by about 1 m; the objects' radii come on top of the square.
    assert reach < base.scene.scenery.keep_out_half_m - 1.2


@pytest.mark.parametrize("task", TASKS)
def test_scenery_never_blocks_the_expert(task):
    env = make_env(task)
    expert = make_expert(env)
    base = env.unwrapped
    for seed in range(4):
        path = []
        record = run_episode(env, expert, seed, on_frame=lambda path=path: path.append(base.state.pos_m.copy()))
        assert record.success and not record.crashed
        objects = placed_objects(env)
        clearance = min(np.linalg.norm(np.array(path)[:, :2] - p[:2], axis=1).min() - o.radius_m for o, p in objects)
        assert clearance > 0.8, f"seed {seed}: the expert passed {clearance:.2f} m from scenery"


def test_scenery_is_solid():
    env = make_env("fly-to-target")
    env.reset(seed=0)
    base = env.unwrapped
    tree = base.scene.scenery.objects[0].body
    base.sim.world.move_body(tree, base.state.pos_m - np.array([0.0, 0.0, 1.0]))
    _, reward, terminated, _, info = env.step(np.zeros(4, np.float32))
    assert terminated and info["crashed"] and info["reward_crash"] < 0


def test_onboard_view_has_sky_ground_texture_scenery_and_their_classes():
    env = make_env("fly-to-target", obs="rgb")
    seen = set()
    for seed in range(6):
        env.reset(seed=seed)
        rgb, seg = env.unwrapped.onboard_camera()
        seen |= set(np.unique(seg).tolist())
        sky = rgb[seg == SEG_SKY].astype(float)
        assert sky[:, 2].mean() > sky[:, 0].mean() + 30  # blue, not the renderer's white
        assert sky.mean() < 235
        ground = rgb[seg == SEG_GROUND].astype(float)
        assert ground.std(axis=0).max() > 6  # grass, not a flat colour
    assert {SEG_TARGET, SEG_GROUND, SEG_SKY, SEG_SCENERY} <= seen
    env.close()


def target_pixels(env, seed):
    env.reset(seed=seed)
    rgb, seg = env.unwrapped.onboard_camera()
    return rgb, seg == SEG_TARGET


@pytest.mark.parametrize("shift", ["season", "scenery"])
def test_context_shifts_change_the_context_but_not_the_target(shift):
    nominal = make_env("fly-to-target", obs="rgb")
    for seed in (0, 3):
        rgb0, mask0 = target_pixels(nominal, seed)
        shifted = make_env("fly-to-target", obs="rgb", scenario=f"{shift}@5")
        rgb5, mask5 = target_pixels(shifted, seed)
        assert np.array_equal(mask0, mask5) and mask0.any()
        assert np.array_equal(rgb0[mask0], rgb5[mask5])
        assert np.abs(rgb0[~mask0].astype(int) - rgb5[~mask5]).mean() > 12
        shifted.close()


def test_season_moves_the_ground_colour_towards_snow():
    means = []
    for level in range(6):
        env = make_env("fly-to-target", obs="rgb", scenario=f"season@{level}")
        env.reset(seed=2)
        rgb, seg = env.unwrapped.onboard_camera()
        means.append(rgb[seg == SEG_GROUND].astype(float).mean())
        env.close()
    assert all(b > a for a, b in zip(means, means[1:], strict=False)), means  # brighter towards snow


def test_fog_fades_the_target_towards_the_fog_colour_with_each_level():
    gaps = []
    for level in range(6):
        env = make_env("fly-to-target", obs="rgb", scenario=f"fog@{level}")
        rgb, mask = target_pixels(env, 4)
        fog = np.array(env.unwrapped.scenario.fog_color[:3]) * 255
        gaps.append(np.abs(rgb[mask].astype(float) - fog).mean())
        env.close()
    assert all(b < a for a, b in zip(gaps, gaps[1:], strict=False)), gaps


def test_occluders_partly_hide_the_target_and_stand_inside_the_success_radius():
    counts = []
    for level in (0, 1, 3, 5):
        env = make_env("fly-to-target", obs="rgb", scenario=f"occluders@{level}")
        counts.append(sum(target_pixels(env, seed)[1].sum() for seed in range(5)))
        base = env.unwrapped
        for p in base.scene.occluders.positions_m():
            reach = np.linalg.norm(p[:2] - base.target_pos_m[:2]) + base.scenario.occluder_radius_m
            assert reach + base.params.collision_radius_m < base.scenario.success_radius_m - 0.1
        env.close()
    assert counts[0] > counts[1] > counts[2] > counts[3] > 0.3 * counts[0], counts


@pytest.mark.parametrize("task", ["follow-target", "hiking"])
def test_occluders_stay_with_a_moving_target_and_move_on_to_the_next_marker(task):
    env = make_env(task, scenario="occluders@3")
    expert = make_expert(env)
    base = env.unwrapped
    goals = set()

    def check():
        goal = base.goal_pos_m
        goals.add(tuple(np.round(goal, 6)))
        for p in base.scene.occluders.positions_m():
            assert np.linalg.norm(p[:2] - goal[:2]) == pytest.approx(base.scene.occluders.arc_radius_m)

    assert run_episode(env, expert, 0, on_frame=check).success
    assert len(goals) >= 3  # it moved (or there were markers)


def test_latency_delays_the_response_by_k_steps():
    climbs = {}
    for level in (0, 3):
        env = make_env("hover", scenario=f"latency@{level}")
        env.reset(seed=0)
        z0 = env.unwrapped.state.pos_m[2]
        for _ in range(3):
            env.step(np.array([0.0, 0.0, 1.0, 0.0], np.float32))
        climbs[level] = env.unwrapped.state.pos_m[2] - z0
    assert climbs[0] > 0.01 and abs(climbs[3]) < 0.002, climbs  # hovering until the first action arrives


def test_motor_weakness_tilts_a_full_throttle_climb():
    tilts = {}
    for level in (0, 5):
        env = make_env("hover", act="rpm", scenario=f"motor-weakness@{level}")
        env.reset(seed=0)
        for _ in range(6):
            env.step(np.ones(4, np.float32))
        tilts[level] = math.degrees(tilt_of(env.unwrapped.state.R))
    assert tilts[0] < 1.0 and tilts[5] > 10.0, tilts
