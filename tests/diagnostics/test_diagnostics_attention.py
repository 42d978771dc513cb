"""Attention ratios, SSIM and the stability test, per-step attention and the episode summaries."""

import numpy as np
import pytest
import torch

from ltc_drones.diagnostics import REGIONS, attention_ratio, region_ratios, ssim, stability, step_attention
from ltc_drones.diagnostics.summary import EpisodeLog, mean_ci95, scenario_attention
from ltc_drones.envs.camera import SEG_DISTRACTOR, SEG_GROUND, SEG_SKY, SEG_TARGET
from ltc_drones.envs.scenery import SEG_SCENERY
from ltc_drones.models import Policy, PolicyConfig

torch.set_num_threads(1)
DT = 1 / 30


def test_uniform_saliency_has_no_preference():
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = rng.random((48, 64)) < rng.uniform(0.01, 0.9)
        if mask.any():
            assert attention_ratio(np.full((48, 64), 0.3), mask) == 1.0


def test_ratio_grows_as_saliency_moves_onto_the_mask():
    mask = np.zeros((48, 64), bool)
    mask[10:20, 30:46] = True  # area share 160 / 3072
    area = mask.mean()
    ratios = []
    for inside in (0.0, 0.25, 0.5, 0.75, 1.0):  # share of the mass put on the mask
        sal = np.where(mask, inside / mask.sum(), (1 - inside) / (~mask).sum())
        ratios.append(attention_ratio(sal, mask))
    assert ratios[0] == 0.0 and ratios[-1] == pytest.approx(1 / area)
    assert all(b > a for a, b in zip(ratios, ratios[1:], strict=False))
    assert ratios[1] == pytest.approx(0.25 / area)


def test_ratio_undefined_without_region_or_mass_and_refuses_bad_input():
    sal = np.ones((4, 4))
    assert attention_ratio(sal, np.zeros((4, 4), bool)) is None  # target not in view
    assert attention_ratio(np.zeros((4, 4)), np.eye(4, dtype=bool)) is None
    with pytest.raises(ValueError, match="non-negative"):
        attention_ratio(-sal, np.eye(4, dtype=bool))
    with pytest.raises(ValueError, match="same shape"):
        attention_ratio(np.ones((4, 5)), np.eye(4, dtype=bool))


def test_region_ratios_read_the_segmentation_classes():
    seg = np.full((8, 8), SEG_GROUND, np.uint8)
    seg[:2] = SEG_SKY
    seg[4, 4] = SEG_TARGET
    seg[6, 0:2] = SEG_SCENERY
    sal = np.zeros((8, 8))
    sal[4, 4] = 1.0
    r = region_ratios(sal, seg)
    assert set(r) == set(REGIONS)
    assert r["target"] == pytest.approx(64.0) and r["distractor"] is None
    assert r["sky"] == 0.0 and r["scenery"] == 0.0 and r["ground"] == 0.0
    seg[0, 0] = SEG_DISTRACTOR
    assert region_ratios(sal, seg)["distractor"] == 0.0


def test_ssim_is_one_for_identical_maps_and_falls_with_noise():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:48, 0:64]
    m = np.exp(-((yy - 20) ** 2 + (xx - 40) ** 2) / 60.0)
    assert ssim(m, m) == 1.0
    assert ssim(m, 3.0 * m) == pytest.approx(1.0)  # maps are compared after scaling to a maximum of 1
    values = [np.mean([ssim(m, np.abs(m + rng.normal(0, s, m.shape))) for _ in range(4)]) for s in (0.02, 0.1, 0.5)]
    assert 1.0 > values[0] > values[1] > values[2]
    assert ssim(m, rng.random(m.shape)) < 0.3
    with pytest.raises(ValueError, match="2-D"):
        ssim(m, m[:10])


