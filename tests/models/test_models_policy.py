"""Policy: actions bounded, act == forward, TorchScript export, save/load round trip, bad files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ltc_drones.models import (
    CORE_NAMES,
    Policy,
    PolicyConfig,
    PolicyConfigError,
    PolicyFileError,
    export_torchscript,
    load_policy,
    save_policy,
)

OBS_DIM, B, T = 7, 3, 5
SMALL = {"ltc": {"units": 8}, "cfc": {"units": 8, "backbone_units": 16}, "lstm": {"units": 8},
         "gru": {"units": 8}, "ctrnn": {"units": 8}, "ode-rnn": {"units": 8}, "mlp": {"hidden": [16]}}
CASES = [(core, "kin") for core in CORE_NAMES] + [("ltc-ncp", "rgb"), ("cfc-ncp", "rgb_kin"),
                                                   ("lstm", "rgb_kin"), ("ltc", "rgb")]


def _policy(core: str, kind: str, hw=(48, 64), seed: int = 0) -> Policy:
    torch.manual_seed(seed)
    cfg = PolicyConfig(obs_kind=kind, obs_dim=OBS_DIM if "kin" in kind else 0, image_hw=hw, core=core,
                       core_config=SMALL.get(core, {}), feature_dim=12, conv_channels=(4, 8, 8))
    return Policy(cfg).eval()


def _obs(kind: str, lead: tuple[int, ...], hw=(48, 64), seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    kin = 2.0 * torch.randn(*lead, OBS_DIM, generator=g)
    rgb = torch.randint(0, 256, (*lead, *hw, 3), generator=g, dtype=torch.uint8)
    return {"kin": kin, "rgb": rgb}[kind] if kind != "rgb_kin" else {"kin": kin, "rgb": rgb}


def _parts(obs, kind):
    kin = obs["kin"] if kind == "rgb_kin" else (obs if kind == "kin" else torch.zeros(0))
    rgb = obs["rgb"] if kind == "rgb_kin" else (obs if kind == "rgb" else torch.zeros(0, dtype=torch.uint8))
    return kin, rgb


@pytest.mark.parametrize("core, kind", CASES)
def test_act_matches_forward_and_is_bounded(core, kind):
    policy = _policy(core, kind)
    obs = _obs(kind, (B, T))
    es = torch.zeros(B, T, dtype=torch.bool)
    es[2, 2] = True
    with torch.no_grad():
        a_seq, s_seq = policy(obs, None, 1 / 30, es)
    assert a_seq.shape == (B, T, 4) and (a_seq.abs() <= 1).all()
    state = policy.initial_state(B)
    for t in range(T):
        o_t = {k: v[:, t] for k, v in obs.items()} if isinstance(obs, dict) else obs[:, t]
        a, state = policy.act(o_t, state, episode_start=es[:, t], dt=1 / 30)
        assert (a - a_seq[:, t]).abs().max() <= 1e-5
    assert state.shape == s_seq.shape


@pytest.mark.filterwarnings("ignore:`torch.jit")  # deprecated in favour of torch.export; still required
@pytest.mark.parametrize("core, kind", CASES)
def test_torchscript_export_gives_same_actions(core, kind, tmp_path):
    policy = _policy(core, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python values
        export_torchscript(policy, tmp_path / "policy.ts")
    scripted = torch.jit.load(str(tmp_path / "policy.ts"))
    for batch in (1, 4):  # traced at batch 2: shapes must stay dynamic
        obs = _obs(kind, (batch,), seed=batch)
        state = 0.1 * torch.randn(batch, policy.core.state_size)
        es = torch.zeros(batch, dtype=torch.bool)
        es[0] = True
        a_ref, s_ref = policy.act(obs, state, episode_start=es, dt=1 / 30)
        a_ts, s_ts = scripted(*_parts(obs, kind), state, es, torch.full((batch,), 1 / 30))
        assert (a_ts - a_ref).abs().max() <= 1e-5
        if s_ref.numel():
            assert (s_ts - s_ref).abs().max() <= 1e-5


@pytest.mark.parametrize("core, kind",
                         [("ltc-ncp", "kin"), ("cfc", "rgb_kin"), ("lstm", "rgb"), ("mlp", "kin")])
def test_save_load_round_trip(core, kind, tmp_path):
    policy = _policy(core, kind, seed=3)
    path = tmp_path / "sub" / "policy.pt"
    save_policy(path, policy)
    assert [p.name for p in path.parent.iterdir()] == ["policy.pt"]  # no temp file left
    loaded = load_policy(path)
    assert loaded.config == policy.config
    obs = _obs(kind, (B, T), seed=4)
    with torch.no_grad():
        a1, s1 = policy(obs, None, 1 / 30)
        a2, s2 = loaded(obs, None, 1 / 30)
    assert torch.equal(a1, a2) and torch.equal(s1, s2)


def test_corrupt_and_mismatched_files_raise(tmp_path):
    policy = _policy("ltc-ncp", "kin")
    good = tmp_path / "good.pt"
    save_policy(good, policy)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(PolicyFileError, match="not a readable policy file"):
        load_policy(bad)
    payload = torch.load(good, weights_only=True)
    payload["schema_version"] = 99
    torch.save(payload, tmp_path / "v99.pt")
    with pytest.raises(PolicyFileError, match="schema version"):
        load_policy(tmp_path / "v99.pt")
    payload["schema_version"] = 1
    payload["config"] = payload["config"].replace('"obs_dim": 7', '"obs_dim": 9')
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(PolicyFileError, match="do not match"):
        load_policy(tmp_path / "mismatch.pt")
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(PolicyFileError, match="not an ltc_drones.policy"):
        load_policy(tmp_path / "other.pt")


def test_numpy_observations_and_image_sizes():
    policy = _policy("gru", "rgb", hw=(96, 128))
    obs = np.random.default_rng(0).integers(0, 256, (2, 96, 128, 3), dtype=np.uint8)
    a, s = policy.act(obs, None, episode_start=np.array([True, False]), dt=1 / 30)
    assert a.shape == (2, 4) and s.shape == (2, policy.core.state_size)
    with pytest.raises(ValueError, match="48, 64, 3"):
        _policy("gru", "rgb").act(obs, dt=1 / 30)


@pytest.mark.parametrize(
    "cfg, match",
    [({"obs_kind": "depth"}, "obs_kind"), ({"obs_kind": "kin"}, "obs_dim"),
     ({"core": "transformer", "obs_dim": 3}, "valid names"), ({"obs_kind": "rgb", "image_hw": (10, 10)}, "image_hw")],
)
def test_bad_policy_config(cfg, match):
    with pytest.raises(PolicyConfigError, match=match):
        PolicyConfig(**cfg)


def test_missing_dt_is_an_error_and_act_takes_keywords_only():
    policy = _policy("ltc-ncp", "kin")
    obs = torch.zeros(1, OBS_DIM)
    with pytest.raises(ValueError, match="dt"):
        policy.act(obs, None, dt=None)
    with pytest.raises(TypeError, match="dt"):
        policy.act(obs, None)
    # The old positional order (obs, state, episode_start, dt) is refused, never silently misread.
    with pytest.raises(TypeError, match="positional"):
        policy.act(obs, None, torch.zeros(1, dtype=torch.bool), 1 / 30)


@pytest.mark.filterwarnings("ignore:`torch.jit")
@pytest.mark.parametrize("pool", ["max", "spatial"])
def test_max_and_keypoint_pooled_conv_heads_export_and_round_trip(tmp_path, pool):
    torch.manual_seed(0)
    cfg = PolicyConfig(obs_kind="rgb", core="ltc-ncp", feature_dim=12, conv_channels=(4, 8, 8), conv_pool=pool)
    policy = Policy(cfg).eval()
    save_policy(tmp_path / "p.pt", policy)
    loaded = load_policy(tmp_path / "p.pt")
    assert loaded.config.conv_pool == pool
    obs = _obs("rgb", (2, 3))
    with torch.no_grad():
        assert torch.equal(policy(obs, None, 1 / 30)[0], loaded(obs, None, 1 / 30)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = export_torchscript(policy)
    o = _obs("rgb", (2,))
    state = policy.initial_state(2)
    es = torch.zeros(2, dtype=torch.bool)
    a_ts, _ = scripted(torch.zeros(0), o, state, es, torch.full((2,), 1 / 30))
    assert (a_ts - policy.act(o, state, episode_start=es, dt=1 / 30)[0]).abs().max() <= 1e-5
    # A small bright blob moves the pooled features, whatever the pooling cell's size.
    blank = torch.zeros(1, 48, 64, 3, dtype=torch.uint8)
    blob = blank.clone()
    blob[0, 20:23, 30:33] = 255
    enc = policy.rgb_encoder
    with torch.no_grad():
        assert not torch.equal(enc(blank), enc(blob))
    with pytest.raises(PolicyConfigError, match="conv_pool"):
        PolicyConfig(obs_kind="rgb", conv_pool="mean")


def test_spatial_softmax_finds_a_blob():
    from ltc_drones.models.perception import SpatialSoftmax

    x = torch.zeros(1, 1, 12, 16)
    x[0, 0, 9, 12] = 20.0  # a sharp peak low and to the right
    ex, ey, peak = SpatialSoftmax()(x)[0]
    assert ex == pytest.approx(-1 + 2 * 12 / 15, abs=1e-3) and ey == pytest.approx(-1 + 2 * 9 / 11, abs=1e-3)
    assert peak == 20.0


def test_rgb_kin_fusion_is_layer_normalised_like_the_conv_head():
    policy = _policy("lstm", "rgb_kin")
    obs = _obs("rgb_kin", (8,), seed=5)
    with torch.no_grad():
        feats = policy.encode(obs["kin"], obs["rgb"])
        conv = policy.rgb_encoder(obs["rgb"])
    for f in (feats, conv):  # signed, zero mean and unit scale per sample (LayerNorm at its initial affine)
        assert (f < 0).any(dim=-1).all()
        assert torch.allclose(f.mean(-1), torch.zeros(8), atol=1e-5)
        assert torch.allclose(f.std(-1, unbiased=False), torch.ones(8), atol=0.01)


def test_load_policy_reads_training_checkpoints_and_shipped_agents(tmp_path):
    from ltc_drones import load_agent
    from ltc_drones.resources import shipped_agent

    path = shipped_agent("fly-to-target__ltc-ncp__kin")
    agent = load_agent(path)
    policy = load_policy(path)
    assert policy.config == agent.policy.config
    ref = agent.policy.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in policy.state_dict().items())
    # And a policy file saved from it gives the same network back.
    save_policy(tmp_path / "p.pt", policy)
    assert load_policy(tmp_path / "p.pt").config == agent.policy.config
