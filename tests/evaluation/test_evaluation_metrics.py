"""Closed-loop metrics on hand-built trajectories, and the Wilson interval against known values."""

import math

import numpy as np
import pytest

from ltc_drones.evaluation.metrics import Trajectory, episode_metrics, summarize, wilson_interval


@pytest.mark.parametrize(("k", "n", "lo", "hi"), [
    # Values of the Wilson score interval (95 %) as given by scipy.stats.binomtest(...).proportion_ci("wilson").
    (0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (8, 10, 0.4902, 0.9433), (10, 10, 0.7225, 1.0),
    (30, 40, 0.5981, 0.8581), (97, 100, 0.9155, 0.9897),
])
def test_wilson_interval_matches_known_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=2e-4)


def test_wilson_interval_without_episodes_is_uninformative():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def _line(n, start, end):
    return np.linspace(start, end, n + 1)


def test_straight_flight_to_a_static_goal():
    # 10 steps along x from 0 to 2 m toward a goal at 3 m; success reported at step 10.
    pos = _line(10, [0, 0, 1], [2, 0, 1])
    goal = np.tile([3.0, 0, 1], (11, 1))
    act = np.tile([0.5, 0, 0, 0], (10, 1))
    m = episode_metrics(Trajectory(0.1, pos, goal, act, success=True, crashed=False, success_step=10))
    assert m["steps"] == 10 and m["time_s"] == pytest.approx(1.0)
    assert m["time_to_success_s"] == pytest.approx(1.0)
    assert m["path_length_m"] == pytest.approx(2.0)
    assert m["path_efficiency"] == pytest.approx(1.0)
    assert m["min_distance_m"] == pytest.approx(1.0) and m["final_distance_m"] == pytest.approx(1.0)
    assert m["action_smoothness"] == pytest.approx(0.0)
    assert m["tracking_error_m"] is None and m["tracked_fraction"] is None


def test_a_detour_halves_path_efficiency():
    # Out 1 m along +y and back, then 2 m along x: 4 m of path for 2 m of progress... toward (2, 0).
    pos = np.array([[0, 0, 1], [0, 1, 1], [0, 0, 1], [1, 0, 1], [2, 0, 1]], float)
    goal = np.tile([2.0, 0, 1], (5, 1))
    m = episode_metrics(Trajectory(0.1, pos, goal, np.zeros((4, 4)), True, False, 4))
    assert m["path_length_m"] == pytest.approx(4.0)
    assert m["path_efficiency"] == pytest.approx(0.5)
    assert m["min_distance_m"] == pytest.approx(0.0)


def test_goal_changes_make_legs():
    # Hiking-like: goal A=(1,0) for the first two steps, then B=(1,1); the drone goes straight to each.
    pos = np.array([[0, 0, 1], [0.5, 0, 1], [1, 0, 1], [1, 0.5, 1], [1, 1, 1]], float)
    goal = np.array([[1, 0, 1], [1, 0, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]], float)
    m = episode_metrics(Trajectory(0.1, pos, goal, np.zeros((4, 4)), True, False, 4))
    assert m["path_efficiency"] == pytest.approx(1.0)
    # Failure without success: no time to success; a wasted flight away from the goal is negative.
    away = np.array([[0, 0, 1], [-1, 0, 1]], float)
    m2 = episode_metrics(Trajectory(0.1, away, np.tile([1.0, 0, 1], (2, 1)), np.zeros((1, 4)), False, True))
    assert m2["time_to_success_s"] is None and m2["crashed"]
    assert m2["path_efficiency"] == pytest.approx(-1.0)


def test_following_metrics():
    # Distances 1.0 (in band), 2.5 (0.5 beyond), 0.2 (0.2 short of 0.4), 1.5 (in band) after the 4 steps.
    goal = np.zeros((5, 3))
    pos = np.array([[1.0, 0, 0], [1.0, 0, 0], [2.5, 0, 0], [0.2, 0, 0], [1.5, 0, 0]])
    act = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]], float)
    tracked = np.array([True, False, False, True])
    m = episode_metrics(Trajectory(0.05, pos, goal, act, True, False, None, tracked, (0.4, 2.0), moving_goal=True))
    assert m["tracking_error_m"] == pytest.approx((0 + 0.5 + 0.2 + 0) / 4)
    assert m["tracked_fraction"] == pytest.approx(0.5)
    assert m["path_efficiency"] is None
    assert m["action_smoothness"] == pytest.approx((1 + 0 + 1) / 3)


def test_trajectory_shapes_are_checked():
    with pytest.raises(ValueError, match="T \\+ 1 positions"):
        Trajectory(0.1, np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 4)), False, False)


def test_summary_over_records():
    recs = [
        {"success": True, "crashed": False, "time_to_success_s": 2.0, "path_efficiency": 0.8, "return": 10.0},
        {"success": True, "crashed": False, "time_to_success_s": 4.0, "path_efficiency": 0.6, "return": 8.0},
        {"success": False, "crashed": True, "time_to_success_s": None, "path_efficiency": 0.1, "return": -5.0},
        {"success": False, "crashed": False, "time_to_success_s": None, "path_efficiency": None, "return": 1.0},
    ]
    s = summarize(recs)
    assert s["successes"] == 2 and s["success_rate"] == 0.5 and s["crash_rate"] == 0.25
    assert s["success_ci95"] == list(wilson_interval(2, 4)) or tuple(s["success_ci95"]) == wilson_interval(2, 4)
    assert s["time_to_success_s"] == pytest.approx(3.0)
    assert s["path_efficiency"] == pytest.approx(0.7)  # over successes only
    assert s["return"] == pytest.approx(3.5)
    assert s["tracked_fraction"] is None
    assert math.isnan(summarize([])["success_rate"])
