"""Causal interventions: each changes the world as specified and nothing else; the expert responds as it
must, a controller that ignores the target does not."""

import math

import numpy as np
import pybullet as pb
import pytest

from ltc_drones.control import make_scripted
from ltc_drones.diagnostics.interventions import (
    InterventionConfig,
    response,
    run_intervention,
    summarize_interventions,
)
from ltc_drones.envs import make_env
from ltc_drones.envs.camera import SEG_TARGET
from ltc_drones.sim.rotation import yaw_of
from ltc_drones.tasks import make_expert

SEEDS = (3, 7)
DT = 1 / 30


def body_pos(env, body):
    return np.array(pb.getBasePositionAndOrientation(body, physicsClientId=env.unwrapped.sim.world.cid)[0])


class Recorder:
    """Wraps a controller; logs what the world and the controller's observation (of its batch of one) look like at
    each act."""

    def __init__(self, env, inner):
        self.base, self.inner, self.log = env.unwrapped, inner, []

    def reset(self, num_envs=1):
        self.log.clear()
        self.inner.reset(num_envs)

    def act(self, obs, episode_start=None):
        b = self.base
        self.log.append({"visible": b.target_visible, "in_view": b.target_in_view(), "obs": np.array(obs[0], copy=True),
                         "target": b.target_pos_m.copy(), "yaw": yaw_of(b.state.R), "pos": b.state.pos_m.copy(),
                         "vel": b.state.vel_world_mps.copy()})
        return self.inner.act(obs, episode_start)


@pytest.fixture(scope="module")
def env():
    e = make_env("fly-to-target", obs="kin", scenario="distractors@3")
    yield e
    e.close()


def test_hooks_move_and_hide_the_target_in_the_onboard_image():
    env = make_env("fly-to-target", obs="rgb", scenario="nominal")
    base = env.unwrapped
    env.reset(seed=2)
    assert (base.onboard_camera()[1] == SEG_TARGET).any() and base.target_in_view()
    base.set_target_visible(False)
    assert not (base.onboard_camera()[1] == SEG_TARGET).any() and not base.target_in_view()
    assert body_pos(env, base.target_id)[2] < -10  # out of every view
    base.set_target_visible(True)
    assert (base.onboard_camera()[1] == SEG_TARGET).any()
    new = base.state.pos_m + np.array([0.0, 0.0, 5.0])  # straight above: out of the forward view
    base.move_target(new)
    assert np.allclose(base.goal_pos_m, new) and np.allclose(body_pos(env, base.target_id), new)
    assert base._distance_m == pytest.approx(5.0) and not base.target_in_view()
    base.set_target_visible(False)
    env.reset(seed=2)  # every episode starts with the target visible
    assert base.target_visible and (base.onboard_camera()[1] == SEG_TARGET).any()
    env.close()


def test_jump_moves_the_target_at_the_set_step_and_leaves_the_flight_before_it_unchanged(env):
    cfg = InterventionConfig(at_s=0.5)
    k_at = round(cfg.at_s / DT)
    for seed in SEEDS:
        ctl = Recorder(env, make_expert(env))
        ref = run_intervention(env, ctl, "none", seed, cfg)
        ref_log = list(ctl.log)
        distractors_before = [body_pos(env, b) for b in env.unwrapped.scene.distractor_ids]
        rec = run_intervention(env, ctl, "jump", seed, cfg)
        assert rec["applied"] and rec["t_intervention_s"] == pytest.approx(k_at * DT)
        pos, ref_pos = np.array(rec["trajectory"]["pos_m"]), np.array(ref["trajectory"]["pos_m"])
        np.testing.assert_array_equal(pos[:k_at + 1], ref_pos[:k_at + 1])  # identical until the change
        target = np.array(rec["trajectory"]["target_m"])
        assert np.allclose(target[:k_at + 1], rec["old_target_m"], atol=1e-4)
        assert np.allclose(target[k_at + 1:], rec["new_target_m"], atol=1e-4)
        assert not np.allclose(pos[-1], ref_pos[-1], atol=0.3)  # the expert went elsewhere afterwards
        # The new place is acceptable, judged from the drone's state at the change.
        s = ctl.log[k_at]
        assert np.allclose(s["pos"], ref_log[k_at]["pos"]) and s["in_view"]
        new = np.array(rec["new_target_m"])
        bearing = math.atan2(new[1] - s["pos"][1], new[0] - s["pos"][0])
        for ref_angle in (s["yaw"], math.atan2(s["vel"][1], s["vel"][0])):
            assert abs(math.degrees(math.remainder(bearing - ref_angle, 2 * math.pi))) >= cfg.min_turn_deg
        assert cfg.jump_distance_m[0] <= np.hypot(*(new - s["pos"])[:2]) <= cfg.jump_distance_m[1]
        for b, p in zip(env.unwrapped.scene.distractor_ids, distractors_before, strict=True):
            np.testing.assert_allclose(body_pos(env, b), p)  # distractors stay


