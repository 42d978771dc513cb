"""``ltc-drones demo`` and ``rollout`` fly, print successes with Wilson intervals, write videos and summaries."""

import json

import imageio.v2 as imageio

from ltc_drones.evaluation import wilson_interval
from ltc_drones.resources import default_agent_path


def test_demo_flies_the_shipped_agent_nominal_and_shifted(cli, tmp_path):
    r = cli("demo", "--episodes", "1", "--out", tmp_path)
    assert r.code == 0, r.err
    summary = json.loads((tmp_path / "summary.json").read_text())
    request = summary["request"]
    assert request["controller"] == f"agent:{default_agent_path()}" and request["obs"] == "rgb"
    assert request["scenarios"] == ["nominal", "target-color@3"]
    seeds = {s: [rec["seed"] for rec in summary["records"] if rec["scenario"] == s] for s in request["scenarios"]}
    assert seeds["nominal"] == seeds["target-color@3"] and len(seeds["nominal"]) == 1  # paired episodes
    for scenario, s in summary["summaries"].items():
        lo, hi = wilson_interval(s["successes"], 1)
        assert s["episodes"] == 1 and s["success_ci95"] == [lo, hi]
        assert f"{scenario}: {s['successes']}/1 successes" in r.out and f"Wilson interval {100 * lo:.0f}-" in r.out
        video = summary["videos"][scenario]
        assert video == str(tmp_path / f"fly-to-target__ltc-ncp__rgb__{scenario}.mp4")
        frame = imageio.get_reader(video).get_data(0)
        assert frame.shape[1] > frame.shape[0] >= 100  # the chase view beside the onboard view


def test_demo_expert_nominal_only_as_gif(cli, tmp_path):
    r = cli("demo", "--expert", "--shift", "None", "--episodes", "2", "--video-format", "gif", "--out", tmp_path)
    assert r.code == 0, r.err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["summaries"]) == ["nominal"] and summary["summaries"]["nominal"]["episodes"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expert__nominal.gif", "summary.json"]


def test_rollout_prints_each_episode_and_writes_a_video(cli, tmp_path):
    video = tmp_path / "sub" / "expert.gif"
    r = cli("rollout", "--agent", "expert", "--episodes", "2", "--seed", "5", "--video", video)
    assert r.code == 0, r.err
    assert "episode 0 (seed 5): success" in r.out and "episode 1 (seed 6): success" in r.out
    assert "nominal: 2/2 successes" in r.out
    assert len(imageio.mimread(video)) > 10
