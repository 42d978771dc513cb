"""Cascaded controller: step responses, random commands, saturation."""

import math

import numpy as np
import pytest

from ltc_drones.control import CascadedController, Mixer, VelocityLimits
from ltc_drones.sim import BatchState, ForceConfig, QuadrotorParams, RigidBodyState, SimClock, Simulation, tilt_of

CLOCK = SimClock(240, 30)


def fly(commands, start_z=50.0):
    """Fly a sequence of velocity commands high above the ground; yields the state after each step."""
    p = QuadrotorParams()
    sim = Simulation(p, 1, CLOCK, ForceConfig(ground_effect=False))
    sim.reset([RigidBodyState.at_rest([0, 0, start_z])], np.random.default_rng(0))
    ctl = CascadedController(p, CLOCK.ctrl_dt_s)
    max_tilt = 0.0
    for cmd in commands:
        ctl.set_velocity_command(sim.batch, np.asarray(cmd, dtype=float)[:, None])
        for _ in range(CLOCK.substeps):
            sim.physics_step_batch(ctl.rpm(sim.batch))
            max_tilt = max(max_tilt, tilt_of(sim.states[0].R))
        yield sim.states[0], max_tilt


@pytest.mark.parametrize("axis", [0, 1, 2, 3])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_step_to_velocity_limit_reaches_90_percent_within_1_s(axis, sign):
    cmd = np.zeros(4)
    cmd[axis] = sign * VelocityLimits().scale[axis]
    reached_at, max_tilt = None, 0.0
    for k, (s, tilt_so_far) in enumerate(fly([cmd] * 45)):
        max_tilt = tilt_so_far
        v = (s.vel_body_mps if axis < 2 else s.vel_world_mps)[axis] if axis < 3 else s.omega_world_radps[2]
        if reached_at is None and sign * v >= 0.9 * abs(cmd[axis]):
            reached_at = (k + 1) * CLOCK.ctrl_dt_s
    assert reached_at is not None and reached_at <= 1.0
    assert max_tilt < math.radians(60)


def test_random_commands_for_60_s_never_tilt_past_60_deg_nor_diverge():
    rng = np.random.default_rng(7)
    scale = VelocityLimits().scale
    commands, cmd = [], np.zeros(4)
    for k in range(60 * 30):
        if k % 15 == 0:  # a new random command every half second
            cmd = rng.uniform(-1, 1, 4) * scale
        commands.append(cmd)
    *_, (last, max_tilt) = fly(commands, start_z=200.0)
    assert max_tilt < math.radians(60)
    assert np.all(np.abs(last.vel_world_mps) < 3.0)
    assert np.linalg.norm(last.omega_world_radps) < 5.0


def test_controller_reset_clears_integrator():
    p = QuadrotorParams()
    ctl = CascadedController(p, CLOCK.ctrl_dt_s)
    s = BatchState.of([RigidBodyState.at_rest([0, 0, 1.0])])
    for _ in range(30):
        ctl.set_velocity_command(s, np.array([[1.0], [0], [0], [0]]))
    assert np.any(ctl.vel_int != 0)
    ctl.reset()
    assert np.all(ctl.vel_int == 0)


def test_mixer_keeps_attitude_torque_when_saturated():
    p = QuadrotorParams()
    mixer = Mixer(p)
    A = p.allocation_matrix
    torque = np.array([2e-3, -1e-3, 1e-4])[:, None]
    # Full collective thrust requested: the roll/pitch torque must still be produced exactly.
    f = mixer.rotor_thrusts(np.array([4 * p.max_thrust_per_rotor_n]), torque)[:, 0]
    assert np.all(f >= -1e-12) and np.all(f <= p.max_thrust_per_rotor_n + 1e-12)
    assert (A @ f)[1:3] == pytest.approx(torque[:2, 0], rel=1e-9)
    # Zero thrust requested: still the same roll/pitch torque.
    f = mixer.rotor_thrusts(np.array([0.0]), torque)[:, 0]
    assert (A @ f)[1:3] == pytest.approx(torque[:2, 0], rel=1e-9)
    # Within limits the request is met exactly.
    f = mixer.rotor_thrusts(np.array([p.weight_n]), torque * 0.01)[:, 0]
    assert A @ f == pytest.approx(np.array([p.weight_n, *(torque[:, 0] * 0.01)]), rel=1e-9)
