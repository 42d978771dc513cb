"""``evaluate(..., diagnostics=ClosedLoopDiagnostics())``: attention fields in the records, sanity flags and
intervention summaries in the summaries; identical for 1 and 2 workers; the flight itself unchanged; resumable."""

import json
import shutil

import numpy as np
import pytest
import torch

from ltc_drones.diagnostics.closed_loop import ClosedLoopDiagnostics
from ltc_drones.evaluation import EvaluationError, evaluate

torch.set_num_threads(1)
RGB_AGENT = "agents/fly-to-target__ltc-ncp__rgb"
SCENARIOS = ("distractors@3", "nominal")  # interventions fly in the first: one with distractors to swap with
DIAG = ClosedLoopDiagnostics(methods=("visual_backprop", "saliency", "input_x_gradient"), intervention_episodes=1,
                             sanity_episodes=1, sanity_frames=8, sanity_draws=1)
FILES = ("records.jsonl", "summary.json", "summary.csv", "table.md", "checks.json", "interventions.jsonl",
         "meta.json")


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("diag") / "serial"
    return evaluate(RGB_AGENT, "fly-to-target", SCENARIOS, 2, seed=3, workers=1, out=out, progress=False,
                    diagnostics=DIAG), out


def test_records_carry_attention_of_the_measured_methods(serial):
    result, out = serial
    checks = json.loads((out / "checks.json").read_text())
    assert set(checks["failed_sanity"]) == set(DIAG.methods)
    # Gradient methods are measured only when they pass; VisualBackProp always (flagged when it fails).
    expected = [m for m in DIAG.methods if m == "visual_backprop" or not checks["failed_sanity"][m]]
    assert checks["methods"] == expected
    for s in checks["sanity"].values():
        assert s["failed_sanity"] == (s["full_randomisation_spearman"] > s["threshold"])
    for rec in result.records:
        assert sorted(rec["attention"]) == sorted(expected)
        for m in expected:
            block = rec["attention"][m]
            assert block["frames"] == rec["steps"]  # one measurement before every action
            assert block["target"]["frames_in_view"] > 0 and block["target"]["mean"] > 0
    with_distractors = [r for r in result.records if r["scenario"] == "distractors@3"]
    assert any(r["attention"]["visual_backprop"]["distractor"]["frames_in_view"] > 0 for r in with_distractors)
    assert all(r["attention"]["visual_backprop"]["distractor"]["frames_in_view"] == 0
               for r in result.records if r["scenario"] == "nominal")


def test_scenario_summaries_and_tables(serial):
    result, out = serial
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diagnostics"]["config"] == DIAG.to_dict()
    flags = summary["diagnostics"]["checks"]["failed_sanity"]
    for scenario in SCENARIOS:
        s = summary["scenarios"][scenario]
        recs = [r for r in result.records if r["scenario"] == scenario]
        for m, block in s["attention"].items():
            assert block["failed_sanity"] == flags[m]
            target = block["regions"]["target"]
            assert target["mean"] == pytest.approx(np.mean([r["attention"][m]["target"]["mean"] for r in recs]),
                                                   abs=1e-5)
            assert target["n"] == 2 and target["ci95"][0] <= target["mean"] <= target["ci95"][1]
    iv = summary["scenarios"]["distractors@3"]["interventions"]
    assert "interventions" not in summary["scenarios"]["nominal"]  # only the first scenario
    assert set(iv["kinds"]) == {"jump", "swap", "hide"} and iv["episodes_per_kind"] == 1
    for row in iv["kinds"].values():
        assert row["episodes"] == 1
        lo, hi = row["response"]["wilson95"]
        assert 0 <= lo <= hi <= 1
    lines = (out / "interventions.jsonl").read_text().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["jump", "swap", "hide"]
    header, first, second = (out / "summary.csv").read_text().splitlines()
    assert header.startswith("scenario,") and "att_target_visual_backprop" in header and "swap_response_rate" in header
    assert len(first.split(",")) == len(second.split(",")) == len(header.split(","))
    table = (out / "table.md").read_text()
    assert "Attention ratio" in table and "Causal interventions" in table
    assert ("visual_backprop (failed sanity)" in table) == flags["visual_backprop"]
    assert "| distractors@3 | swap | 1/1 |" in table


