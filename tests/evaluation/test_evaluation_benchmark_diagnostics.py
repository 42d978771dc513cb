"""Benchmark diagnostics: ``diag`` cells add attention columns, tables, ``attention.png`` and an intervention table;
switching them on for a finished grid runs only those cells and leaves every other output's content in place."""

import dataclasses
import json

import pytest
import torch

from ltc_drones.benchmark.analysis import write_analysis
from ltc_drones.benchmark.grid import GridError, grid_from_dict
from ltc_drones.benchmark.run import BenchmarkError, run_benchmark
from ltc_drones.diagnostics.closed_loop import ClosedLoopDiagnostics
from ltc_drones.evaluation.metrics import wilson_interval

torch.set_num_threads(1)

TINY_RGB = {
    "name": "tiny-rgb", "task": "fly-to-target", "obs": "rgb", "archs": ["ltc-ncp", "mlp"], "seeds": [0],
    "demo_episodes": 2, "train": {"algo": "bc", "iterations": 8, "eval_every": 8, "window": 8, "warmup": 2,
                                  "batch": 4, "eval_episodes": 1},
    "episodes": 1, "shifts": ["distractors"], "levels": [3],
}
DIAG = {"episodes": 1, "intervention_episodes": 1, "intervention_kinds": ["jump"], "sanity_episodes": 1,
        "sanity_frames": 4, "sanity_draws": 1}


