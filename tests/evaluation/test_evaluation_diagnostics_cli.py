"""``ltc-drones evaluate --diagnostics`` and ``ltc-drones benchmark --diagnostics``: outputs, and refusals of
invalid diagnostics settings before anything flies or trains."""

import json

import yaml

from ltc_drones.cli import main


def _run(capsys, *argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_with_diagnostics_prints_and_writes_the_interventions(capsys, tmp_path):
    code, out, err = _run(capsys, "evaluate", "--agent", "expert", "--task", "fly-to-target", "--episodes", "1",
                          "--workers", "1", "--diagnostics", "--intervention-episodes", "1", "--out", tmp_path / "ev")
    assert code == 0, err
    assert "Causal interventions (1 episode(s) per kind)" in out and "| nominal | hide | 1/1 |" in out
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["diagnostics"]["config"]["intervention_episodes"] == 1
    assert set(summary["scenarios"]["nominal"]["interventions"]["kinds"]) == {"jump", "swap", "hide"}


def test_evaluate_refuses_unknown_saliency_methods_before_flying(capsys, tmp_path):
    code, out, err = _run(capsys, "evaluate", "--agent", "expert", "--diagnostics", "--diagnostics-methods",
                          "visual_backprop,gradcam", "--out", tmp_path / "ev")
    assert code == 2 and "unknown saliency method 'gradcam'" in err and not (tmp_path / "ev").exists()


def test_benchmark_refuses_invalid_diagnostics_settings_before_training(capsys, tmp_path):
    grid = yaml.safe_load(open("benchmarks/smoke.yaml"))
    for settings, message in (({"episode": 3}, "unknown diagnostics key"),
                              ({"methods": ["gradcam"]}, "unknown saliency method 'gradcam'")):
        path = tmp_path / "grid.yaml"
        path.write_text(yaml.safe_dump({**grid, "diagnostics": settings}))
        code, out, err = _run(capsys, "benchmark", "--grid", path, "--results", tmp_path / "res", "--work",
                              tmp_path / "work")
        assert code == 2 and message in err, err
        assert not (tmp_path / "work").exists() and not (tmp_path / "res").exists()


def test_diagnose_refuses_a_multi_agent_task_before_flying(capsys, tmp_path):
    code, out, err = _run(capsys, "diagnose", "--agent", "agents/fly-to-target__ltc-ncp__rgb", "--task", "multi-follow",
                          "--episodes", "1", "--out", tmp_path / "diag")
    assert code == 2 and "multi-follow is multi-agent" in err, err
    assert not (tmp_path / "diag").exists()
