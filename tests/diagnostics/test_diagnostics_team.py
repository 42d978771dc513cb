"""Per-agent diagnostics on multi-agent tasks: the drone region's attention ratio, the leader-against-drones
contrast and its pooling, a tiny untrained shared rgb policy diagnosed end to end, and refusals."""

import json

import numpy as np
import pytest
import torch

from ltc_drones.agents import env_spec_of
from ltc_drones.agents.checkpoint import save_checkpoint
from ltc_drones.cli import main
from ltc_drones.diagnostics import region_ratios, step_attention
from ltc_drones.diagnostics.attention import StepAttention
from ltc_drones.diagnostics.summary import EpisodeLog, pool_agents
from ltc_drones.diagnostics.team_report import CONTRAST, CONTRAST_KEY
from ltc_drones.envs.camera import SEG_DRONE, SEG_GROUND, SEG_SKY, SEG_TARGET
from ltc_drones.models import Policy, PolicyConfig
from ltc_drones.sim.state import RigidBodyState
from ltc_drones.tasks import make_env as make_team_env

torch.set_num_threads(1)
DT = 1 / 30


def test_drone_ratio_is_read_from_the_drone_mask():
    seg = np.full((48, 64), SEG_GROUND, np.uint8)
    seg[:20] = SEG_SKY
    seg[22:26, 10:16] = SEG_DRONE  # 24 px
    seg[20:28, 40:48] = SEG_TARGET  # 64 px
    sal = np.full((48, 64), 0.001)
    sal[seg == SEG_DRONE] = 1.0  # saliency concentrated on the drone's pixels: ~90 % of the mass on 24 / 3072 px
    r = region_ratios(sal, seg)
    assert r["drone"] > 100 and r["target"] < 0.2
    sal = np.where(seg == SEG_TARGET, 1.0, 0.001)
    r = region_ratios(sal, seg)
    assert r["target"] > 10 and r["drone"] < 0.2
    seg[seg == SEG_DRONE] = SEG_GROUND  # no other drone (every single-agent view)
    assert region_ratios(sal, seg)["drone"] is None


def _step(target, drone) -> StepAttention:
    ratios = {"target": target, "distractor": None, "scenery": None, "ground": 0.5, "sky": 0.5, "drone": drone}
    return StepAttention({}, {"vbp": ratios}, {})


def test_contrast_counts_frames_with_both_in_view_and_pools_agents_by_frames():
    a, b = EpisodeLog(contrasts=(CONTRAST,)), EpisodeLog(contrasts=(CONTRAST,))
    for t, d in [(3.0, 1.0), (2.0, 4.0), (5.0, None), (None, 2.0), (4.0, 0.5)]:
        a.add(_step(t, d))
    b.add(_step(1.0, 2.0))
    att_a = a.attention()["vbp"]
    two_of_three = pytest.approx(2 / 3, abs=1e-5)
    assert att_a[CONTRAST_KEY] == {"frames_both_in_view": 3, "frames_higher": 2, "fraction": two_of_three}
    assert att_a["target"] == {"mean": 3.5, "frames_in_view": 4} and att_a["distractor"]["mean"] is None
    pooled = pool_agents([a.attention(), b.attention()], (CONTRAST,))["vbp"]
    assert pooled[CONTRAST_KEY] == {"frames_both_in_view": 4, "frames_higher": 2, "fraction": 0.5}
    assert pooled["target"]["mean"] == pytest.approx((3.5 + 1.0) / 2) and pooled["target"]["frames_in_view"] == 5
    assert pooled["distractor"] == {"mean": None, "frames_in_view": 0}
    plain = EpisodeLog()  # single-agent records: no contrast, the drone region not in view
    plain.add(_step(1.0, None))
    assert CONTRAST_KEY not in plain.attention()["vbp"] and plain.attention()["vbp"]["drone"]["mean"] is None


def rgb_policy() -> Policy:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return Policy(PolicyConfig(obs_kind="rgb", image_hw=(48, 64), conv_channels=(4, 4), core="mlp",
                                   core_config={"hidden": (8,)})).eval()


def test_a_follower_view_with_the_other_drone_gives_a_drone_ratio():
    env = make_team_env("multi-follow", num_drones=2, obs="rgb")
    try:
        env.reset(seed=0)
        s = env.sim.states[0]
        env.sim.world.reset_drone(1, RigidBodyState.at_rest(s.pos_m + 0.5 * s.R[:, 0], s.quat_xyzw))
        env.sim.states[1] = env.sim.world.drone_state(1)
        rgb, seg = env.onboard_camera(0, postprocess=False)
        sa = step_attention(rgb_policy(), None, rgb, seg, dt=DT, methods=("visual_backprop",))
        assert sa.ratios["visual_backprop"]["drone"] is not None and sa.ratios["visual_backprop"]["drone"] >= 0
        assert sa.ratios["visual_backprop"]["target"] is not None
    finally:
        env.close()


@pytest.fixture(scope="module")
def team_agents(tmp_path_factory):
    """Untrained shared policies saved as if trained on multi-follow with 2 drones: rgb and kin."""
    folder = tmp_path_factory.mktemp("agents")
    out = {}
    for obs in ("rgb", "kin"):
        env = make_team_env("multi-follow", num_drones=2, obs=obs)
        spec = env_spec_of(env, "multi-follow", "nominal")
        dim = env.observation_space("drone_0").shape[0] if obs == "kin" else None
        env.close()
        policy = rgb_policy() if obs == "rgb" else Policy(PolicyConfig(obs_kind="kin", obs_dim=dim, core="mlp"))
        out[obs] = str(save_checkpoint(folder / f"{obs}.pt", policy, spec))
    return out


