"""The evaluator, rollout videos and benchmark grids on multi-agent tasks: team records and summaries, identical
records for any worker count, exact resume, early refusals, the team table, the team video, a tiny team grid."""

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ltc_drones.benchmark.grid import GridError, grid_from_dict
from ltc_drones.cli import main as cli_main
from ltc_drones.envs.rollout import TeamEpisodeRecord
from ltc_drones.evaluation import EvaluationError, evaluate, record_episode
from ltc_drones.evaluation import evaluator as evaluator_module
from ltc_drones.evaluation.controllers import ControllerSpec
from ltc_drones.evaluation.metrics import wilson_interval
from ltc_drones.evaluation.team_metrics import summarize_team, team_episode_metrics
from ltc_drones.evaluation.video import upscale_nearest
from ltc_drones.tasks import make_env as make_team_env

torch.set_num_threads(1)
KIN_AGENT = "agents/fly-to-target__ltc-ncp__kin"
DT = 1 / 30


# ---- metrics on hand-built records --------------------------------------------------------------------------
def _record(success, crashed, collided, collisions, infos, final_d=(1.0, 1.0), team=None):
    n = len(success)
    return TeamEpisodeRecord(
        seed=0, team_success=all(success) if team is None else team, agent_success=list(success),
        agent_crashed=list(crashed), agent_collided=list(collided), agent_steps=[len(i) for i in infos],
        agent_returns=[1.0, 3.0][:n], agent_final_distance_m=list(final_d), collisions=collisions,
        steps=max(len(i) for i in infos), time_s=max(len(i) for i in infos) * DT, agent_infos=infos)


def _reach_infos(steps, success_at):
    return [{"is_success": k + 1 >= success_at if success_at else False} for k in range(steps)]


def _follow_infos(distances, tracked, lost_s):
    return [{"is_success": False, "leader_distance_m": d, "tracked_fraction": tracked, "lost_s": lost_s}
            for d in distances]


def test_team_metrics_of_hand_built_episodes():
    # Reaching: agent 0 succeeds on its 3rd step, agent 1 crashes (into the ground: no collision).
    reach = _record([True, False], [False, True], [False, False], 0,
                    [_reach_infos(3, 3), _reach_infos(5, None)], final_d=(0.4, 2.0))
    m = team_episode_metrics(reach, DT, follow=False)
    assert m["success"] is False and m["agent_success"] == [True, False]
    assert m["crashed"] is True and m["collided"] is False and m["agent_steps"] == [3, 5] and m["steps"] == 5
    assert m["agent_time_to_success_s"] == [pytest.approx(3 * DT), None]
    assert "agent_tracked_fraction" not in m
    # Following: both followers collided with each other (a collision crashes both).
    follow = _record([False, False], [True, True], [True, True], 1,
                     [_follow_infos([1.0, 2.0, 3.0], 0.5, 1.0), _follow_infos([0.5, 1.5], 1.0, 0.0)])
    f = team_episode_metrics(follow, DT, follow=True)
    assert f["collided"] and f["crashed"] and f["collisions"] == 1
    assert f["agent_leader_distance_m"] == [pytest.approx(2.0), pytest.approx(1.0)]
    assert f["agent_tracked_fraction"] == [0.5, 1.0] and f["agent_lost_s"] == [1.0, 0.0]
    assert "agent_time_to_success_s" not in f
    reach.agent_infos = []  # flown without keep_infos
    with pytest.raises(ValueError, match="keep_infos=True"):
        team_episode_metrics(reach, DT, follow=False)


def test_team_summary_rates_intervals_and_means():
    ok = team_episode_metrics(_record([True, True], [False] * 2, [False] * 2, 0,
                                      [_reach_infos(3, 3), _reach_infos(6, 6)]), DT, follow=False)
    half = team_episode_metrics(_record([True, False], [False, True], [False, False], 0,
                                        [_reach_infos(9, 9), _reach_infos(4, None)]), DT, follow=False)
    bump = team_episode_metrics(_record([False, False], [True, True], [True, True], 1,
                                        [_reach_infos(2, None), _reach_infos(2, None)]), DT, follow=False)
    s = summarize_team([ok, half, bump])
    assert (s["episodes"], s["successes"], s["agent_episodes"], s["agent_successes"]) == (3, 1, 6, 3)
    assert s["success_rate"] == pytest.approx(1 / 3) and s["agent_success_rate"] == pytest.approx(0.5)
    assert s["success_ci95"] == pytest.approx(list(wilson_interval(1, 3)))
    assert s["agent_success_ci95"] == pytest.approx(list(wilson_interval(3, 6)))
    assert s["collision_rate"] == pytest.approx(1 / 3) and s["crash_rate"] == pytest.approx(2 / 3)
    assert s["time_to_success_s"] == pytest.approx(np.mean([3, 6, 9]) * DT)  # successful agents only
    assert s["final_distance_m"] == pytest.approx(1.0) and s["tracked_fraction"] is None
    assert math.isnan(summarize_team([])["success_rate"])


