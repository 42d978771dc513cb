"""TrainConfig: every field documented (the CLI's --help text) and validated with a helpful error."""

import ast
import dataclasses
import inspect

import pytest

from ltc_drones.training import TrainConfig
from ltc_drones.training import config as config_module


def field_docstrings() -> dict[str, str]:
    """Attribute docstrings: the string literal right after each field of the class body."""
    tree = ast.parse(inspect.getsource(config_module))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TrainConfig")
    docs = {}
    for node, after in zip(cls.body, cls.body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[node.target.id] = after.value.value
    return docs


def test_every_field_has_a_docstring():
    docs = field_docstrings()
    missing = [f.name for f in dataclasses.fields(TrainConfig) if len(docs.get(f.name, "").strip()) < 10]
    assert not missing, f"fields without a docstring: {missing}"


def test_tyro_shows_the_docstrings_as_help(capsys):
    tyro = pytest.importorskip("tyro")
    with pytest.raises(SystemExit):
        tyro.cli(TrainConfig, args=["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Maximum global gradient norm" in text and "--grad-clip" in text


@pytest.mark.parametrize("field, value, match", [
    ("lr", 0.0, r"lr=0.0 is invalid: must be > 0 \(option --lr\)"),
    ("lr", float("nan"), "--lr"),
    ("seed", -1, r"seed must be an int in \[0, 1000000\).*--seed"),
    ("seed", 10**6, "--seed"),
    ("iterations", 2.5, r"an int >= 1 \(option --iterations\)"),
    ("batch", 0, "--batch"),
    ("warmup", -1, "--warmup"),
    ("val_fraction", 1.0, r"in \[0, 1\)"),
    ("aug_contrast", 1.5, "--aug-contrast"),
    ("aug_shift_px", 100, "at most 16"),
    ("dagger_beta", 1.5, "--dagger-beta"),
    ("finetune_lr", 0.0, "--finetune-lr"),
    ("takeover_lost_s", -0.5, "--takeover-lost-s"),
    ("dagger_episodes", 10**5, "DAgger episodes per round"),
    ("obs", "depth", "valid observation modes: kin, rgb, rgb_kin"),
    ("act", "thrust", "valid action modes"),
    ("conv_pool", "mean", "valid poolings"),
    ("loss", "l1", "valid losses"),
    ("core_config", {"unitz": 8}, r"unitz.*--core-config"),
    ("scenario", "moon", "--scenario"),
])
def test_bad_values_are_refused_naming_the_option(field, value, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})


def test_round_trip_through_a_dict():
    cfg = TrainConfig(seed=7, data=("a", "b"), core_config={"units": 8}, arch="ltc", takeover_lost_s=0.5)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown training config key"):
        TrainConfig.from_dict({**cfg.to_dict(), "learning_rate": 1.0})
