"""``ltc-drones ship``: an agent folder with its model card from a tiny run; refusals before anything flies."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from ltc_drones.agents import load_agent, read_checkpoint
from ltc_drones.seeding import TEST_SEED_START
from ltc_drones.shipping import write_agent_folder
from ltc_drones.tasks import make_env

TINY = ["--task", "hover", "--obs", "kin", "--iterations", "2", "--eval-every", "1", "--batch", "2", "--window", "4",
        "--warmup", "0", "--val-fraction", "0.5", "--workers", "1", "--arch", "gru", "--feature-dim", "8"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A training run of two iterations on two expert Hover episodes (kin), made through the CLI."""
    from ltc_drones.cli import main

    root = tmp_path_factory.mktemp("ship")
    assert main(["collect", "--task", "hover", "--obs", "kin", "--episodes", "2", "--workers", "1",
                 "--out", str(root / "demos")]) == 0
    assert main(["train", *TINY, "--data", str(root / "demos"), "--out", str(root / "runs")]) == 0
    (run,) = (root / "runs").iterdir()
    return run


def test_ship_writes_an_agent_folder_that_loads_and_flies(cli, tiny_run, tmp_path):
    out = tmp_path / "agents"
    r = cli("ship", tiny_run, "--name", "hover__gru__kin", "--out", out, "--work", tmp_path / "work",
            "--test-episodes", "2", "--scenarios", "wind-gusts@2", "--shift-episodes", "1", "--workers", "1",
            "--note", "A tiny test agent.")
    assert r.code == 0, r.err
    folder = out / "hover__gru__kin"
    assert sorted(p.name for p in out.iterdir()) == ["hover__gru__kin"]  # no temporary folder left behind
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "agent.pt", "eval.json"]
    (work,) = (tmp_path / "work").iterdir()  # one folder per shipped checkpoint: its evaluations resume there
    assert sorted(p.name for p in work.iterdir()) == ["agent.pt", "shifts", "test"]
    record = json.loads((folder / "eval.json").read_text())
    assert (record["agent"], record["task"], record["obs"], record["arch"]) == ("hover__gru__kin", "hover", "kin",
                                                                               "gru")
    assert record["run"] == tiny_run.name and record["parameters"] > 0
    assert record["test"]["episodes"] == 2 and record["test"]["seed_start"] == TEST_SEED_START
    assert 0 <= record["test"]["successes"] <= 2 and len(record["test"]["success_ci95"]) == 2
    assert set(record["scenarios"]) == {"wind-gusts@2"} and record["scenarios"]["wind-gusts@2"]["episodes"] == 1
    assert record["command"].startswith(f"ltc-drones ship {tiny_run} --name hover__gru__kin --scenarios wind-gusts@2")
    assert record["train_command"] == "ltc-drones train --config configs/hover-kin-gru.yaml"
    assert record["package_version"] and record["date"]
    card = (folder / "README.md").read_text()
    for text in ("# hover__gru__kin", "| scenario | success |", "| nominal |", "| wind-gusts@2 |", "A tiny test agent.",
                 f"seeds {TEST_SEED_START}..", record["command"], "package version"):
        assert text in card, text
    payload = read_checkpoint(folder / "agent.pt")  # the best checkpoint, without optimiser or RNG state
    assert "optimizer" not in payload and "rng" not in payload and payload["train"]["config"]["arch"] == "gru"
    best = read_checkpoint(tiny_run / "best.pt")
    assert all(torch.equal(best["state_dict"][k], v) for k, v in payload["state_dict"].items())
    env = make_env("hover", obs="kin")
    agent = load_agent(folder, env)
    obs, _ = env.reset(seed=0)
    agent.reset(1)
    for step in range(5):
        obs, *_ = env.step(agent.act(obs, np.array([step == 0])))
    env.close()


