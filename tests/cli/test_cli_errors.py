"""Exit codes: 2 for usage errors, found before any work; 1 for failed work; a traceback only for bugs."""

import json

import numpy as np
import pytest

import ltc_drones.cli.envs as envs_command
from ltc_drones.cli.command import Command

USAGE_ERRORS = [
    # (argv, words the message must contain)
    (["bogus"], "invalid choice: 'bogus'"),
    (["train", "--bogus", "1"], "Unrecognized options: --bogus"),
    (["train", "--lr", "abc"], "--lr"),
    (["train", "--algo", "reinforce"], "'reinforce'"),
    (["train", "--arch", "transformer"], "valid architectures"),
    (["train", "--task", "land"], "valid tasks"),
    (["train", "--scenario", "no-such-shift"], "unknown scenario 'no-such-shift'"),
    (["train", "--scenario", "fog@9"], "fog"),
    (["train", "--batch", "0"], "--batch"),
    (["train", "--core-config", "[19]"], "JSON object"),
    (["train", "--core-config", '{"units": "many"}'], "--core-config"),
    (["demo", "--episodes", "0"], "--episodes must be at least 1, got 0"),
    (["demo", "--episodes", "-3"], "--episodes must be at least 1"),
    (["demo", "--workers", "0"], "--workers must be at least 1"),
    (["demo", "--expert", "--shift", "no-such-shift"], "unknown scenario 'no-such-shift'"),
    (["demo", "--expert", "--task", "land"], "unknown task 'land'"),
    (["rollout", "--agent", "expert", "--episodes", "0"], "--episodes must be at least 1"),
    (["rollout", "--agent", "scripted:nope"], "unknown scripted controller 'nope'"),
    (["collect", "--task", "hover", "--out", "unused", "--episodes", "0"], "--episodes must be at least 1"),
    (["collect", "--task", "land", "--out", "unused"], "unknown task 'land'"),
    (["collect", "--task", "hover"], "--out"),
]


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_exit_2_with_a_message_and_no_traceback(cli, no_env, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    r = cli(*argv)
    assert r.code == 2, r.text
    assert message in r.text
    assert "Traceback" not in r.text
    assert not no_env, "an env was made before the usage error was found"
    assert list(tmp_path.iterdir()) == [], "a usage error left files behind"


def test_missing_inputs_are_usage_errors(cli, no_env, tmp_path):
    missing = tmp_path / "missing"
    for argv, message in [
        (["demo", "--agent", missing / "agent.pt"], "found nothing there"),
        (["rollout", "--agent", missing], "no agent at"),
        (["train", "--data", missing, "--out", tmp_path / "runs"], "expected a folder, found nothing"),
        (["train", "--resume", missing], "expected a folder, found nothing"),
        (["train", "--config", missing.with_suffix(".json")], "cannot read it"),
    ]:
        r = cli(*argv)
        assert r.code == 2 and message in r.text and "Traceback" not in r.text, (argv, r.text)
        assert r.err.startswith(f"ltc-drones {argv[0]}: error: "), r.err
    assert not no_env


def test_agent_trained_for_another_task_is_refused_before_flying(cli, no_env):
    r = cli("rollout", "--agent", "agents/fly-to-target__ltc-ncp__kin", "--task", "hover")
    assert r.code == 2 and "trained on task 'fly-to-target'" in r.text and not no_env


def test_config_file_errors_are_usage_errors(cli, tmp_path):
    bad_key = tmp_path / "bad_key.json"
    bad_key.write_text(json.dumps({"arch": "gru", "learning_rate": 0.1}))
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("arch: [unclosed\n")
    not_mapping = tmp_path / "list.json"
    not_mapping.write_text("[1, 2]")
    wrong_suffix = tmp_path / "cfg.toml"
    wrong_suffix.write_text("arch = 'gru'\n")
    bad_value = tmp_path / "bad_value.yaml"
    bad_value.write_text("arch: transformer\n")
    for path, message in [(bad_key, "unknown key(s) learning_rate"), (bad_yaml, "not valid YAML"),
                          (not_mapping, "expected a mapping"), (wrong_suffix, "give a .json, .yaml or .yml file"),
                          (bad_value, "valid architectures")]:
        r = cli("train", "--config", path)
        assert r.code == 2 and message in r.text and "Traceback" not in r.text, (path.name, r.text)


def test_resume_takes_no_other_option(cli, tmp_path):
    r = cli("train", "--resume", tmp_path, "--arch", "gru")
    assert r.code == 2 and "give no other option" in r.text


def _with_run(monkeypatch, run) -> None:
    monkeypatch.setattr(envs_command, "COMMAND", Command(envs_command.EnvsOptions, run))


def test_errors_the_package_raises_on_purpose_exit_1_without_traceback(cli, monkeypatch):
    from ltc_drones.seeding import check_training_seed

    _with_run(monkeypatch, lambda options: check_training_seed(-1))
    r = cli("envs")
    assert r.code == 1 and r.err.startswith("ltc-drones envs: error: seed must be an int") and "Traceback" not in r.err


def test_bugs_keep_their_traceback(cli, monkeypatch):
    _with_run(monkeypatch, lambda options: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli("envs")
    # A ValueError raised inside a third-party library is not a message for the user either.
    _with_run(monkeypatch, lambda options: np.zeros(2).reshape(3))
    with pytest.raises(ValueError, match="reshape"):
        cli("envs")


def test_interrupt_exits_130(cli, monkeypatch):
    def interrupted(options):
        raise KeyboardInterrupt

    _with_run(monkeypatch, interrupted)
    r = cli("envs")
    assert r.code == 130 and "interrupted" in r.err


def test_help_exits_0(cli):
    for argv in (["--help"], ["train", "--help"], ["demo", "-h"]):
        assert cli(*argv).code == 0
