"""Physics against exact answers, and the PyBullet backend against the explicit one."""

import math

import numpy as np
import pytest

from ltc_drones.sim import (
    BatchQuadrotor,
    ForceConfig,
    ForceModel,
    QuadrotorParams,
    RigidBodyState,
    SimClock,
    Simulation,
    crazyflie_plus,
    euler_to_quat,
)
from ltc_drones.sim.forces import drag_force_body_n, ground_effect_gain, rotor_thrusts_n
from ltc_drones.sim.rotation import quat_to_rot

DT = 1.0 / 240.0


def explicit_quadrotor(params, dt_s, forces, start: RigidBodyState) -> BatchQuadrotor:
    """The explicit backend with one drone at ``start``."""
    quad = BatchQuadrotor(params, dt_s, forces, 1)
    column = [np.asarray(v, dtype=float)[:, None] for v in
              (start.pos_m, start.quat_xyzw, start.vel_world_mps, start.omega_world_radps)]
    quad.reset(np.array([0]), *column)
    return quad


def make_sim(forces=None, params=None) -> Simulation:
    forces = forces or ForceConfig(ground_effect=False)
    return Simulation(params or QuadrotorParams(), 1, SimClock(240, 30), forces)


def test_crazyflie_derived_values_match_design():
    p = QuadrotorParams()
    assert p.hover_rpm == pytest.approx(14468, abs=1)
    assert p.max_rpm == pytest.approx(21703, abs=1)
    assert np.allclose(np.abs(p.rotor_pos_body_m[:, :2]), 0.028, atol=1e-4)
    assert np.allclose(np.linalg.norm(crazyflie_plus().rotor_pos_body_m, axis=1), 0.0397)


def test_hover_rpm_holds_altitude_for_5_s():
    sim = make_sim()
    p = sim.params
    sim.reset([RigidBodyState.at_rest([0.0, 0.0, 10.0])], np.random.default_rng(0))
    rpm = np.full((1, 4), p.hover_rpm)
    for _ in range(5 * 240):
        sim.physics_step(rpm)
    assert np.linalg.norm(sim.states[0].pos_m - [0, 0, 10.0]) < 0.01


def test_free_fall_accelerates_at_g():
    sim = make_sim()
    sim.reset([RigidBodyState.at_rest([0.0, 0.0, 20.0])], np.random.default_rng(0))
    n = 240
    for _ in range(n):
        sim.physics_step(np.zeros((1, 4)))
    g = sim.params.gravity_mps2
    # Semi-implicit Euler: v_n = -g n dt, z_n = z0 - g dt² n (n + 1) / 2.
    assert sim.states[0].vel_world_mps[2] == pytest.approx(-g * n * DT, rel=1e-9)
    assert sim.states[0].pos_m[2] == pytest.approx(20.0 - g * DT**2 * n * (n + 1) / 2, rel=1e-9)
    assert sim.states[0].pos_m[2] == pytest.approx(20.0 - 0.5 * g, abs=0.03)  # the continuous answer


def test_torque_free_spin_keeps_its_rate_and_default_damping_is_off():
    sim = make_sim()
    start = RigidBodyState([0.0, 0.0, 20.0], np.array([0, 0, 0, 1.0]), np.array([1.0, 0, 0]), np.array([0, 0, 10.0]))
    sim.reset([start], np.random.default_rng(0))
    for _ in range(240):
        sim.physics_step(np.zeros((1, 4)))
    s = sim.states[0]
    assert s.omega_world_radps == pytest.approx([0, 0, 10.0], abs=1e-9)
    assert s.vel_world_mps[0] == pytest.approx(1.0, abs=1e-9)  # PyBullet's default damping would give 0.92


def test_gyroscopic_precession_matches_euler_equations():
    """Spin about z plus a small x rate: body x/y rates rotate at (Iz - Ix) / Ix * wz."""
    p = QuadrotorParams()
    start = RigidBodyState([0, 0, 20.0], np.array([0, 0, 0, 1.0]), np.zeros(3), np.array([0.5, 0, 10.0]))
    ex = explicit_quadrotor(p, DT / 10, ForceConfig(False, False, False), start)
    t = 0.2
    for _ in range(int(t / (DT / 10))):
        ex.step(np.zeros((4, 1)))
    w_b = ex.state.omega_body_radps[:, 0]
    ix, _, iz = p.inertia_kgm2
    rate = (iz - ix) / ix * 10.0
    expected = 0.5 * np.array([math.cos(rate * t), math.sin(rate * t)])
    assert w_b[:2] == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("forces", [ForceConfig(False, True, False), ForceConfig(True, True, False)])