def test_ship_a_benchmark_cell_takes_the_shift_scores_of_its_evaluation_cells(cli, tiny_run, tmp_path):
    grid = tmp_path / "tiny.yaml"
    grid.write_text(yaml.safe_dump({"name": "tiny", "task": "hover", "obs": "kin", "archs": ["gru"], "seeds": [0],
                                    "shifts": ["wind-gusts"], "levels": [1, 3], "episodes": 2}))
    results = tmp_path / "results"
    (results / "cells").mkdir(parents=True)
    summary = {"successes": 1, "episodes": 2, "success_ci95": [0.09, 0.91]}
    cell = {"scenarios": {f"wind-gusts@{lv}": {"summary": summary} for lv in (1, 3)}}
    (results / "cells" / "eval__gru__seed0__wind-gusts.json").write_text(json.dumps(cell))
    (results / "cells" / "eval__gru__seed0__nominal.json").write_text(json.dumps({"scenarios": {"nominal": {
        "summary": {"successes": 2, "episodes": 2, "success_ci95": [0.34, 1.0]}}}}))
    run = tmp_path / "work" / "runs" / "gru__seed0"
    run.parent.mkdir(parents=True)
    run.symlink_to(tiny_run, target_is_directory=True)
    r = cli("ship", run, "--grid", grid, "--results", results, "--name", "hover__gru__kin", "--out",
            tmp_path / "agents", "--work", tmp_path / "eval", "--test-episodes", "1", "--workers", "1")
    assert r.code == 0, r.err
    folder = tmp_path / "agents" / "hover__gru__kin"
    record = json.loads((folder / "eval.json").read_text())
    assert (record["arch"], record["training_seed"], record["test"]["episodes"]) == ("gru", 0, 1)
    assert set(record["scenarios"]) == {"nominal", "wind-gusts@1", "wind-gusts@3"}
    card = (folder / "README.md").read_text()
    assert "| scenario | level 1 | level 3 |" in card and "| wind-gusts | 1/2 [0.09, 0.91] | 1/2 [0.09, 0.91] |" in card
    assert f"ltc-drones benchmark --grid {grid} --archs gru --seeds 0" in card
    assert load_agent(folder).env_spec["task"] == "hover"


@pytest.mark.parametrize(("argv", "message"), [
    (["nowhere", "--name", "x"], "RUN nowhere: expected a file or folder, found nothing there"),
    (["{run}", "--name", "taken"], "exists; choose another --name or replace it with --force"),
    (["{run}", "--name", "../x"], "give a plain folder name"),
    (["{run}", "--name", "x", "--scenarios", "no-such-shift@1"], "no-such-shift"),
    (["{run}", "--name", "x", "--test-episodes", "0"], "--test-episodes must be at least 1"),
    (["{run}", "--name", "x", "--grid", "benchmarks/smoke.yaml"], "not a benchmark training run folder"),
])
def test_ship_refuses_before_flying(cli, no_env, tiny_run, tmp_path, argv, message):
    out = tmp_path / "agents"
    (out / "taken").mkdir(parents=True)
    r = cli("ship", *[a.format(run=tiny_run) for a in argv], "--out", out, "--work", tmp_path / "work")
    assert r.code == 2 and message in r.err and "Traceback" not in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["taken"] and not (tmp_path / "work").exists()


def test_an_agent_folder_is_replaced_only_with_force_and_never_left_half_written(tiny_run, tmp_path):
    folder = tmp_path / "agents" / "a"
    write_agent_folder(folder, tiny_run / "best.pt", {"v": 1}, "first\n")
    with pytest.raises(FileExistsError):
        write_agent_folder(folder, tiny_run / "best.pt", {"v": 2}, "second\n")
    with pytest.raises(Exception, match="not a readable checkpoint|no checkpoint"):
        write_agent_folder(folder, tmp_path / "missing.pt", {"v": 3}, "third\n", force=True)
    assert (folder / "README.md").read_text() == "first\n"  # a failed write keeps the previous agent
    write_agent_folder(folder, tiny_run / "best.pt", {"v": 4}, "fourth\n", force=True)
    assert json.loads((folder / "eval.json").read_text()) == {"v": 4}
    assert sorted(p.name for p in folder.parent.iterdir()) == ["a"]
