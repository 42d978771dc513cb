"""The closed-loop evaluator: identical records for any worker count, exact resume, early refusals."""

import json
import os

import pytest
import torch

from ltc_drones.envs import ScenarioError
from ltc_drones.evaluation import EvaluationError, evaluate
from ltc_drones.evaluation import evaluator as evaluator_module

torch.set_num_threads(1)
KIN_AGENT = "agents/fly-to-target__ltc-ncp__kin"
SCENARIOS = ("nominal", "wind-gusts@3")


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "serial"
    return evaluate("expert", "fly-to-target", SCENARIOS, 3, seed=5, workers=1, out=out, progress=False), out


def _lines(folder):
    return (folder / "records.jsonl").read_text().splitlines()


def test_outputs_and_summary(serial):
    result, out = serial
    assert [(r["scenario"], r["episode"]) for r in result.records] == [(s, k) for s in SCENARIOS for k in range(3)]
    assert [r["seed"] for r in result.records[:3]] == [r["seed"] for r in result.records[3:]]  # paired scenarios
    assert len({r["seed"] for r in result.records}) == 3
    assert len(_lines(out)) == 6 and not (out / "records.partial.jsonl").exists()
    summary = json.loads((out / "summary.json").read_text())["scenarios"]
    assert set(summary) == set(SCENARIOS)
    assert summary["nominal"]["successes"] == sum(r["success"] for r in result.records[:3])
    lo, hi = summary["nominal"]["success_ci95"]
    assert 0 <= lo <= summary["nominal"]["success_rate"] <= hi <= 1
    assert (out / "summary.csv").read_text().startswith("scenario,")
    assert "| wind-gusts@3 |" in (out / "table.md").read_text()
    assert all(r["success"] and r["path_efficiency"] > 0.5 for r in result.records)  # the expert flies straight


def test_records_identical_for_one_and_two_workers(serial, tmp_path):
    evaluate("expert", "fly-to-target", SCENARIOS, 3, seed=5, workers=2, out=tmp_path, progress=False)
    assert _lines(tmp_path) == _lines(serial[1])


def _dies_on_episode_1(request, scenario, index):
    if scenario == "wind-gusts@3" and index == 1:
        os._exit(13)  # a killed worker process
    return _REAL(request, scenario, index)


_REAL = evaluator_module.evaluate_episode


def test_resume_after_a_killed_worker_pool_gives_the_same_records(serial, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluator_module, "evaluate_episode", _dies_on_episode_1)
    with pytest.raises(RuntimeError, match="Run the same command again to resume"):
        evaluate("expert", "fly-to-target", SCENARIOS, 3, seed=5, workers=2, out=tmp_path, progress=False)
    kept = (tmp_path / "records.partial.jsonl").read_text().splitlines()
    assert 0 < len(kept) < 6 and not (tmp_path / "records.jsonl").exists()
    monkeypatch.setattr(evaluator_module, "evaluate_episode", _REAL)
    evaluate("expert", "fly-to-target", SCENARIOS, 3, seed=5, workers=1, out=tmp_path, progress=False)
    assert _lines(tmp_path) == _lines(serial[1])


def test_a_torn_last_line_is_flown_again(serial, tmp_path):
    evaluate("expert", "fly-to-target", ["nominal"], 2, seed=5, out=tmp_path, progress=False)
    first = _lines(tmp_path)
    (tmp_path / "records.partial.jsonl").write_text(first[0] + "\n" + first[1][:20])  # killed mid-write
    (tmp_path / "records.jsonl").unlink()
    evaluate("expert", "fly-to-target", ["nominal"], 2, seed=5, out=tmp_path, progress=False)
    assert _lines(tmp_path) == first


def test_another_request_for_the_same_folder_is_refused(serial):
    with pytest.raises(EvaluationError, match="another request"):
        evaluate("expert", "fly-to-target", SCENARIOS, 4, seed=5, out=serial[1], progress=False)


def test_refusals_before_anything_flies(tmp_path, monkeypatch):
    def no_flying(*args, **kwargs):
        raise AssertionError("an episode was flown")

    monkeypatch.setattr(evaluator_module, "evaluate_episode", no_flying)
    with pytest.raises(EvaluationError, match="trained on task 'fly-to-target', not 'hiking'"):
        evaluate(KIN_AGENT, "hiking", episodes=2, progress=False)
    with pytest.raises(EvaluationError, match="obs='kin', not obs='rgb'"):
        evaluate(KIN_AGENT, "fly-to-target", episodes=2, obs="rgb", progress=False)
    with pytest.raises(ScenarioError, match="no-such-shift"):
        evaluate("expert", "fly-to-target", ["nominal", "no-such-shift@1"], 2, progress=False)
    with pytest.raises(EvaluationError, match="unknown task"):
        evaluate("expert", "fly-to-nowhere", episodes=2, progress=False)
    with pytest.raises(EvaluationError, match="no agent at"):
        evaluate(str(tmp_path / "missing.pt"), "fly-to-target", episodes=2, progress=False)
    with pytest.raises(EvaluationError, match="unknown scripted controller"):
        evaluate("scripted:dance", "fly-to-target", episodes=2, progress=False)


def test_scripted_controllers_and_following_metrics(tmp_path):
    result = evaluate("scripted:hover-in-place", "follow-target", ["nominal"], 2, progress=False)
    for r in result.records:
        assert not r["success"]
        assert 0.0 <= r["tracked_fraction"] < 1.0 and r["tracking_error_m"] >= 0.0
        assert r["path_efficiency"] is None
    expert = evaluate("expert", "follow-target", ["nominal"], 2, progress=False)
    assert all(r["success"] and r["tracked_fraction"] > 0.9 for r in expert.records)