def test_pybullet_and_explicit_backends_agree_over_1_s(forces):
    p = QuadrotorParams()
    start = RigidBodyState([0.0, 0.0, 2.0], euler_to_quat(0.05, -0.03, 0.4), np.array([0.3, -0.2, 0.1]),
                           np.array([0.1, 0.2, -0.3]))
    sim = make_sim(forces)
    sim.reset([start], np.random.default_rng(0))
    ex = explicit_quadrotor(p, DT, forces, start)
    rng = np.random.default_rng(3)
    for k in range(240):
        if k % 8 == 0:
            rpm = p.hover_rpm * (1.0 + rng.uniform(-0.01, 0.01, size=4))
        sim.physics_step(rpm[None])
        ex.step(rpm[:, None])
    assert np.linalg.norm(sim.states[0].pos_m - ex.state.pos_m[:, 0]) < 0.01
    assert np.linalg.norm(sim.states[0].vel_world_mps - ex.state.vel_world_mps[:, 0]) < 0.02


def test_ground_effect_raises_thrust_by_the_model_amount():
    p = QuadrotorParams()
    h = 0.05
    sim = make_sim(ForceConfig(ground_effect=True, drag=False, downwash=False))
    sim.reset([RigidBodyState.at_rest([0.0, 0.0, h])], np.random.default_rng(0))
    sim.physics_step(np.full((1, 4), p.hover_rpm))
    acc = sim.states[0].vel_world_mps[2] / DT
    gain = ground_effect_gain(p, np.full(4, h))
    expected = (4 * p.kf * p.hover_rpm**2 * (1 + gain[0]) - p.weight_n) / p.mass_kg
    assert gain[0] > 0.1  # a real effect at 5 cm
    assert acc == pytest.approx(expected, rel=1e-6)
    # Far above the ground the extra thrust all but vanishes.
    assert ground_effect_gain(p, np.full(4, 5.0))[0] < 1e-4


def test_force_model_equals_the_reference_terms():
    p = QuadrotorParams()
    rng = np.random.default_rng(1)
    model = ForceModel(p)
    for _ in range(20):
        rpm = rng.uniform(0, p.max_rpm, 4)
        R = quat_to_rot(euler_to_quat(*rng.uniform(-0.5, 0.5, 3)))
        pos = np.array([0.0, 0.0, rng.uniform(0.02, 1.0)])
        vel, wind = rng.normal(size=3), rng.normal(size=3)
        force, torque = model.wrench(rpm, pos, R, vel, wind)
        heights = pos[2] + p.rotor_pos_body_m @ R[2]
        f = rotor_thrusts_n(p, rpm) * (1 + ground_effect_gain(p, heights))
        ref_torque = p.allocation_matrix[1:3] @ f
        ref_force = np.array([0, 0, f.sum()]) + drag_force_body_n(p, rpm, R.T @ (vel - wind))
        assert force == pytest.approx(ref_force, rel=1e-9, abs=1e-15)
        assert torque[:2] == pytest.approx(ref_torque, rel=1e-9, abs=1e-15)
        assert torque[2] == pytest.approx(p.km * rpm**2 @ p.rotor_dirs, rel=1e-9)


def test_downwash_pushes_the_lower_drone_down():
    p = QuadrotorParams()
    sim = Simulation(p, 2, SimClock(), ForceConfig(ground_effect=False, drag=False, downwash=True))
    sim.reset([RigidBodyState.at_rest([0, 0, 5.0]), RigidBodyState.at_rest([0, 0, 6.0])], np.random.default_rng(0))
    rpm = np.full((2, 4), p.hover_rpm)
    for _ in range(24):
        sim.physics_step(rpm)
    assert sim.states[0].pos_m[2] < 5.0 - 1e-3  # pushed down
    assert sim.states[1].pos_m[2] == pytest.approx(6.0, abs=1e-9)  # the upper one feels nothing


def test_motor_lag_slows_rotor_response():
    p = QuadrotorParams(motor_tau_s=0.05)
    sim = make_sim(params=p)
    sim.reset([RigidBodyState.at_rest([0, 0, 5.0])], np.random.default_rng(0))
    sim.physics_step(np.full((1, 4), p.max_rpm))
    expected = p.hover_rpm + (1 - math.exp(-DT / 0.05)) * (p.max_rpm - p.hover_rpm)
    assert sim.rotor_rpm[0] == pytest.approx(np.full(4, expected))


@pytest.mark.parametrize("physics_hz, ctrl_hz", [(240, 70), (100, 30), (0, 30), (240, -1)])
def test_impossible_frequencies_raise(physics_hz, ctrl_hz):
    with pytest.raises(ValueError, match="hz"):
        SimClock(physics_hz, ctrl_hz)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="thrust_to_weight"):
        QuadrotorParams(thrust_to_weight=0.9)
    with pytest.raises(ValueError, match="frame"):
        QuadrotorParams(frame="h")
