"""Every option of every subcommand is documented: help text and default; every TrainConfig field is an option."""

import ast
import dataclasses
import importlib
import inspect
import re

import pytest

import ltc_drones
from ltc_drones.cli import COMMANDS
from ltc_drones.training.config import TrainConfig


def option_blocks(help_text: str) -> dict[str, str]:
    """``{"--name": "its help text"}`` from tyro's boxed help (an option's block runs to the next option)."""
    blocks: dict[str, str] = {}
    current = None
    for raw in help_text.splitlines():
        line = raw.replace("│", " ").rstrip()
        m = re.match(r"\s*(-\w, )?(--[a-z][\w-]*)(.*)$", line)
        if re.fullmatch(r"[\s─╰╯╭╮-]*", line) or "╭" in line:  # blank lines and rules end a block
            current = None
        elif m:
            current = m.group(2)
            # The invocation (name, aliases, metavar) ends at the first run of two or more spaces.
            parts = re.split(r"\s{2,}", m.group(3).strip(), maxsplit=1)
            blocks[current] = parts[1] if len(parts) > 1 else ""
        elif current:
            blocks[current] += " " + line.strip()
    return {k: re.sub(r"\s+", " ", v).strip() for k, v in blocks.items()}


def attribute_docstrings(cls) -> dict[str, str]:
    """Field name -> the string literal just below it in the class body."""
    body = ast.parse(inspect.getsource(cls)).body[0].body
    docs = {}
    for stmt, nxt in zip(body, body[1:], strict=False):
        if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def test_version(cli):
    r = cli("--version")
    assert r.code == 0 and r.out.strip() == f"ltc-drones {ltc_drones.__version__}"


def test_top_level_help_lists_every_command(cli):
    r = cli("--help")
    assert r.code == 0
    for name, summary in COMMANDS.items():
        assert re.search(rf"^\s+{name}\s+{re.escape(summary)}$", r.out, re.M), name
        assert importlib.import_module(f"ltc_drones.cli.{name}").COMMAND is not None


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_has_help_text_and_shows_its_default(cli, name):
    r = cli(name, "--help")
    assert r.code == 0, r.err
    blocks = option_blocks(r.out)
    blocks.pop("--help")
    options = importlib.import_module(f"ltc_drones.cli.{name}").COMMAND.options
    fields = [f for f in dataclasses.fields(options) if "Positional" not in str(f.type)]  # RUN is not an --option
    assert len(blocks) >= len(fields), (name, sorted(blocks))
    for option, text in blocks.items():
        described = re.sub(r"\((default: .*|required)\)$", "", text).strip()
        assert len(described.split()) >= 2, f"{name} {option} has no help text: {text!r}"
        shows_default = "(default: " in text or text.endswith("(required)")
        assert text.endswith(")") and shows_default, f"{name} {option}: {text!r}"


def test_every_train_config_field_is_an_option_with_its_docstring(cli):
    text = cli("train", "--help").out
    # A docstring's lines are joined into one paragraph (tyro alone keeps the breaks of indented lines).
    assert "own config.json (give no other option with it, except --dagger-rounds N" in text
    blocks = option_blocks(text)
    docs = attribute_docstrings(TrainConfig)
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        option = "--" + f.name.replace("_", "-")
        assert option in blocks, f"TrainConfig.{f.name} is not an option of `ltc-drones train`"
        assert f.name in docs, f"TrainConfig.{f.name} has no attribute docstring (its --help text)"
        first_words = " ".join(docs[f.name].split()[:6])
        assert first_words in blocks[option], (option, blocks[option])
        default = getattr(defaults, f.name)
        if isinstance(default, int | float | str) and not isinstance(default, bool):
            assert f"(default: {default})" in blocks[option], (option, blocks[option])
    assert "--config" in blocks and "--resume" in blocks
