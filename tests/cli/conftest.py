"""Fixtures for the command line tests: run ``ltc-drones`` in-process, forbid making envs."""

import re
from dataclasses import dataclass

import gymnasium
import pytest

from ltc_drones.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout + stderr with tyro's box characters removed and whitespace collapsed (for substring checks)."""
        return re.sub(r"\s+", " ", re.sub("[│╭╮╰╯─]", " ", self.out + " " + self.err))


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli("train", "--help")`` runs ``ltc-drones`` in this process and returns its exit code and output."""
    monkeypatch.setenv("COLUMNS", "200")  # tyro wraps help to the terminal width

    def run(*argv) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def no_env(monkeypatch):
    """Any attempt to make an env fails the test: for checks that must happen before anything flies."""
    made = []

    def refuse(*args, **kwargs):
        made.append(args)
        raise AssertionError(f"an env was made ({args}) although the command should have stopped before")

    monkeypatch.setattr(gymnasium, "make", refuse)
    return made
