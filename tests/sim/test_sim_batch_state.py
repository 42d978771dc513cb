"""The simulation's batch of drone states: read once per physics step, per-drone views that agree with it."""

import numpy as np
import pytest

from ltc_drones.sim import QuadrotorParams, RigidBodyState, SimClock, Simulation, euler_to_quat


def test_batch_columns_are_the_per_drone_states_and_pybullet_s():
    p = QuadrotorParams()
    sim = Simulation(p, 3, SimClock(240, 30))
    starts = [RigidBodyState(np.array([1.0 * i, 0.5, 3.0]), euler_to_quat(0.1 * i, -0.2, 0.3 * i),
                             np.array([0.2, -0.1 * i, 0.0]), np.array([0.3, 0.1, -0.2 * i])) for i in range(3)]
    sim.reset(starts, np.random.default_rng(0))
    for _ in range(5):
        sim.physics_step(np.full((3, 4), p.hover_rpm))
    for i in range(3):
        bullet, view = sim.world.drone_state(i), sim.states[i]
        for name in ("pos_m", "quat_xyzw", "vel_world_mps", "omega_world_radps", "R"):
            assert np.array_equal(getattr(view, name), getattr(bullet, name)), name
        assert np.array_equal(sim.batch.pos_m[:, i], view.pos_m)
        assert sim.batch.omega_body_radps[:, i] == pytest.approx(view.R.T @ view.omega_world_radps, abs=1e-15)


def test_assigning_a_state_writes_it_into_the_batch():
    p = QuadrotorParams()
    sim = Simulation(p, 2, SimClock(240, 30))
    sim.reset([RigidBodyState.at_rest([0.0, 0.0, 2.0]), RigidBodyState.at_rest([1.0, 0.0, 2.0])],
              np.random.default_rng(0))
    moved = RigidBodyState(np.array([5.0, 1.0, 4.0]), euler_to_quat(0.0, 0.0, 1.0), np.zeros(3), np.array([0, 0, 2.0]))
    sim.move_drone(1, moved)
    assert sim.states[1].pos_m == pytest.approx(moved.pos_m)
    assert sim.batch.pos_m[:, 1] == pytest.approx(moved.pos_m)
    assert sim.batch.R[:, :, 1] == pytest.approx(moved.R, abs=1e-12)
    assert sim.batch.omega_body_radps[:, 1] == pytest.approx([0.0, 0.0, 2.0], abs=1e-12)
    assert sim.batch.pos_m[:, 0] == pytest.approx([0.0, 0.0, 2.0])
