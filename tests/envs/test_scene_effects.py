"""The shift mechanisms on their own: fog, depth, the painted sky, action latency, motor weakness."""

import math

import numpy as np
import pybullet as pb
import pytest

from ltc_drones.envs.effects import ActionDelay, MotorWeakness, PhysicalShifts
from ltc_drones.envs.scenario import Scenario
from ltc_drones.sim import QuadrotorParams
from ltc_drones.sim.atmosphere import Fog, SkyBackdrop, depth_m, near_far_m, pixel_rays_camera
from ltc_drones.sim.world import Lighting, PyBulletWorld

PROJ = pb.computeProjectionMatrixFOV(50.0, 64 / 48, 0.05, 40.0)


def test_near_far_and_depth_buffer_round_trip():
    assert near_far_m(PROJ) == pytest.approx((0.05, 40.0), rel=1e-4)  # the matrix holds float32 values
    near, far = 0.05, 40.0
    z = np.array([0.05, 1.0, 7.5, 40.0])
    buffer = (far - far * near / z) / (far - near)  # OpenGL's mapping, inverted by depth_m
    assert depth_m(buffer, near, far) == pytest.approx(z)


def test_fog_blends_by_distance_along_each_ray():
    fog = Fog(0.1, (1.0, 1.0, 1.0))
    rgb = np.zeros((48, 64, 3), np.uint8)
    near, far = 0.05, 40.0
    d = 5.0
    buffer = np.full((48, 64), (far - far * near / d) / (far - near))  # every pixel at 5 m depth
    fog.apply(rgb, buffer, PROJ)
    cos_off_axis = -pixel_rays_camera(64, 48, PROJ)[:, 2].reshape(48, 64)
    expected = 255 * (1 - np.exp(-0.1 * d / cos_off_axis))
    assert np.abs(rgb[..., 0].astype(float) - expected).max() <= 0.51
    assert rgb[0, 0, 0] > rgb[24, 32, 0]  # corner rays travel farther to the same depth plane


def test_rendered_depth_is_the_distance_to_a_wall():
    world = PyBulletWorld(QuadrotorParams(), 1, 1 / 240)
    wall = pb.createVisualShape(pb.GEOM_BOX, halfExtents=[0.05, 5.0, 5.0], physicsClientId=world.cid)
    pb.createMultiBody(0, -1, wall, [6.05, 0.0, 1.0], physicsClientId=world.cid)  # its face at x = 6 m
    view = pb.computeViewMatrix([0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [0.0, 0.0, 1.0])
    _, seg, depth = world.render_with_depth(view, PROJ, 64, 48, 0.05, 40.0)
    assert np.all(seg[20:28, 28:36] >= 0)
    assert depth[20:28, 28:36] == pytest.approx(6.0, abs=0.02)
    world.close()


def test_painted_sky_fills_only_empty_pixels_with_a_gradient():
    world = PyBulletWorld(QuadrotorParams(), 1, 1 / 240)
    rows = np.linspace(255, 0, 256).astype(np.uint8)  # bright at the zenith, dark below the horizon
    world.sky = SkyBackdrop(np.repeat(rows[:, None, None], 3, axis=2).repeat(64, axis=1))
    view = pb.computeViewMatrix([0.0, 0.0, 1.0], [1.0, 0.0, 1.3], [0.0, 0.0, 1.0])
    rgb, seg = world.render(view, PROJ, 64, 48, Lighting(ambient=1.0, diffuse=0.0))
    sky = seg == -1
    assert sky[:10].all() and not sky[-5:].any()  # the ground below stays the ground
    column = rgb[:, 32, 0][sky[:, 32]].astype(int)
    assert np.all(np.diff(column) <= 0) and column[0] > column[-1] + 20  # brighter upward
    world.close()


def test_action_delay_applies_actions_k_steps_late():
    delay = ActionDelay(3)
    delay.reset(np.full(4, -0.5))
    out = [delay(np.full(4, float(k))) for k in range(6)]
    assert [o[0] for o in out] == [-0.5, -0.5, -0.5, 0.0, 1.0, 2.0]
    assert ActionDelay(0)(np.ones(4))[0] == 1.0
    with pytest.raises(ValueError, match="latency"):
        ActionDelay(-1)


def test_motor_weakness_caps_one_rotor_thrust_by_the_fraction():
    params = QuadrotorParams()
    weak = MotorWeakness(0.36, params.max_rpm)
    weak.reset(np.random.default_rng(3))
    full = np.full(4, params.max_rpm)
    out = weak(full)
    thrust = params.kf * out**2
    lost = 1 - thrust / (params.kf * params.max_rpm**2)
    assert sorted(np.round(lost, 9)) == [0.0, 0.0, 0.0, 0.36]
    hover = np.full(4, params.hover_rpm)
    assert np.array_equal(weak(hover), hover)  # below the cap nothing changes
    rotors = set()
    for seed in range(20):
        weak.reset(np.random.default_rng(seed))
        rotors.add(weak.rotor)
    assert rotors == {0, 1, 2, 3}


def test_physical_shifts_hover_until_the_first_delayed_action():
    params = QuadrotorParams()
    shifts = PhysicalShifts(Scenario(latency_steps=2, motor_weakness=0.5), params, "rpm")
    rng = np.random.default_rng(0)
    shifts.reset(rng)
    first = shifts.action(np.ones(4))
    assert first == pytest.approx(np.full(4, 2 * params.hover_rpm / params.max_rpm - 1))
    assert shifts.rpm(np.full(4, params.max_rpm)).min() == pytest.approx(math.sqrt(0.5) * params.max_rpm)
    nominal = PhysicalShifts(Scenario(), params, "vel")
    before = rng.bit_generator.state
    nominal.reset(rng)
    assert rng.bit_generator.state == before  # nothing drawn when the weakness is off
