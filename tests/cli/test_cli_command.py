"""The subcommand framework: options from a dataclass, --config FILE under command-line overrides."""

import json
from dataclasses import dataclass

import pytest

from ltc_drones.cli.command import Command, UsageError


@dataclass(frozen=True)
class Options:
    """A command."""

    agent: str
    """Required: no default."""
    episodes: int = 3
    """Episodes."""


def test_config_file_of_the_options_themselves(tmp_path):
    command = Command(Options, lambda o: 0, config="")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"agent": "expert", "episodes": 7}))
    assert command.parse(["--config", str(path)], "x") == Options("expert", 7)
    assert command.parse(["--config", str(path), "--episodes", "9"], "x") == Options("expert", 9)
    assert command.parse(["--config", str(path), "--agent", "a.pt"], "x").agent == "a.pt"
    path.write_text(json.dumps({"episodes": 7}))
    with pytest.raises(UsageError, match="must set agent"):
        command.parse(["--config", str(path), "--agent", "a.pt"], "x")


def test_without_config_the_option_does_not_exist(capsys):
    command = Command(Options, lambda o: 0)
    with pytest.raises(SystemExit) as exc:
        command.parse(["--agent", "a", "--config", "c.json"], "x")
    assert exc.value.code == 2 and "--config" in capsys.readouterr().err
