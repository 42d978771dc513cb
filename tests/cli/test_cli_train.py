"""``ltc-drones train``: options and --config reach the TrainConfig; --resume; a failed run leaves no folder."""

import json

import pytest
import yaml

from ltc_drones.cli.command import UsageError
from ltc_drones.cli.train import COMMAND
from ltc_drones.training.config import TrainConfig

TINY = ["--task", "hover", "--obs", "kin", "--iterations", "2", "--eval-every", "1", "--batch", "2", "--window", "4",
        "--warmup", "0", "--val-fraction", "0.5", "--workers", "1"]


def parse(*argv) -> TrainConfig:
    return COMMAND.parse([str(a) for a in argv], "ltc-drones train").train


def test_options_and_config_file_fill_train_config(tmp_path):
    assert parse() == TrainConfig()
    cfg = parse("--arch", "gru", "--data", "a", "b", "--core-config", '{"units": 12}', "--finetune-lr", "1e-4",
                "--takeover-lost-s", "0.5", "--conv-pool", "max")
    assert (cfg.arch, cfg.data, cfg.core_config, cfg.finetune_lr, cfg.takeover_lost_s, cfg.conv_pool) == (
        "gru", ("a", "b"), {"units": 12}, 1e-4, 0.5, "max")
    as_yaml = tmp_path / "cfg.yaml"
    as_yaml.write_text(yaml.safe_dump({"arch": "lstm", "lr": 0.01, "data": ["d1"], "core_config": {"units": 8}}))
    cfg = parse("--config", as_yaml, "--lr", "0.002")  # the command line overrides the file
    assert (cfg.arch, cfg.lr, cfg.data, cfg.core_config) == ("lstm", 0.002, ("d1",), {"units": 8})
    as_json = tmp_path / "config.json"  # a run's own config.json is a valid --config
    as_json.write_text(json.dumps(TrainConfig(arch="cfc", seed=3).to_dict()))
    assert parse(f"--config={as_json}") == TrainConfig(arch="cfc", seed=3)
    with pytest.raises(UsageError, match="unknown key"):
        as_json.write_text(json.dumps({"arch": "cfc", "iters": 3}))
        parse("--config", as_json)


@pytest.fixture(scope="module")
def hover_demos(tmp_path_factory):
    """Two expert Hover episodes (kin), collected through the CLI."""
    from ltc_drones.cli import main

    folder = tmp_path_factory.mktemp("demos") / "hover"
    assert main(["collect", "--task", "hover", "--obs", "kin", "--episodes", "2", "--workers", "1",
                 "--out", str(folder)]) == 0
    return folder


def test_train_writes_the_options_into_the_run_and_resumes(cli, hover_demos, tmp_path):
    out = tmp_path / "runs"
    r = cli("train", *TINY, "--arch", "gru", "--feature-dim", "8", "--data", hover_demos, "--out", out)
    assert r.code == 0, r.err
    run = json.loads(r.out)["run"]
    (folder,) = out.iterdir()
    assert str(folder) == run
    written = TrainConfig.from_dict(json.loads((folder / "config.json").read_text()))
    assert written == parse(*TINY, "--arch", "gru", "--feature-dim", "8", "--data", hover_demos, "--out", out)
    assert (folder / "last.pt").is_file()
    resumed = cli("train", "--resume", folder)
    assert resumed.code == 0, resumed.err
    assert json.loads(resumed.out)["step"] == json.loads(r.out)["step"] == 2
    extend = cli("train", "--resume", folder, "--dagger-rounds", "3")  # a BC run has no rounds to add
    assert extend.code == 2 and "extends a DAgger run" in extend.text


def test_a_failed_run_leaves_no_run_folder(cli, hover_demos, tmp_path):
    out = tmp_path / "runs"
    not_demos = tmp_path / "empty"
    not_demos.mkdir()
    # The data fail only once the run has started (its folder was made): runtime errors, exit code 1.
    for data, obs, message in [(not_demos, "kin", "not a demonstration folder"), (hover_demos, "rgb", "rgb")]:
        r = cli("train", *TINY, "--obs", obs, "--data", data, "--out", out)
        assert r.code == 1 and message in r.err and "Traceback" not in r.err, r.err
        assert not out.exists() or list(out.iterdir()) == [], "a failed run left a folder behind"
    # A data folder that does not exist is a usage error, found before the run starts.
    r = cli("train", *TINY, "--data", tmp_path / "missing", "--out", out)
    assert r.code == 2 and (not out.exists() or list(out.iterdir()) == [])


def test_collect_checks_the_env_first_then_the_folder(cli, hover_demos):
    r = cli("collect", "--task", "hover", "--obs", "rgb", "--episodes", "2", "--workers", "1", "--out", hover_demos)
    assert r.code == 2 and "Hover does not support obs='rgb'" in r.err
    # A folder collected with other settings is found by the collection itself: exit code 1.
    r = cli("collect", "--task", "hover", "--obs", "kin", "--act", "rpm", "--episodes", "2", "--workers", "1",
            "--out", hover_demos)
    assert r.code == 1 and "does not match" in r.err and "Traceback" not in r.err