def _outputs(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench-diag")
    grid = grid_from_dict(TINY_RGB)
    run_benchmark(grid, base / "results", base / "work", workers=2, progress=False)
    before = _outputs(base / "results")
    with_diag = grid_from_dict({**TINY_RGB, "diagnostics": DIAG})
    summary = run_benchmark(with_diag, base / "results", base / "work", workers=2, progress=False,
                            diagnostics=ClosedLoopDiagnostics)
    return with_diag, base / "results", before, summary


def test_diagnostics_cells_add_columns_tables_and_plots(runs):
    grid, res, before, summary = runs
    assert summary["done"] == summary["cells"] == 1 + 2 * (1 + 2 + 1) and not summary["failed"]
    for name in ("attention.png", "attention.csv", "interventions.csv", "diagnostics.json"):
        assert (res / name).is_file(), name
    cell = json.loads((res / "cells" / "diag__mlp__seed0.json").read_text())
    assert cell["checks"]["methods"][0] == "visual_backprop"  # measured even when it fails its sanity check
    assert set(cell["scenarios"]) == set(grid.scenarios)
    header, *rows = (res / "summary.csv").read_text().splitlines()
    old_header, *old_rows = before["summary.csv"].decode().splitlines()
    assert header.startswith(old_header + ",att_target_visual_backprop,")
    assert [r[:len(o)] for r, o in zip(rows, old_rows, strict=True)] == old_rows  # old columns unchanged
    assert all(r.split(",")[len(old_header.split(","))] for r in rows)  # every row has its attention value
    table = (res / "table.md").read_text()
    assert table.startswith(before["table.md"].decode().rstrip("\n")) and "## Diagnostics" in table
    assert "Attention on the target, `visual_backprop`" in table and "| mlp | nominal | jump | 1/1 | 0/1 [" in table
    att = (res / "attention.csv").read_text().splitlines()
    assert att[0].startswith("arch,scenario,shift,level,method,") and len(att) >= 1 + 2 * 2


def test_only_the_diagnostics_cells_ran(runs):
    _, res, before, _ = runs
    after = _outputs(res)
    changed = sorted(k for k in before if after[k] != before[k])
    assert changed == ["summary.csv", "table.md"]  # extended, see above; cells, grid.json, plots untouched
    new = set(after) - set(before)
    assert {"attention.csv", "attention.png", "cells/diag__ltc-ncp__seed0.json", "cells/diag__mlp__seed0.json",
            "diagnostics.json", "interventions.csv"} <= new
    assert all(k.startswith("attention_") for k in new - {"attention.csv", "attention.png", "diagnostics.json",
                                                          "interventions.csv"} if not k.startswith("cells/"))


def test_other_diagnostics_settings_and_missing_provider_are_refused(runs, tmp_path):
    grid, res, _, _ = runs
    other = dataclasses.replace(grid, diagnostics={**grid.diagnostics, "episodes": 2})
    with pytest.raises(BenchmarkError, match="other settings"):
        run_benchmark(other, res, tmp_path, progress=False, diagnostics=ClosedLoopDiagnostics)
    with pytest.raises(BenchmarkError, match="asks for diagnostics"):
        run_benchmark(grid, tmp_path / "r", tmp_path / "w", progress=False)
    with pytest.raises(ValueError, match="diagnostics off"):
        run_benchmark(grid_from_dict(TINY_RGB), tmp_path / "r", tmp_path / "w", progress=False,
                      diagnostics=ClosedLoopDiagnostics)


def test_grid_diagnostics_key_is_validated():
    assert grid_from_dict({**TINY_RGB, "diagnostics": True}).diagnostics == {"episodes": 10}
    assert "diagnostics" not in grid_from_dict(TINY_RGB).to_dict()
    assert grid_from_dict({**TINY_RGB, "diagnostics": False}).cells() == grid_from_dict(TINY_RGB).cells()
    with pytest.raises(GridError, match="unknown diagnostics key"):
        grid_from_dict({**TINY_RGB, "diagnostics": {"episode": 3}})
    with pytest.raises(GridError, match="episodes must be an integer"):
        grid_from_dict({**TINY_RGB, "diagnostics": {"episodes": 0}})
    fields = {f.name for f in dataclasses.fields(ClosedLoopDiagnostics)}
    from ltc_drones.benchmark.grid import DIAGNOSTICS_KEYS

    assert set(DIAGNOSTICS_KEYS) == fields | {"episodes"}  # the grid's keys are the provider's settings


def _diag_cell(arch, seed, target, responded, methods=("visual_backprop",), failed=True):
    att = {m: {"target": target, "distractor": [None] * len(target), "scenery": [1.0] * len(target)} for m in methods}
    return {"cell": f"diag__{arch}__seed{seed}", "kind": "diag", "arch": arch, "seed": seed, "shard": "",
            "settings": {"episodes": len(target)}, "provider": {"methods": list(methods)},
            "checks": {"methods": list(methods), "failed_sanity": {m: failed for m in methods},
                       "full_randomisation_spearman": {m: 0.8 if failed else 0.1 for m in methods}},
            "scenarios": {"nominal": {"attention": att}},
            "interventions": {"nominal": {"jump": {"applied": [True] * len(responded), "responded": responded,
                                                   "response_time_s": [0.5 if r else None for r in responded],
                                                   "success": responded, "crashed": [False] * len(responded)}}}}


def test_pooled_statistics_of_handmade_cells(tmp_path):
    grid = grid_from_dict({**TINY_RGB, "seeds": [0, 1], "shifts": [], "diagnostics": True})
    cells = tmp_path / "cells"
    cells.mkdir()
    recs = [_diag_cell("ltc-ncp", 0, [2.0, 4.0], [True, False]), _diag_cell("ltc-ncp", 1, [6.0, None], [True, True]),
            {"cell": "eval__ltc-ncp__seed0__nominal", "kind": "eval", "arch": "ltc-ncp", "seed": 0,
             "shard": "nominal", "scenarios": {"nominal": {"success": [1, 0]}}}]
    for rec in recs:
        (cells / f"{rec['cell']}.json").write_text(json.dumps(rec))
    out = write_analysis(grid, tmp_path)["diagnostics"]
    (row,) = out["attention"]
    assert (row["target"], row["episodes"], row["seeds"]) == (4.0, 3, 2)  # episodes pooled; never-in-view left out
    assert row["ci95_low"] < 4.0 < row["ci95_high"] and row["distractor"] is None and row["scenery"] == 1.0
    assert row["failed_sanity_seeds"] == 2
    (iv,) = out["interventions"]
    lo, hi = wilson_interval(3, 4)
    assert (iv["response_count"], iv["applied"], iv["t_response_median_s"]) == (3, 4, 0.5)
    assert (iv["response_ci95_low"], iv["response_ci95_high"]) == (round(lo, 4), round(hi, 4))
    header, line = (tmp_path / "summary.csv").read_text().splitlines()
    cols = dict(zip(header.split(","), line.split(","), strict=True))
    assert cols["att_target_visual_backprop"] == "4.0" and cols["att_distractor_visual_backprop"] == ""
    table = (tmp_path / "table.md").read_text()
    assert "FAILED the sanity check for ltc-ncp 2/2 agent(s)" in table and "| ltc-ncp | 2/2 (0.80) |" in table
