"""The batched cascade: N drones in one call equal N one-drone calls, and one drone equals the textbook loops."""

import math

import numpy as np
import pytest

from ltc_drones.control import CascadedController, ControllerGains, Mixer
from ltc_drones.sim import BatchState, QuadrotorParams, RigidBodyState, euler_to_quat

DT = 1.0 / 30.0


def random_states(rng, n, spin_radps=2.0):
    return [RigidBodyState(rng.uniform(-1, 1, 3), euler_to_quat(*rng.uniform(-0.4, 0.4, 2), rng.uniform(-3, 3)),
                           rng.uniform(-1, 1, 3), rng.uniform(-spin_radps, spin_radps, 3)) for _ in range(n)]


def reference_rpm(p: QuadrotorParams, g: ControllerGains, state: RigidBodyState, cmd, yaw_des0: float):
    """One drone's velocity loop (fresh integrator), attitude loop, rate loop and unsaturated mixer, written out."""
    yaw = math.atan2(state.R[1, 0], state.R[0, 0])
    c, s = math.cos(yaw), math.sin(yaw)
    err = np.array([c * cmd[0] - s * cmd[1], s * cmd[0] + c * cmd[1], cmd[2]]) - state.vel_world_mps
    vel_int = np.clip(g.vel_i * err * DT, -g.vel_i_limit_mps2, g.vel_i_limit_mps2)
    acc = np.array([g.vel_xy_p, g.vel_xy_p, g.vel_z_p]) * err + vel_int
    acc[2] = min(max(acc[2], -g.max_down_acc_mps2), g.max_up_acc_mps2)
    lift = acc[2] + p.gravity_mps2
    a_xy, a_max = math.hypot(acc[0], acc[1]), lift * math.tan(g.max_tilt_rad)
    if a_xy > a_max:
        acc[:2] *= a_max / a_xy
    force = p.mass_kg * np.array([acc[0], acc[1], lift])
    lim = g.yaw_lead_limit_rad
    yaw_des = yaw + min(max(math.remainder(yaw_des0 + cmd[3] * DT - yaw, 2 * math.pi), -lim), lim)
    z = force / np.linalg.norm(force)
    y = np.cross(z, [math.cos(yaw_des), math.sin(yaw_des), 0.0])
    y /= np.linalg.norm(y)
    R_des = np.column_stack([np.cross(y, z), y, z])
    R = state.R
    E = R_des.T @ R
    rates = -np.asarray(g.att_p) * 0.5 * np.array([E[2, 1] - E[1, 2], E[0, 2] - E[2, 0], E[1, 0] - E[0, 1]])
    rates[2] += cmd[3] * R[2, 2]
    rates = np.clip(rates, -np.asarray(g.max_rate_radps), g.max_rate_radps)
    thrust = max(float(force @ R[:, 2]), 0.0)
    w = R.T @ state.omega_world_radps
    J = p.inertia_diag
    torque = J * np.asarray(g.rate_p) * (rates - w) + np.cross(w, J * w)
    f = np.linalg.solve(p.allocation_matrix, np.array([thrust, *torque]))
    f_no_yaw = np.linalg.solve(p.allocation_matrix, np.array([thrust, *torque[:2], 0.0]))
    if not all(np.all(0 < x) and np.all(x < p.max_thrust_per_rotor_n) for x in (f, f_no_yaw)):
        return None  # a rotor saturates: the mixer's priorities apply (test_controller.py)
    return np.sqrt(f / p.kf)


def test_one_drone_equals_the_written_out_loops():
    p, g = QuadrotorParams(), ControllerGains()
    rng = np.random.default_rng(0)
    compared = 0
    for state in random_states(rng, 40, spin_radps=0.5):
        cmd = rng.uniform(-0.3, 0.3, 4)
        yaw0 = math.atan2(state.R[1, 0], state.R[0, 0])
        ctl = CascadedController(p, DT, g)
        ctl.reset(yaw_rad=yaw0)
        batch = BatchState.of([state])
        ctl.set_velocity_command(batch, cmd[:, None])
        expected = reference_rpm(p, g, state, cmd, yaw0)
        if expected is not None:
            assert ctl.rpm(batch)[:, 0] == pytest.approx(expected, rel=1e-12, abs=1e-9)
            compared += 1
    assert compared >= 20


def test_n_drones_in_one_call_equal_n_one_drone_calls():
    p = QuadrotorParams()
    rng = np.random.default_rng(1)
    n = 6
    states = random_states(rng, n)
    batched = CascadedController(p, DT, num_drones=n)
    singles = [CascadedController(p, DT) for _ in range(n)]
    yaws = rng.uniform(-3, 3, n)
    batched.reset(slice(None), yaws)
    for ctl, yaw in zip(singles, yaws, strict=True):
        ctl.reset(yaw_rad=yaw)
    for _ in range(5):  # a few control steps: the integrators and heading references carry over
        cmd = rng.uniform(-1.5, 1.5, (4, n))
        batch = BatchState.of(states)
        batched.set_velocity_command(batch, cmd)
        rpm = batched.rpm(batch)
        for i, ctl in enumerate(singles):
            one = BatchState.of([states[i]])
            ctl.set_velocity_command(one, cmd[:, i:i + 1])
            assert rpm[:, i] == pytest.approx(ctl.rpm(one)[:, 0], rel=1e-13, abs=1e-9)
        states = random_states(rng, n)


def test_the_unsaturated_shortcut_equals_the_prioritised_mixer():
    p = QuadrotorParams()
    mixer = Mixer(p)
    rng = np.random.default_rng(2)
    n = 200
    wrench = np.vstack([rng.uniform(0.0, 4 * p.max_thrust_per_rotor_n, n), rng.uniform(-4e-3, 4e-3, (2, n)),
                        rng.uniform(-4e-4, 4e-4, n)])
    expected = mixer.rpm(wrench[0], wrench[1:])
    for i in range(n):  # one drone at a time: most take the shortcut, the saturated ones the full mixer
        assert mixer.rpm_of_wrench(wrench[:, i:i + 1])[:, 0] == pytest.approx(expected[:, i], rel=1e-12, abs=1e-9)
    assert mixer.rpm_of_wrench(wrench) == pytest.approx(expected, rel=1e-12, abs=1e-9)