def red_detector_policy() -> Policy:
    """Conv policy whose first layer fires on red pixels only (r - g - b > 0)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        policy = Policy(PolicyConfig(obs_kind="rgb", image_hw=(24, 32), conv_channels=(4, 4), core="mlp",
                                     core_config={"hidden": (8,)})).eval()
    convs = [m for m in policy.rgb_encoder.conv if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        convs[0].weight[:, 0] = 1.0
        convs[0].weight[:, 1:] = -1.0
        convs[0].bias.fill_(-0.2)
        convs[1].weight.fill_(1.0 / 36)
        convs[1].bias.zero_()
    return policy


def scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    grey = rng.integers(60, 200, size=(24, 32), dtype=np.uint8)
    img = np.repeat(grey[..., None], 3, axis=-1)
    seg = np.full((24, 32), SEG_GROUND, np.uint8)
    seg[:8] = SEG_SKY
    img[10:14, 20:25] = (255, 0, 0)
    seg[10:14, 20:25] = SEG_TARGET
    return img, seg


def test_step_attention_of_a_policy_that_looks_at_the_target():
    policy = red_detector_policy()
    img, seg = scene(np.random.default_rng(2))
    methods = ("visual_backprop", "saliency", "integrated_gradients")
    out = step_attention(policy, policy.initial_state(1), img, seg, dt=DT, methods=methods)
    assert set(out.maps) == set(out.ratios) == set(methods) and out.features == {}
    area = (seg == SEG_TARGET).mean()
    for method in methods:
        r = out.ratios[method]
        assert r["target"] > 0.2 / area  # over a fifth of the mass on 20 of 768 pixels, the rest next to them
        assert r["distractor"] is None and r["sky"] == 0.0  # sky pixels are far from the red patch
    empty = step_attention(policy, None, img, None, dt=DT, methods=("visual_backprop",))
    np.testing.assert_array_equal(empty.maps["visual_backprop"], out.maps["visual_backprop"])
    assert empty.ratios == {}


def test_stability_is_one_without_noise_and_falls_with_it():
    policy = red_detector_policy()
    img, _ = scene(np.random.default_rng(3))
    noise = (0.0, 8.0, 64.0, 128.0)
    for method in ("visual_backprop", "saliency"):
        curve = stability(policy, None, img, dt=DT, method=method, rng=np.random.default_rng(4), noise_std=noise)
        assert curve[0] == 1.0
        assert curve[-1] < curve[1] <= 1.0  # strong noise switches the red detector on elsewhere
    again = stability(policy, None, img, dt=DT, method="saliency", rng=np.random.default_rng(4), noise_std=noise)
    assert again == curve  # the noise comes from the generator given


def test_episode_log_and_scenario_summary():
    policy = red_detector_policy()
    rng = np.random.default_rng(5)
    episodes = []
    for _ in range(3):
        log = EpisodeLog()
        for _ in range(4):
            img, seg = scene(rng)
            log.add(step_attention(policy, None, img, seg, dt=DT, methods=("visual_backprop",)))
        log.add(step_attention(policy, None, img, np.full_like(seg, SEG_GROUND), dt=DT,
                               methods=("visual_backprop",)))  # target out of view: not averaged
        episodes.append({"attention": log.attention()})
    block = episodes[0]["attention"]["visual_backprop"]
    assert block["frames"] == 5 and block["target"]["frames_in_view"] == 4 and block["distractor"]["mean"] is None
    summary = scenario_attention(episodes, ["visual_backprop"], np.random.default_rng(6))["visual_backprop"]
    target = summary["target"]
    assert target["n"] == 3 and target["ci95"][0] <= target["mean"] <= target["ci95"][1] and target["mean"] > 10
    assert summary["distractor"] == {"mean": None, "ci95": None, "n": 0}


def test_bootstrap_interval_is_seeded_and_covers_the_mean():
    x = np.random.default_rng(7).normal(2.0, 1.0, 30)
    a, b = mean_ci95(x, np.random.default_rng(8)), mean_ci95(x, np.random.default_rng(8))
    assert a == b and a["ci95"][0] < a["mean"] < a["ci95"][1] and a["n"] == 30
    assert a["ci95"][1] - a["ci95"][0] == pytest.approx(2 * 1.96 / np.sqrt(30), rel=0.35)
    assert mean_ci95([1.5], np.random.default_rng(0)) == {"mean": 1.5, "ci95": None, "n": 1}
    assert mean_ci95([2.0, 2.0, None], np.random.default_rng(0))["ci95"] == [2.0, 2.0]


def test_step_attention_of_an_image_and_proprioception_policy_gives_maps_and_feature_attributions():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        policy = Policy(PolicyConfig(obs_kind="rgb_kin", obs_dim=13, image_hw=(24, 32), conv_channels=(4, 4),
                                     core="gru")).eval()
    img, seg = scene(np.random.default_rng(9))
    obs = {"rgb": img, "kin": np.random.default_rng(10).normal(size=13).astype(np.float32)}
    state = torch.as_tensor(np.random.default_rng(11).normal(size=(1, policy.core.state_size)), dtype=torch.float32)
    out = step_attention(policy, state, obs, seg, dt=DT, methods=("visual_backprop", "input_x_gradient"))
    assert set(out.maps) == {"visual_backprop", "input_x_gradient"} and set(out.features) == {"input_x_gradient"}
    assert out.maps["input_x_gradient"].shape == (24, 32) and out.features["input_x_gradient"].shape == (13,)
    assert np.all(np.abs(out.features["input_x_gradient"]) > 0)
    assert out.ratios["visual_backprop"]["target"] is not None