def test_identical_for_one_and_two_workers(serial, tmp_path):
    evaluate(RGB_AGENT, "fly-to-target", SCENARIOS, 2, seed=3, workers=2, out=tmp_path, progress=False,
             diagnostics=DIAG)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (serial[1] / name).read_bytes(), name


def test_the_flight_is_the_same_without_diagnostics(serial, tmp_path):
    plain = evaluate(RGB_AGENT, "fly-to-target", SCENARIOS, 2, seed=3, workers=1, out=tmp_path, progress=False)
    assert [{k: v for k, v in r.items() if k != "attention"} for r in serial[0].records] == plain.records
    assert not (tmp_path / "checks.json").exists() and not (tmp_path / "interventions.jsonl").exists()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "diagnostics" not in summary and "attention" not in summary["scenarios"]["nominal"]
    assert "diagnostics" not in json.loads((tmp_path / "meta.json").read_text())
    with pytest.raises(EvaluationError, match="differs in diagnostics"):  # a folder never mixes the two
        evaluate(RGB_AGENT, "fly-to-target", SCENARIOS, 2, seed=3, out=tmp_path, progress=False, diagnostics=DIAG)


def test_an_interrupted_evaluation_resumes_to_the_same_outputs(serial, tmp_path):
    src, out = serial[1], tmp_path / "resumed"
    shutil.copytree(src, out)
    records = (src / "records.jsonl").read_text().splitlines()
    ivs = [json.loads(line) for line in (src / "interventions.jsonl").read_text().splitlines()]
    first_unit = {"scenario": ivs[0]["scenario"], "kind": ivs[0]["kind"], "flown": ivs[0]["flown"],
                  "records": [{k: v for k, v in ivs[0].items() if k not in ("scenario", "flown")}]}
    for name in ("records.jsonl", "interventions.jsonl", "summary.json", "summary.csv", "table.md"):
        (out / name).unlink()
    (out / "records.partial.jsonl").write_text(records[0] + "\n" + records[1][:30])  # killed mid-write
    (out / "interventions.partial.jsonl").write_text(json.dumps(first_unit, sort_keys=True) + "\n{\"scen")
    evaluate(RGB_AGENT, "fly-to-target", SCENARIOS, 2, seed=3, workers=1, out=out, progress=False, diagnostics=DIAG)
    for name in FILES:
        assert (out / name).read_bytes() == (src / name).read_bytes(), name
    assert not (out / "interventions.partial.jsonl").exists()


def test_controllers_without_image_saliency_fly_the_interventions_only(tmp_path):
    diag = ClosedLoopDiagnostics(intervention_episodes=1, intervention_kinds=("jump",))
    result = evaluate("expert", "fly-to-target", ["nominal"], 1, seed=3, out=tmp_path, progress=False,
                      diagnostics=diag)
    checks = result.diagnostics["checks"]
    assert checks["methods"] == [] and "no policy" in checks["note"]
    assert "attention" not in result.records[0] and "attention" not in result.summaries["nominal"]
    jump = result.summaries["nominal"]["interventions"]["kinds"]["jump"]
    assert jump["applied"] == 1 and jump["response"]["count"] == 1  # the privileged expert turns to the target
    assert "Attention ratio" not in result.table() and "| nominal | jump | 1/1 |" in result.table()


@pytest.mark.parametrize(("settings", "message"), [
    ({"methods": ("visual_backprop", "gradcam")}, "unknown saliency method 'gradcam'"),
    ({"intervention_scenarios": "some"}, "'first' or 'all'"),
    ({"intervention_kinds": ("jump", "teleport")}, "intervention_kinds"),
    ({"intervention_episodes": -1}, "intervention_episodes"),
    ({"target": "yaw"}, "action index"),
])
def test_invalid_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        ClosedLoopDiagnostics(**settings)
