"""The benchmark: grids are validated before anything trains; a tiny grid runs end to end with the
process executor and with Ray on a local 2-CPU instance, with identical outputs; finished cells are kept."""

import json

import pytest
import torch

from ltc_drones.benchmark.grid import GridError, grid_from_dict, load_grid
from ltc_drones.benchmark.run import run_benchmark

torch.set_num_threads(1)

TINY = {
    "name": "tiny", "task": "fly-to-target", "obs": "kin", "archs": ["ltc-ncp", "mlp"], "seeds": [0],
    "demo_episodes": 3, "train": {"algo": "bc", "iterations": 12, "eval_every": 6, "window": 8, "warmup": 2,
                                  "batch": 4},
    "episodes": 2, "shifts": ["wind-gusts"], "levels": [1, 5],
}


@pytest.mark.parametrize(("change", "message"), [
    ({"archs": ["ltc-ncp", "transformer"]}, "unknown architecture 'transformer'"),
    ({"task": "fly-to-mars"}, "unknown task 'fly-to-mars'"),
    ({"shifts": ["wind-gusts", "earthquake"]}, "unknown shift 'earthquake'"),
    ({"levels": [1, 9]}, "wind-gusts@9"),
    ({"colour": "red"}, "unknown key"),
    ({"train": {"arch": "gru"}}, "train may not set"),
    ({"train": {"iterations": 0}}, "iterations"),
])
def test_bad_grids_are_refused_naming_the_entry(change, message, tmp_path):
    with pytest.raises(GridError, match=message):
        grid_from_dict({**TINY, **change})


def test_grid_files_in_the_repo_are_valid():
    import pathlib

    files = sorted(pathlib.Path("benchmarks").glob("*.yaml"))
    assert files, "benchmarks/ holds the grid definitions"
    for f in files:
        grid = load_grid(f)
        assert grid.cells() and grid.scenarios[0] == "nominal"


def test_cells_and_dependencies():
    grid = grid_from_dict(TINY)
    cells = {c.id: c for c in grid.cells()}
    assert len(cells) == 1 + 2 * (1 + 2)
    assert cells["eval__mlp__seed0__wind-gusts"].needs == ("train__mlp__seed0",)
    assert cells["train__mlp__seed0"].needs == ("data__seed0",)
    assert grid.shard_scenarios("wind-gusts") == ["wind-gusts@1", "wind-gusts@5"]


def _outputs(folder):
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def process_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    grid = grid_from_dict(TINY)
    summary = run_benchmark(grid, base / "results", base / "work", executor="process", workers=2, progress=False)
    return grid, base, summary


def test_tiny_grid_with_the_process_executor(process_run):
    grid, base, summary = process_run
    assert summary["done"] == summary["cells"] == 7 and not summary["failed"]
    res = base / "results"
    for name in ("summary.csv", "table.md", "levels.csv", "differences.csv", "nominal.png", "severity.png",
                 "heatmap.png", "grid.json"):
        assert (res / name).is_file(), name
    rows = (res / "summary.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 3  # header + 2 archs x (nominal, wind-gusts@1, wind-gusts@5)
    table = (res / "table.md").read_text()
    assert "| ltc-ncp |" in table and "| mlp |" in table and "wind-gusts@5" in table
    train = json.loads((res / "cells" / "train__ltc-ncp__seed0.json").read_text())
    assert train["parameters"] > 0
    ev = json.loads((res / "cells" / "eval__mlp__seed0__wind-gusts.json").read_text())
    assert set(ev["scenarios"]) == {"wind-gusts@1", "wind-gusts@5"}
    assert all(len(v["success"]) == 2 for v in ev["scenarios"].values())


def test_finished_cells_are_not_run_again(process_run):
    grid, base, _ = process_run
    before = _outputs(base / "results" / "cells")
    summary = run_benchmark(grid, base / "results", base / "work", executor="process", workers=2, progress=False)
    assert summary["done"] == 7 and _outputs(base / "results" / "cells") == before


def test_ray_executor_gives_identical_outputs(process_run, tmp_path):
    pytest.importorskip("ray")
    grid, base, _ = process_run
    run_benchmark(grid, tmp_path / "results", tmp_path / "work", executor="ray", workers=2, progress=False)
    ours, theirs = _outputs(tmp_path / "results"), _outputs(base / "results")
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name] == theirs[name], name


def test_a_lost_work_folder_is_rebuilt_for_the_cells_still_to_run(process_run, tmp_path):
    """On a new machine the committed records are there but the work folder is not: a train cell whose
    evaluation is unfinished runs again (with its demonstrations) and gives the same records."""
    import shutil

    grid, base, _ = process_run
    results = tmp_path / "results"
    shutil.copytree(base / "results", results)
    before = _outputs(results / "cells")
    for p in (results / "cells").glob("eval__mlp__*.json"):
        p.unlink()
    summary = run_benchmark(grid, results, tmp_path / "fresh_work", executor="process", workers=1, progress=False)
    assert summary["done"] == 7 and not summary["failed"]
    assert (tmp_path / "fresh_work" / "runs" / "mlp__seed0" / "best.pt").is_file()
    assert not (tmp_path / "fresh_work" / "runs" / "ltc-ncp__seed0").exists()  # not needed: nothing left to run
    assert _outputs(results / "cells") == before