def test_swap_exchanges_target_and_a_distractor_of_another_colour(env):
    base = env.unwrapped
    colours = base.scenario.distractor_colors
    for seed in (3, 1):  # a literal swap, then one whose distractor was out of view
        run_intervention(env, make_expert(env), "none", seed)
        layout = {b: body_pos(env, b) for b in base.scene.distractor_ids}  # where the episode put them
        rec = run_intervention(env, make_expert(env), "swap", seed)
        assert rec["applied"]
        body = rec["distractor_id"]
        k = base.scene.distractor_ids.index(body)
        assert not np.allclose(colours[k % len(colours)][:3], base.scenario.target_color[:3])
        np.testing.assert_allclose(body_pos(env, body), rec["old_target_m"], atol=1e-9)  # took the target's place
        for b in base.scene.distractor_ids:
            if b != body:
                np.testing.assert_allclose(body_pos(env, b), layout[b])  # the others stay
        target = np.array(rec["trajectory"]["target_m"])
        assert np.allclose(target[-1], rec["new_target_m"], atol=1e-4)
        if rec["literal_swap"]:
            np.testing.assert_allclose(rec["new_target_m"], layout[body])
        else:
            assert np.linalg.norm(np.array(rec["new_target_m"]) - rec["old_target_m"]) >= 1.0


def test_swap_without_a_distractor_says_what_to_use():
    env = make_env("fly-to-target", obs="kin")
    with pytest.raises(ValueError, match="distractors"):
        run_intervention(env, make_expert(env), "swap", 0)
    env.close()


def test_hide_hides_for_the_set_time_holds_the_kin_goal_and_changes_nothing_else():
    """With the expert (it reads the true state) hiding changes nothing physical: under gusts the whole
    flight equals the flight without it; the target is hidden exactly for hide_s; the controller's kin goal
    vector holds its last reading while hidden."""
    env = make_env("fly-to-target", obs="kin", scenario="wind-gusts@3")
    cfg = InterventionConfig(at_s=0.3, hide_s=0.5)
    k_at, k_back = round(cfg.at_s / DT), round((cfg.at_s + cfg.hide_s) / DT)
    ctl = Recorder(env, make_expert(env))
    ref = run_intervention(env, ctl, "none", 11, cfg)
    ref_obs = [e["obs"] for e in ctl.log]
    rec = run_intervention(env, ctl, "hide", 11, cfg)
    assert rec["trajectory"] == ref["trajectory"] and rec["success"]
    visible = [e["visible"] for e in ctl.log]
    assert visible == [not (k_at <= k < k_back) for k in range(len(visible))]
    assert not any(e["in_view"] for e in ctl.log[k_at:k_back])
    for k, e in enumerate(ctl.log):
        if k_at < k <= k_back:  # observations made while hidden: the goal vector of the last one before
            np.testing.assert_array_equal(e["obs"][:3], ref_obs[k_at][:3])
            np.testing.assert_array_equal(e["obs"][3:], ref_obs[k][3:])
        else:
            np.testing.assert_array_equal(e["obs"], ref_obs[k])
    assert not np.array_equal(ref_obs[k_back][:3], ref_obs[k_at][:3])  # the true vector did change
    env.close()


def test_follow_target_stays_hidden_while_it_moves():
    env = make_env("follow-target", obs="kin")
    ctl = Recorder(env, make_expert(env))
    run_intervention(env, ctl, "hide", 1, InterventionConfig(at_s=0.5, hide_s=0.5))
    hidden = [e for e in ctl.log if not e["visible"]]
    assert len(hidden) == 15 and not np.allclose(hidden[0]["target"], hidden[-1]["target"])
    env.close()


def test_expert_responds_to_jump_follows_swap_reacquires_after_hide(env):
    records = []
    for seed in SEEDS:
        for kind in ("jump", "swap", "hide"):
            records.append(run_intervention(env, make_expert(env), kind, seed))
    for r in records:
        assert r["applied"] and r["success"] and r["responded"] and not r["crashed"]
        if r["kind"] in ("jump", "swap"):
            assert 0 < r["response_time_s"] <= 0.6  # turns within a few steps (velocity loop ~0.35 s)
        if r["kind"] == "swap":
            assert not r["decoy_reached"]
        if r["kind"] == "hide":
            assert r["held_course"]
    summary = summarize_interventions(records)
    assert summary["jump"]["response"]["rate"] == 1.0 and summary["jump"]["response"]["n"] == len(SEEDS)
    assert summary["swap"]["decoy_reached"]["rate"] == 0.0


def test_controllers_that_ignore_the_target_do_not_respond(env):
    for name in ("hover-in-place", "fly-away"):
        for kind in ("jump", "swap"):
            r = run_intervention(env, make_scripted(name, env), kind, SEEDS[0], window_s=2.0)
            assert r["applied"] and r["responded"] is False and r["response_time_s"] is None and not r["success"]


def test_response_needs_the_hold_inside_the_window_and_counts_success():
    cfg = InterventionConfig(hold_s=0.1, window_s=0.5)  # hold = 3 steps, window = 15 steps
    aimed = np.zeros(40, dtype=bool)
    aimed[10:12] = True  # too short
    assert response(aimed, 5, None, DT, cfg) == (False, None)
    aimed[20:23] = True  # long enough, but after the window (5 + 15 = 20 is the last start)
    assert response(aimed, 5, None, DT, cfg) == (True, pytest.approx(15 * DT))
    assert response(aimed, 4, None, DT, cfg) == (False, None)
    aimed[:] = False
    aimed[8] = True
    assert response(aimed, 5, 9, DT, cfg) == (True, pytest.approx(3 * DT))  # aimed up to reaching the target