def run_cli(capsys, *argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_diagnose_a_team_reports_each_agent(team_agents, capsys, tmp_path):
    out = tmp_path / "diag"
    code, text, err = run_cli(capsys, "diagnose", "--agent", team_agents["rgb"], "--task", "multi-follow",
                              "--num-drones", "2", "--episodes", "1", "--methods", "visual_backprop", "saliency",
                              "--sample-every", "30", "--sanity-draws", "1", "--noise-std", "0", "32", "--no-video",
                              "--out", out)
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    assert m["num_drones"] == 2 and m["drones"] == ["drone_0", "drone_1"] and m["regions"]["target"] == "the leader"
    (ep,) = m["episodes"]
    assert set(ep["agents"]) == {"drone_0", "drone_1"}
    for name, rec in ep["agents"].items():
        assert set(rec) == {"success", "crashed", "collided", "steps", "attention", "features"}
        for method in ("visual_backprop", "saliency"):
            att = rec["attention"][method]
            assert att["frames"] == rec["steps"]  # every step the agent flew
            assert att["target"]["frames_in_view"] > 0 and att["target"]["mean"] > 0  # the leader starts in view
            for region in ("target", "distractor", "scenery", "ground", "sky", "drone"):
                assert (att[region]["mean"] is None) == (att[region]["frames_in_view"] == 0), (name, region)
            assert att["distractor"]["mean"] is None  # the nominal world has no distractors
            both = att[CONTRAST_KEY]
            assert (both["fraction"] is None) == (both["frames_both_in_view"] == 0)
            assert both["frames_both_in_view"] <= min(att["target"]["frames_in_view"], att["drone"]["frames_in_view"])
    for method in ("visual_backprop", "saliency"):
        block = m["summary"][method]
        assert set(block["agents"]) == {"drone_0", "drone_1"}
        assert block["attention"]["target"]["mean"] == pytest.approx(
            np.mean([ep["agents"][a]["attention"][method]["target"]["mean"] for a in ep["agents"]]), abs=1e-4)
        assert isinstance(m["failed_sanity"][method], bool)
    assert m["stability"]["methods"]["visual_backprop"]["ssim_mean"][0] == 1.0
    assert (out / "gallery.png").stat().st_size > 1000 and (out / "attention_agents.png").is_file()
    assert "visual_backprop: follower attention: leader" in text and "drone_1: leader" in text


@pytest.mark.parametrize(("obs", "argv", "message"), [
    ("kin", [], "need an rgb or rgb_kin agent"),
    ("rgb", ["--drones", "drone_2"], "must name distinct agents of the 2-drone team"),
    ("rgb", ["--drones", "drone_0", "drone_0"], "must name distinct agents"),
    ("rgb", ["--num-drones", "9"], "from 2 to 8"),
    ("rgb", ["--task", "follow-target"], "follow-target is single-agent"),
    ("kin", ["--methods", "visual_backprop"], "need an rgb or rgb_kin agent"),
])
def test_diagnose_a_team_refuses_bad_requests_before_flying(team_agents, capsys, tmp_path, obs, argv, message):
    code, _, err = run_cli(capsys, "diagnose", "--agent", team_agents[obs], *argv, "--out", tmp_path / "diag")
    text = " ".join(err.split())
    assert code == 2 and message in text and "Traceback" not in err, err
    assert not (tmp_path / "diag").exists()


def test_diagnose_refuses_team_options_on_a_single_agent_task(capsys, tmp_path):
    code, _, err = run_cli(capsys, "diagnose", "--agent", "agents/fly-to-target__ltc-ncp__rgb", "--num-drones", "2",
                           "--out", tmp_path / "diag")
    assert code == 2 and "apply to the multi-agent tasks" in " ".join(err.split())


def test_the_evaluator_measures_each_agent_of_a_team_without_changing_the_flight(team_agents, tmp_path):
    from ltc_drones.diagnostics import ClosedLoopDiagnostics
    from ltc_drones.evaluation import evaluate

    scenario = tmp_path / "short.yaml"
    scenario.write_text("episode_len_s: 2.0\n")
    provider = ClosedLoopDiagnostics(methods=("visual_backprop",), sanity_episodes=1, sanity_frames=4,
                                     sanity_draws=1, intervention_episodes=0)
    plain = evaluate(team_agents["rgb"], "multi-follow", [str(scenario)], 2, progress=False)
    probed = evaluate(team_agents["rgb"], "multi-follow", [str(scenario)], 2, progress=False, diagnostics=provider,
                      out=tmp_path / "eval")
    for a, b in zip(plain.records, probed.records, strict=True):
        assert {k: v for k, v in b.items() if k not in ("attention", "agent_attention")} == a  # same flight
        assert set(b["agent_attention"]) == {"drone_0", "drone_1"}
        for name, att in b["agent_attention"].items():
            vbp = att["visual_backprop"]
            assert vbp["frames"] == b["agent_steps"][int(name[-1])] and vbp["target"]["frames_in_view"] > 0
            assert (vbp["drone"]["mean"] is None) == (vbp["drone"]["frames_in_view"] == 0)
        pooled = b["attention"]["visual_backprop"]
        means = [att["visual_backprop"]["target"]["mean"] for att in b["agent_attention"].values()]
        assert pooled["target"]["mean"] == pytest.approx(np.mean(means), abs=1e-4) and CONTRAST_KEY in pooled
    (summary,) = probed.summaries.values()
    block = summary["attention"]["visual_backprop"]
    assert block["regions"]["target"]["mean"] > 0 and CONTRAST_KEY in block
    assert "att_drone_visual_backprop" in probed.diagnostics["columns"][str(scenario)]
    assert "visual_backprop drone" in probed.diagnostics["table"]
    assert probed.diagnostics["checks"]["sanity"]["visual_backprop"]["frames"] == 4
