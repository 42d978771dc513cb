"""The cheap parts of scripts/check_unchanged.py: its comparison, and the kin agents' recorded first test episodes."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("check_unchanged", ROOT / "scripts" / "check_unchanged.py")
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def test_compare_summary_keeps_discrete_fields_exact_and_floats_within_the_tolerance():
    want = {"success": True, "steps": 36, "return": 11.1, "ci": [0.5, 1.0], "note": None}
    assert check.compare_summary(want, dict(want), "x") == ([], 0.0)
    problems, worst = check.compare_summary(want, {**want, "return": 11.1 + 1e-10}, "x")
    assert not problems and 0 < worst < 1e-9
    for changed in ({"steps": 37}, {"success": 1}, {"return": 11.2}, {"ci": [0.5]}, {"note": 0.0}):
        assert check.compare_summary(want, {**want, **changed}, "x")[0], changed
    assert check.compare_summary(want, {k: v for k, v in want.items() if k != "note"}, "x")[0]


@pytest.mark.parametrize("name", ["fly-to-target__ltc-ncp__kin", "fly-to-target__ltc-ncp__kin__ppo"])
def test_a_kin_agent_flies_its_cards_first_test_episode_as_recorded(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    recorded = json.loads(check.FIRST_EPISODES.read_text())[name]
    record, counts = check.card_episode(ROOT / "agents" / name, tmp_path)
    assert record["seed"] == 20000 and counts["episodes"] == 100
    assert check.compare_summary(recorded, record, name) == ([], 0.0)