# ---- the evaluator ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """Two 2-second scenarios (overlays on the tasks' nominal settings): calm and gusty."""
    folder = tmp_path_factory.mktemp("scenarios")
    (folder / "short.yaml").write_text("episode_len_s: 2.0\n")
    (folder / "gusty.yaml").write_text("episode_len_s: 2.0\nwind_mean_mps: [1.0, 0.5, 0.0]\nwind_gust_std_mps: 0.7\n")
    return [str(folder / "short.yaml"), str(folder / "gusty.yaml")]


@pytest.fixture(scope="module")
def serial(short, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "serial"
    result = evaluate("expert", "multi-follow", short, 3, seed=5, workers=1, out=out, progress=False, num_drones=2)
    return result, out


def _lines(folder):
    return (folder / "records.jsonl").read_text().splitlines()


def test_team_records_and_summaries(serial, short):
    result, out = serial
    assert [(r["scenario"], r["episode"]) for r in result.records] == [(s, k) for s in short for k in range(3)]
    assert [r["seed"] for r in result.records[:3]] == [r["seed"] for r in result.records[3:]]  # paired scenarios
    for r in result.records:
        assert r["num_drones"] == 2 and len(r["agent_success"]) == len(r["agent_leader_distance_m"]) == 2
        assert r["success"] == all(r["agent_success"]) and r["time_s"] == pytest.approx(2.0)
        assert all(0.0 <= f <= 1.0 for f in r["agent_tracked_fraction"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["request"]["num_drones"] == 2
    calm = summary["scenarios"][short[0]]
    assert calm["successes"] == sum(r["success"] for r in result.records[:3])
    assert calm["agent_successes"] == sum(sum(r["agent_success"]) for r in result.records[:3])
    assert calm["success_rate"] == 1.0 and calm["collision_rate"] == 0.0  # the team expert flies the formation
    assert "agent_ci95_low" in (out / "summary.csv").read_text().splitlines()[0]
    table = (out / "table.md").read_text()
    assert "| team success | agent success | collision | crash |" in table and "| 3/3 [" in table
    assert "tracked" in table and "t_success_s" not in table  # MultiFollow's metrics only


def test_team_records_identical_for_one_and_two_workers(serial, short, tmp_path):
    evaluate("expert", "multi-follow", short, 3, seed=5, workers=2, out=tmp_path, progress=False, num_drones=2)
    assert _lines(tmp_path) == _lines(serial[1])


def _dies_on_episode_1(request, scenario, index):
    if scenario.endswith("gusty.yaml") and index == 1:
        os._exit(13)  # a killed worker process
    return _REAL(request, scenario, index)


_REAL = evaluator_module.evaluate_episode


def test_team_evaluation_resumes_after_a_killed_worker(serial, short, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluator_module, "evaluate_episode", _dies_on_episode_1)
    with pytest.raises(RuntimeError, match="Run the same command again to resume"):
        evaluate("expert", "multi-follow", short, 3, seed=5, workers=2, out=tmp_path, progress=False, num_drones=2)
    assert 0 < len((tmp_path / "records.partial.jsonl").read_text().splitlines()) < 6
    monkeypatch.setattr(evaluator_module, "evaluate_episode", _REAL)
    with pytest.raises(EvaluationError, match="another request.*num_drones"):
        evaluate("expert", "multi-follow", short, 3, seed=5, out=tmp_path, progress=False, num_drones=3)
    evaluate("expert", "multi-follow", short, 3, seed=5, workers=1, out=tmp_path, progress=False, num_drones=2)
    assert _lines(tmp_path) == _lines(serial[1])


def test_scripted_controllers_fly_every_agent(short):
    result = evaluate("scripted:hover-in-place", "multi-fly-to-target", short[:1], 1, progress=False, num_drones=3)
    (r,) = result.records
    assert r["num_drones"] == 3 and not any(r["agent_success"]) and r["agent_time_to_success_s"] == [None] * 3
    assert min(r["agent_final_distance_m"]) > 0.5  # hovering at the start, 1.5-4 m from every target


@pytest.fixture(scope="module")
def team_agent(tmp_path_factory):
    """An untrained shared policy saved as if trained on multi-follow with 2 drones, kin observations."""
    from ltc_drones.agents import env_spec_of
    from ltc_drones.agents.checkpoint import save_checkpoint
    from ltc_drones.models import Policy, PolicyConfig

    env = make_team_env("multi-follow", num_drones=2)
    spec = env_spec_of(env, "multi-follow", "nominal")
    env.close()
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(obs_kind="kin", obs_dim=env.observation_space("drone_0").shape[0], core="mlp"))
    return str(save_checkpoint(tmp_path_factory.mktemp("agent") / "agent.pt", policy, spec))


def test_a_shared_agent_flies_its_trained_team_size_by_default(team_agent, short):
    result = evaluate(team_agent, "multi-follow", short[:1], 1, progress=False)
    assert result.request.num_drones == 2 and len(result.records[0]["agent_success"]) == 2
    bigger = evaluate(team_agent, "multi-follow", short[:1], 1, progress=False, num_drones=3)
    assert len(bigger.records[0]["agent_success"]) == 3  # one policy per agent flies any team size


def test_mismatched_requests_are_refused_before_anything_flies(team_agent, short, monkeypatch):
    def no_flying(*args, **kwargs):
        raise AssertionError("an episode was flown")

    monkeypatch.setattr(evaluator_module, "evaluate_episode", no_flying)
    refusals = [
        ((team_agent, "multi-fly-to-target"), {}, "trained on task 'multi-follow', not 'multi-fly-to-target'"),
        ((team_agent, "multi-follow"), {"obs": "rgb"}, "obs='kin', not obs='rgb'"),
        ((KIN_AGENT, "multi-fly-to-target"), {}, "trained on task 'fly-to-target'"),
        (("expert", "fly-to-target"), {"num_drones": 2}, "num_drones applies to the multi-agent tasks"),
        (("expert", "multi-follow"), {"num_drones": 9}, "from 2 to 8"),
        (("expert", "multi-follow"), {"diagnostics": object()}, "single-agent tasks only"),
    ]
    for args, kwargs, message in refusals:
        with pytest.raises(EvaluationError, match=message):
            evaluate(*args, short[:1], 1, progress=False, **kwargs)
    env = make_team_env("multi-follow", num_drones=2, obs="rgb")
    with pytest.raises(ValueError, match="expects observations"):  # an agent never flies an env of another kind
        ControllerSpec.parse(team_agent).build(env)
    env.close()


# ---- the command line ---------------------------------------------------------------------------------------
def test_cli_evaluate_prints_the_team_table(capsys, tmp_path):
    out = tmp_path / "ev"
    code = cli_main(["evaluate", "--agent", "expert", "--task", "multi-fly-to-target", "--num-drones", "2",
                     "--scenarios", "nominal", "--episodes", "2", "--workers", "1", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "| team success | agent success | collision | crash |" in text
    assert "| nominal | 2/2 [" in text and "| 4/4 [" in text
    assert "2/2 team successes with 2 drones" in text
    assert json.loads((out / "meta.json").read_text())["num_drones"] == 2
    code = cli_main(["evaluate", "--agent", "expert", "--task", "fly-to-target", "--num-drones", "2",
                     "--out", str(tmp_path / "no")])
    assert code == 2 and "num_drones applies" in capsys.readouterr().err and not (tmp_path / "no").exists()


def test_team_video_shows_the_chase_view_beside_the_chosen_agents_onboard_view(short, tmp_path, capsys):
    import imageio.v2 as imageio

    env = make_team_env("multi-follow", num_drones=2, scenario=short[0], render_mode="rgb_array")
    cam = env.camera.config
    env.reset(seed=3)
    chase_h, chase_w = env.render().shape[:2]
    k = chase_h // cam.height
    record = record_episode(env, ControllerSpec("expert").build(env), 3, follower=1)
    assert len(record.frames) == record.steps + 1
    assert record.frames[0].shape == (chase_h, chase_w + 4 + cam.width * k, 3)
    env.reset(seed=3)
    right = record.frames[0][: cam.height * k, chase_w + 4:]
    assert np.array_equal(right, upscale_nearest(env.onboard_camera(1)[0], chase_h))
    assert not np.array_equal(right, upscale_nearest(env.onboard_camera(0)[0], chase_h))
    env.close()
    video = tmp_path / "team.gif"
    code = cli_main(["rollout", "--agent", "expert", "--task", "multi-follow", "--num-drones", "2", "--scenario",
                     short[0], "--episodes", "1", "--follower", "1", "--video", str(video)])
    assert code == 0 and "1/1 team successes" in capsys.readouterr().out
    assert imageio.mimread(video)[0].shape[:2] == (chase_h, chase_w + 4 + cam.width * k)
    code = cli_main(["rollout", "--agent", "expert", "--task", "multi-follow", "--num-drones", "2",
                     "--follower", "2", "--video", str(tmp_path / "no.gif")])
    assert code == 2 and "--follower 2" in capsys.readouterr().err and not (tmp_path / "no.gif").exists()


# ---- benchmark grids ----------------------------------------------------------------------------------------
TEAM_GRID = {
    "name": "tiny-team", "task": "multi-fly-to-target", "num_drones": 2, "obs": "kin", "archs": ["mlp"],
    "seeds": [0], "demo_episodes": 2, "episodes": 2, "shifts": ["wind-gusts"], "levels": [5],
    "train": {"algo": "bc", "iterations": 6, "eval_every": 3, "window": 8, "warmup": 2, "batch": 4,
              "eval_episodes": 1},
}


@pytest.mark.parametrize(("change", "message"), [
    ({"num_drones": None}, "give num_drones"),
    ({"num_drones": 12}, "from 2 to 8"),
    ({"task": "fly-to-target"}, "num_drones applies to the multi-agent tasks"),
    ({"train": {"num_drones": 3}}, "train may not set"),
])
def test_bad_team_grids_are_refused(change, message):
    with pytest.raises(GridError, match=message):
        grid_from_dict({k: v for k, v in {**TEAM_GRID, **change}.items() if v is not None})


def test_a_tiny_team_grid_runs_end_to_end(tmp_path):
    from ltc_drones.benchmark.run import run_benchmark

    grid = grid_from_dict(TEAM_GRID)
    assert grid.to_dict()["num_drones"] == 2
    single = {**{k: v for k, v in TEAM_GRID.items() if k != "num_drones"}, "task": "fly-to-target"}
    assert "num_drones" not in grid_from_dict(single).to_dict()  # single-agent grids keep their identity
    summary = run_benchmark(grid, tmp_path / "results", tmp_path / "work", workers=1, progress=False)
    assert summary["done"] == summary["cells"] == 4 and not summary["failed"]
    cell = json.loads((tmp_path / "results" / "cells" / "eval__mlp__seed0__wind-gusts.json").read_text())
    outcome = cell["scenarios"]["wind-gusts@5"]
    assert len(outcome["agent_success"]) == 2 and all(len(a) == 2 for a in outcome["agent_success"])
    assert outcome["success"] == [int(all(a)) for a in outcome["agent_success"]]  # team success
    rows = (tmp_path / "results" / "summary.csv").read_text().splitlines()
    assert rows[0].endswith("agent_success_rate,collision_rate") and len(rows) == 3
    assert "with 2 drones (success: every drone succeeded)" in (tmp_path / "results" / "table.md").read_text()


def test_the_shipped_camera_only_team_agent_reproduces_its_model_card_episode(tmp_path):
    """agents/multi-follow__ltc-ncp__rgb flies the first test episode of its card exactly as recorded there."""
    card = json.loads((Path("agents") / "multi-follow__ltc-ncp__rgb" / "eval.json").read_text())
    assert (card["task"], card["num_drones"], card["obs"], card["arch"]) == ("multi-follow", 2, "rgb", "ltc-ncp")
    assert card["test"]["successes"] >= 0.8 * card["test"]["episodes"]  # the bar (80 %), on the card's test
    seed = card["test"]["seed_start"]
    result = evaluate("agents/multi-follow__ltc-ncp__rgb", "multi-follow", ["nominal"], 1, seed=seed, workers=1,
                      out=tmp_path / "eval")
    (rec,) = result.records
    assert rec["num_drones"] == 2 and rec["seed"] == seed
    assert rec["success"] is True and rec["agent_success"] == [True, True]
    assert rec["agent_tracked_fraction"] == [1.0, 1.0]


def test_a_team_grid_with_diagnostics_measures_attention_on_the_other_drones(tmp_path):
    from ltc_drones.benchmark.run import run_benchmark
    from ltc_drones.diagnostics.closed_loop import ClosedLoopDiagnostics

    spec = {**TEAM_GRID, "task": "multi-follow", "obs": "rgb", "shifts": ["distractors"], "levels": [3], "episodes": 1,
            "diagnostics": {"episodes": 1, "methods": ["saliency"], "sanity_episodes": 1, "sanity_frames": 2,
                            "sanity_draws": 1, "intervention_episodes": 0}}
    summary = run_benchmark(grid_from_dict(spec), tmp_path / "results", tmp_path / "work", workers=1,
                            progress=False, diagnostics=ClosedLoopDiagnostics)
    assert summary["done"] == summary["cells"] == 5 and not summary["failed"]  # data, train, 2 eval, diag
    cell = json.loads((tmp_path / "results" / "cells" / "diag__mlp__seed0.json").read_text())
    attention = cell["scenarios"]["nominal"]["attention"]["saliency"]
    assert set(attention) == {"target", "distractor", "scenery", "drone"}
    assert attention["target"][0] is not None  # the followers start with the leader in view
    header = (tmp_path / "results" / "summary.csv").read_text().splitlines()[0].split(",")
    assert {"att_target_saliency", "att_drone_saliency"} <= set(header)
