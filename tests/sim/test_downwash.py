"""Downwash stays continuous and bounded when drones stack, and keeps the fit where the fit is sound."""

import math

import numpy as np
import pytest

from ltc_drones.sim import ForceConfig, ForceModel, QuadrotorParams, euler_to_quat
from ltc_drones.sim.forces import downwash_force_world_n, downwash_min_separation_m, downwash_min_width_m
from ltc_drones.sim.rotation import quat_to_rot

P = QuadrotorParams()
C1, C2, C3 = P.downwash_coeffs
CUTOFF_M = -C3 / C2  # where the fitted width C2 Δz + C3 reaches zero
SATURATION_M = (downwash_min_width_m(P) - C3) / C2  # above this the fitted width is used unchanged


def push_n(dz_m: float, d_m: float = 0.0) -> float:
    """Magnitude of the push on a drone at the origin from one drone at (d, 0, dz)."""
    return -downwash_force_world_n(P, np.zeros(3), np.array([[d_m, 0.0, dz_m]]))[2]


def original_fit_n(dz_m: float, d_m: float) -> float:
    """The unsaturated empirical fit, valid where its width is positive."""
    beta = C2 * dz_m + C3
    return C1 * (P.prop_radius_m / (4.0 * dz_m)) ** 2 * math.exp(-0.5 * (d_m / beta) ** 2)


def test_limits_are_the_documented_physical_values():
    assert downwash_min_separation_m(P) == pytest.approx(CUTOFF_M)  # the cut-off wins over the 1-weight bound
    assert downwash_min_width_m(P) == pytest.approx((P.arm_m + P.prop_radius_m) / math.sqrt(2))
    assert 0.9 < SATURATION_M < 1.0


@pytest.mark.parametrize("d_m", [0.0, 0.01, 0.03])
def test_continuous_across_the_old_cut_off(d_m):
    above, below = push_n(0.69, d_m), push_n(0.68, d_m)
    assert above > 0.1 * P.weight_n * math.exp(-0.5 * (d_m / downwash_min_width_m(P)) ** 2)
    assert abs(above - below) < 0.01 * max(above, below)


@pytest.mark.parametrize("d_m", [0.0, 0.02, 0.05, 0.1])
def test_no_jump_anywhere_in_separation(d_m):
    dz = np.linspace(1e-4, 3.0, 6001)  # 0.5 mm steps
    f = np.array([push_n(z, d_m) for z in dz])
    assert np.all(np.isfinite(f)) and np.all(f >= 0)
    assert np.max(np.abs(np.diff(f))) < 0.005 * P.weight_n  # a jump like the old 0.6 W would show


def test_on_axis_push_never_grows_with_separation():
    dz = np.linspace(1e-4, 3.0, 3001)
    f = np.array([push_n(z) for z in dz])
    assert np.all(np.diff(f) <= 1e-15)
    beyond = dz > SATURATION_M
    assert np.all(np.diff(f[beyond]) < 0)  # strictly falling where the fit is used unchanged


@pytest.mark.parametrize("d_m", [0.0, 0.01, 0.05])
def test_bounded_when_stacked_closely(d_m):
    close = push_n(1e-4, d_m)
    assert close == pytest.approx(push_n(downwash_min_separation_m(P), d_m), rel=1e-12)
    assert close <= P.weight_n
    assert push_n(1e-4) > 0.5 * P.weight_n  # still a real push, not switched off


def test_fit_unchanged_where_it_is_sound():
    for dz in [SATURATION_M + 1e-3, 1.2, 2.0, 3.5]:
        for d in [0.0, 0.03, 0.1, 0.3]:
            assert push_n(dz, d) == pytest.approx(original_fit_n(dz, d), rel=1e-12, abs=1e-300)
    for dz in [CUTOFF_M + 1e-3, 0.8, 0.9]:  # between cut-off and saturation the on-axis push is the fit's
        assert push_n(dz) == pytest.approx(original_fit_n(dz, 0.0), rel=1e-12)


def test_widened_wake_is_wider_than_the_fit_below_saturation():
    dz, d = 0.8, 0.03
    assert push_n(dz, d) > original_fit_n(dz, d)
    assert push_n(dz, d) == pytest.approx(push_n(dz) * math.exp(-0.5 * (d / downwash_min_width_m(P)) ** 2))


@pytest.mark.parametrize("dz_m", [0.0, -0.01, -0.5, -2.0])
def test_drones_level_or_below_push_nothing(dz_m):
    assert push_n(dz_m) == 0.0
    assert ForceModel(P).downwash_fz_world_n(np.zeros(3), np.array([[0.0, 0.0, dz_m]])) == 0.0


def test_pushes_from_several_drones_add_up():
    others = np.array([[0.0, 0.0, 0.3], [0.05, 0.0, 1.5], [0.0, 0.0, -0.4]])
    total = downwash_force_world_n(P, np.zeros(3), others)[2]
    assert total == pytest.approx(-(push_n(0.3) + push_n(1.5, 0.05)), rel=1e-12)


def test_force_model_agrees_with_the_reference():
    rng = np.random.default_rng(3)
    only_downwash = ForceModel(P, ForceConfig(ground_effect=False, drag=False, downwash=True))
    without = ForceModel(P, ForceConfig(ground_effect=False, drag=False, downwash=False))
    checked_stacked = 0
    for _ in range(50):
        pos = rng.uniform([-1, -1, 1], [1, 1, 3])
        others = pos + rng.uniform([-0.1, -0.1, -1.0], [0.1, 0.1, 2.0], size=(rng.integers(1, 8), 3))
        checked_stacked += int(np.any((others[:, 2] > pos[2]) & (others[:, 2] - pos[2] < CUTOFF_M)))
        R = quat_to_rot(euler_to_quat(*rng.uniform(-0.6, 0.6, 3)))
        rpm, vel = rng.uniform(0, P.max_rpm, 4), rng.normal(size=3)
        ref_world = downwash_force_world_n(P, pos, others)
        assert only_downwash.downwash_fz_world_n(pos, others) == pytest.approx(ref_world[2], rel=1e-12, abs=1e-18)
        force, _ = only_downwash.wrench(rpm, pos, R, vel, None, others)
        base, _ = without.wrench(rpm, pos, R, vel, None, others)
        assert np.subtract(force, base) == pytest.approx(R.T @ ref_world, rel=1e-9, abs=1e-15)
    assert checked_stacked > 10  # the saturated region was exercised
