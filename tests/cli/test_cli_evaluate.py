"""``ltc-drones evaluate`` and ``ltc-drones benchmark``: a table and files, refusals before anything flies."""

import json

import pytest
import yaml

KIN_AGENT = "agents/fly-to-target__ltc-ncp__kin"


def test_evaluate_prints_a_table_and_writes_records(cli, tmp_path):
    out = tmp_path / "ev"
    r = cli("evaluate", "--agent", "expert", "--task", "fly-to-target", "--scenarios", "nominal,wind-gusts@2",
            "--episodes", "2", "--workers", "1", "--out", out)
    assert r.code == 0, r.err
    assert "| nominal |" in r.out and "| wind-gusts@2 |" in r.out and "2/2" in r.out
    assert len((out / "records.jsonl").read_text().splitlines()) == 4
    assert set(json.loads((out / "summary.json").read_text())["scenarios"]) == {"nominal", "wind-gusts@2"}


@pytest.mark.parametrize(("argv", "message"), [
    (["--agent", KIN_AGENT, "--task", "hover"], "trained on task 'fly-to-target', not 'hover'"),
    (["--agent", KIN_AGENT, "--obs", "rgb"], "not obs='rgb'"),
    (["--agent", "expert", "--scenarios", "nominal,fog@7"], "fog"),
    (["--agent", "expert", "--scenarios", "nominal,no-such-shift"], "no-such-shift"),
    (["--agent", "nowhere.pt"], "no agent at"),
    (["--agent", "expert", "--episodes", "0"], "--episodes must be at least 1"),
])
def test_evaluate_refuses_before_flying(cli, no_env, tmp_path, argv, message):
    r = cli("evaluate", *argv, "--out", tmp_path / "ev")
    assert r.code == 2 and message in r.text and "Traceback" not in r.err
    assert not (tmp_path / "ev").exists()


def test_benchmark_refuses_a_bad_grid_before_training(cli, no_env, tmp_path):
    grid = {"name": "bad", "task": "fly-to-target", "obs": "kin", "archs": ["ltc-ncp", "transformer"], "seeds": [0]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(grid))
    r = cli("benchmark", "--grid", path, "--results", tmp_path / "res", "--work", tmp_path / "work")
    assert r.code == 2 and "unknown architecture 'transformer'" in r.text
    assert not (tmp_path / "work").exists() and not (tmp_path / "res").exists()
    r = cli("benchmark", "--grid", "benchmarks/smoke.yaml", "--archs", "gru", "--results", tmp_path / "res")
    assert r.code == 2 and "gru not in the grid" in r.text


def test_help_of_evaluate_and_benchmark(cli):
    for command, options in (("evaluate", ["--agent", "--scenarios", "--episodes", "--workers", "--out"]),
                             ("benchmark", ["--grid", "--executor", "--workers", "--ray-address", "--archs"])):
        r = cli(command, "--help")
        assert r.code == 0
        for option in options:
            assert option in r.text
