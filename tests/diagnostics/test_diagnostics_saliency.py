"""Saliency methods on hand-made networks with a known answer, through the recurrent state, and the
model-randomisation sanity check on a small trained policy."""

import numpy as np
import pytest
import torch

from ltc_drones.diagnostics import attribute, cascading_randomisations, sanity_check
from ltc_drones.diagnostics.attention import attention_ratio
from ltc_drones.diagnostics.saliency import GRADIENT_METHODS, action_function, visual_backprop
from ltc_drones.diagnostics.sanity import map_functions
from ltc_drones.models import Policy, PolicyConfig

torch.set_num_threads(1)
DT = 1 / 30
HW = (24, 32)
TOP_LEFT = (slice(2, 7), slice(2, 9))  # rows, cols of the patch that matters
BOTTOM_RIGHT = (slice(17, 22), slice(23, 30))


def seeded_policy(config: PolicyConfig, seed: int = 0) -> Policy:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Policy(config).eval()


def red_detector(fc_cells: list[tuple[int, int]] | None) -> Policy:
    """A conv policy whose first layer fires only on red pixels (r - g - b > 0), whose next layers pass positive
    activity on, and whose projection reads only the pooled cells ``fc_cells`` (None: all of them)."""
    policy = seeded_policy(PolicyConfig(obs_kind="rgb", image_hw=HW, conv_channels=(4, 4, 4), core="mlp",
                                        core_config={"hidden": (8,)}))
    enc = policy.rgb_encoder
    convs = [m for m in enc.conv if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        convs[0].weight.zero_()
        convs[0].weight[:, 0] = 1.0
        convs[0].weight[:, 1:] = -1.0
        convs[0].bias.fill_(-0.2)
        for conv in convs[1:]:
            conv.weight.fill_(1.0 / (conv.in_channels * 9))
            conv.bias.zero_()
        if fc_cells is not None:  # the 3x4 pooled grid, flattened channel-major: index c*12 + row*4 + col
            keep = torch.zeros(enc.fc.in_features, dtype=torch.bool)
            for c in range(4):
                for r, col in fc_cells:
                    keep[c * 12 + r * 4 + col] = True
            enc.fc.weight[:, ~keep] = 0.0
    return policy


def grey_image(rng: np.random.Generator, patches=()) -> np.ndarray:
    """Grey noise (r = g = b, so the detector stays silent) with pure red patches."""
    grey = rng.integers(60, 200, size=HW, dtype=np.uint8)
    img = np.repeat(grey[..., None], 3, axis=-1)
    for rows, cols in patches:
        img[rows, cols] = (255, 0, 0)
    return img


def share_in(m: np.ndarray, rows: slice, cols: slice) -> float:
    return float(m[rows, cols].sum() / m.sum())


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_gradient_methods_put_their_mass_on_the_only_patch_the_network_reads(method):
    policy = red_detector(fc_cells=[(0, 0), (0, 1)])  # reads the top rows, left half only
    img = grey_image(np.random.default_rng(0), [TOP_LEFT, BOTTOM_RIGHT])
    m = attribute(policy, img, None, dt=DT, method=method, single=True).image[0]
    assert m.shape == HW and m.min() >= 0 and m.sum() > 0
    assert m[BOTTOM_RIGHT].sum() == 0.0  # a red patch the network never reads
    assert share_in(m, slice(0, 12), slice(0, 16)) == pytest.approx(1.0)  # all mass in the top-left quadrant
    near = np.zeros(HW, bool)
    near[0:11, 0:13] = True  # the patch and the 5x5 windows of the detector units it switches on
    assert share_in(m, slice(0, 11), slice(0, 13)) == pytest.approx(1.0)
    assert attention_ratio(m, near) > 1.0 / near.mean() - 1e-6


def test_visual_backprop_puts_its_mass_on_the_only_thing_the_filters_see():
    policy = red_detector(fc_cells=None)
    img = grey_image(np.random.default_rng(1), [BOTTOM_RIGHT])
    m = attribute(policy, img, None, dt=DT, method="visual_backprop", single=True).image[0]
    assert m.shape == HW and m.max() == pytest.approx(1.0)
    assert share_in(m, slice(13, 24), slice(19, 32)) > 0.99  # the patch and its neighbourhood
    assert m[BOTTOM_RIGHT].mean() > 5 * m.mean()  # peaked on the patch, not spread over the image
    blank = visual_backprop(policy.rgb_encoder, grey_image(np.random.default_rng(1))[None])
    assert np.all(blank == 0)  # no unit fires, no saliency


def test_visual_backprop_follows_the_patch():
    policy = red_detector(fc_cells=None)
    rng = np.random.default_rng(2)
    for rows, cols in (TOP_LEFT, BOTTOM_RIGHT):
        m = visual_backprop(policy.rgb_encoder, grey_image(rng, [(rows, cols)])[None])[0]
        peak = np.unravel_index(np.argmax(m), m.shape)
        assert rows.start - 3 <= peak[0] < rows.stop + 3 and cols.start - 3 <= peak[1] < cols.stop + 3


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_kin_attribution_lands_on_the_one_feature_read(method):
    policy = seeded_policy(PolicyConfig(obs_kind="kin", obs_dim=16, core="mlp", core_config={"hidden": (8,)}))
    with torch.no_grad():
        first = policy.kin_encoder.net[0].weight
        first[:, [j for j in range(16) if j != 5]] = 0.0
    obs = np.random.default_rng(3).normal(size=(4, 16)).astype(np.float32)
    f = attribute(policy, obs, None, dt=DT, method=method).features
    assert f.shape == (4, 16)
    assert np.all(f[:, np.arange(16) != 5] == 0.0) and np.all(np.abs(f[:, 5]) > 0)


def test_gradient_saliency_goes_through_the_recurrent_state():
    """With an LTC core and a non-zero state: ``saliency`` is the plain autograd gradient of the action norm of one
    step from that state, and it depends on the state; integrated gradients add up to f(x) - f(baseline)."""
    policy = seeded_policy(PolicyConfig(obs_kind="kin", obs_dim=16, core="ltc-ncp", core_config={"time_unit_s": DT}))
    rng = np.random.default_rng(4)
    obs = torch.as_tensor(rng.normal(size=(2, 16)), dtype=torch.float32)
    state = torch.as_tensor(rng.normal(size=(2, policy.core.state_size)), dtype=torch.float32)
    x = obs.clone().requires_grad_(True)
    f = action_function(policy, DT)
    (grad,) = torch.autograd.grad(f(x, state).sum(), x)
    got = attribute(policy, obs, state, dt=DT, method="saliency").features
    np.testing.assert_allclose(got, grad.numpy(), rtol=1e-5, atol=1e-7)
    other = attribute(policy, obs, torch.zeros_like(state), dt=DT, method="saliency").features
    assert np.abs(got).max() > 1e-5 and np.abs(other - got).max() > 0.05 * np.abs(got).max()
    ig = attribute(policy, obs, state, dt=DT, method="integrated_gradients").features
    with torch.no_grad():
        gap = (f(obs, state) - f(torch.zeros_like(obs), state)).numpy()
    np.testing.assert_allclose(ig.sum(1), gap, rtol=0.02, atol=1e-4)


def test_unknown_method_and_target_are_refused():
    policy = seeded_policy(PolicyConfig(obs_kind="kin", obs_dim=16, core="mlp"))
    with pytest.raises(ValueError, match="valid methods"):
        attribute(policy, np.zeros((1, 16), np.float32), None, dt=DT, method="lime")
    with pytest.raises(ValueError, match="needs an image policy"):
        attribute(policy, np.zeros((1, 16), np.float32), None, dt=DT, method="visual_backprop")
    with pytest.raises(ValueError, match="target must be"):
        attribute(policy, np.zeros((1, 16), np.float32), None, dt=DT, method="saliency", target=7)


# ---- sanity checks --------------------------------------------------------------------------------------------
def blob_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey-noise images with a 4x4 red blob; the action is the blob's position (x, y in [-0.8, 0.8]), 0, 0."""
    grey = rng.integers(60, 200, size=(n, *HW), dtype=np.uint8)
    imgs = np.repeat(grey[..., None], 3, axis=-1)
    rows, cols = rng.integers(0, HW[0] - 4, n), rng.integers(0, HW[1] - 4, n)
    masks = np.zeros((n, *HW), bool)
    for k in range(n):
        imgs[k, rows[k]:rows[k] + 4, cols[k]:cols[k] + 4] = (220, 30, 30)
        masks[k, rows[k]:rows[k] + 4, cols[k]:cols[k] + 4] = True
    actions = np.zeros((n, 4), np.float32)
    actions[:, 0] = 1.6 * cols / (HW[1] - 4) - 0.8
    actions[:, 1] = 1.6 * rows / (HW[0] - 4) - 0.8
    return imgs, actions, masks


@pytest.fixture(scope="module")
def trained_blob_policy():
    policy = seeded_policy(PolicyConfig(obs_kind="rgb", image_hw=HW, conv_channels=(16, 16, 16), core="mlp",
                                        core_config={"hidden": (32,)}), seed=5)
    rng = np.random.default_rng(5)
    opt = torch.optim.Adam(policy.parameters(), lr=3e-3)
    policy.train()
    losses = []
    for _ in range(300):
        imgs, actions, _ = blob_data(rng, 32)
        pred, _ = policy(torch.as_tensor(imgs)[:, None], None, DT)
        loss = torch.mean((pred[:, 0] - torch.as_tensor(actions)) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    policy.eval()
    assert np.mean(losses[-20:]) < 0.1 * np.mean(losses[:20])  # it learned where the blob is
    return policy


def test_randomisation_separates_a_trained_policy_from_a_random_one(trained_blob_policy):
    policy = trained_blob_policy
    imgs, _, masks = blob_data(np.random.default_rng(6), 8)
    frames = [(img, None) for img in imgs]
    fns = map_functions(["saliency"], dt=DT)
    fns["pixel_intensity"] = lambda p, obs, states: obs.float().sum(-1).numpy()  # ignores the weights
    results = sanity_check(policy, frames, fns, np.random.default_rng(7), draws=1)
    sal, intensity = results["saliency"], results["pixel_intensity"]
    assert sal.stages[0] == "head" and sal.stages[-1] == "rgb_encoder.conv1"
    assert not sal.failed_sanity and sal.full_spearman < 0.5
    assert intensity.failed_sanity and intensity.full_spearman == pytest.approx(1.0)
    assert results["saliency"].to_dict()["failed_sanity"] is False
    # The trained policy looks at the blob.
    maps = fns["saliency"](policy, torch.as_tensor(imgs), policy.initial_state(8))
    assert np.mean([attention_ratio(m, k) for m, k in zip(maps, masks, strict=True)]) > 3.0


def test_cascade_randomises_top_down_and_leaves_the_policy_alone(trained_blob_policy):
    policy = trained_blob_policy
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    cascade = cascading_randomisations(policy, np.random.default_rng(8))
    assert [name for name, _ in cascade] == ["head", "core", "rgb_encoder.fc", "rgb_encoder.conv3",
                                             "rgb_encoder.conv2", "rgb_encoder.conv1"]
    for k, v in policy.state_dict().items():
        assert torch.equal(v, before[k])
    head_only, full = cascade[0][1], cascade[-1][1]
    assert not torch.equal(head_only.head.weight, policy.head.weight)
    assert torch.equal(head_only.rgb_encoder.conv[0].weight, policy.rgb_encoder.conv[0].weight)
    assert all(not torch.equal(a, b) for a, b in zip(full.parameters(), policy.parameters(), strict=True)
               if a.numel() > 1 and b.std() > 0)
    again = cascading_randomisations(policy, np.random.default_rng(8))[-1][1]
    assert all(torch.equal(a, b) for a, b in zip(again.parameters(), full.parameters(), strict=True))
