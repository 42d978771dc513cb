"""``ltc-drones diagnose``: the report folder of a shipped agent, and refusals before anything flies."""

import json
from pathlib import Path

import pytest

from ltc_drones.agents import load_agent

AGENTS = Path(__file__).resolve().parents[2] / "agents"


def shipped_agent(obs: str) -> Path:
    """The first shipped fly-to-target agent observing ``obs`` (agents are replaced over time; no fixed name)."""
    for folder in sorted(p for p in AGENTS.iterdir() if (p / "agent.pt").is_file()):
        spec = load_agent(folder).env_spec
        if spec["task"] == "fly-to-target" and spec["obs"] == obs:
            return folder
    pytest.skip(f"no shipped fly-to-target agent with obs={obs}")


def test_diagnose_an_rgb_agent_writes_the_report(cli, tmp_path):
    out = tmp_path / "diag"
    r = cli("diagnose", "--agent", shipped_agent("rgb"), "--task", "fly-to-target", "--scenario", "nominal",
            "--episodes", "1", "--sample-every", "30", "--sanity-draws", "1", "--noise-std", "0", "32", "--out", out)
    assert r.code == 0, r.err
    for name in ("metrics.json", "gallery.png", "attention.png", "stability.png", "video.mp4"):
        assert (out / name).stat().st_size > 1000, name
    m = json.loads((out / "metrics.json").read_text())
    methods = ["visual_backprop", "saliency", "input_x_gradient", "integrated_gradients"]
    assert m["methods"] == methods and m["config"]["episodes"] == 1 and len(m["episodes"]) == 1
    ep = m["episodes"][0]
    for method in methods:
        att = ep["attention"][method]
        assert att["frames"] == ep["steps"]  # saliency at every step of the episode
        assert att["target"]["frames_in_view"] > 0 and att["target"]["mean"] > 0  # the target starts in view
        assert isinstance(m["failed_sanity"][method], bool)
        assert m["summary"][method]["failed_sanity"] == m["failed_sanity"][method] == ep["failed_sanity"][method]
        assert m["sanity"][method]["cascade_stages"][-1] == "rgb_encoder.conv1"
        assert -1.0 <= m["sanity"][method]["full_randomisation_spearman"] <= 1.0
        ssim = m["stability"]["methods"][method]["ssim_mean"]
        assert ssim[0] == 1.0 and ssim[1] < 1.0
    assert "| visual_backprop |" in r.out and "report in" in r.out


def test_diagnose_a_kin_agent_reports_feature_attributions(cli, tmp_path):
    out = tmp_path / "diag"
    r = cli("diagnose", "--agent", shipped_agent("kin"), "--episodes", "1", "--sanity-draws", "1", "--out", out)
    assert r.code == 0, r.err
    m = json.loads((out / "metrics.json").read_text())
    assert m["methods"] == ["saliency", "input_x_gradient", "integrated_gradients"]  # no conv head: no VBP
    assert sorted(p.name for p in out.iterdir()) == ["features.png", "metrics.json"]
    assert m["feature_names"][:3] == ["goal_x_body", "goal_y_body", "goal_z_body"] and len(m["feature_names"]) == 16
    shares = m["features"]["saliency"]["share"]
    assert sum(s["mean"] for s in shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert "summary" not in m and "largest attribution shares" in r.out


@pytest.mark.parametrize(("argv", "message"), [
    (["--methods", "lime"], "unknown saliency method 'lime'"),
    (["--scenario", "fog@9"], "fog"),
    (["--task", "hover"], "not 'hover'"),
    (["--episodes", "0"], "episodes must be at least 1"),
    (["--methods", "visual_backprop"], "visual_backprop does not apply"),
    (["--target", "4"], "no action index"),
    (["--target", "speed"], "target must be 'norm' or an action index"),
])
def test_diagnose_refuses_before_flying(cli, no_env, tmp_path, argv, message):
    r = cli("diagnose", "--agent", shipped_agent("kin"), *argv, "--out", tmp_path / "diag")
    assert r.code == 2 and message in r.text and "Traceback" not in r.err
    assert not (tmp_path / "diag").exists()
