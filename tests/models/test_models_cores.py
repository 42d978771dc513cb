"""Every core behind the one interface: step == forward, episode resets, gradients, errors."""

from __future__ import annotations

import pytest
import torch

from ltc_drones.models import CORE_NAMES, CoreConfigError, CoreInputError, core_config_dict, make_core

B, T, F, O = 3, 7, 5, 4
SMALL = {"ltc": {"units": 8}, "cfc": {"units": 8, "backbone_units": 16}, "ctrnn": {"units": 8, "unfolds": 2},
         "lstm": {"units": 8}, "gru": {"units": 8}, "mlp": {"hidden": [16]}, "ode-rnn": {"units": 8}}


def _core(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return make_core(name, F, O, **SMALL.get(name, {})).double()


def _data(seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, F, generator=g, dtype=torch.float64)
    dt = 0.02 + 0.2 * torch.rand(B, T, generator=g, dtype=torch.float64)
    return x, dt


@torch.no_grad()
def _forward_and_steps(core, x, dt, h0):
    """(y, h_T) of ``forward`` and of a ``step`` loop over the same sequence."""
    y_seq, h_seq = core(x, h0, dt)
    h, ys = h0, []
    for t in range(x.shape[1]):
        y, h = core.step(x[:, t], h, dt[:, t])
        ys.append(y)
    return y_seq, h_seq, torch.stack(ys, 1), h


@pytest.mark.parametrize("name", CORE_NAMES)
def test_step_over_sequence_equals_forward(name):
    core = _core(name)
    x, dt = _data(1)
    h0 = 0.1 * torch.randn(B, core.state_size, dtype=torch.float64)
    y_seq, h_seq, y_steps, h = _forward_and_steps(core, x, dt, h0)
    assert y_seq.shape == (B, T, O) and h_seq.shape == (B, core.state_size)
    assert (y_steps - y_seq).abs().max() <= 1e-10
    if core.state_size:
        assert (h - h_seq).abs().max() <= 1e-10


@pytest.mark.parametrize("name", CORE_NAMES)
def test_episode_start_resets_only_that_row(name):
    core = _core(name)
    x, dt = _data(2)
    h0 = 0.5 * torch.randn(B, core.state_size, dtype=torch.float64)
    t0 = 3
    es = torch.zeros(B, T, dtype=torch.bool)
    es[1, t0] = True
    with torch.no_grad():
        y_plain, _ = core(x, h0, dt)
        y_reset, _ = core(x, h0, dt, es)
        y_fresh, _ = core(x[1:2, t0:], None, dt[1:2, t0:])
    other = [0, 2]
    assert (y_reset[other] - y_plain[other]).abs().max() <= 1e-12  # other rows untouched
    assert (y_reset[1, :t0] - y_plain[1, :t0]).abs().max() <= 1e-12  # before the reset: unchanged
    assert (y_reset[1, t0:] - y_fresh[0]).abs().max() <= 1e-10  # after: as a fresh episode
    if core.state_size:  # with memory the reset must change something
        assert (y_reset[1, t0:] - y_plain[1, t0:]).abs().max() > 1e-6


@pytest.mark.parametrize("name", CORE_NAMES)
def test_gradients_reach_every_parameter(name):
    core = _core(name).float()
    x, dt = _data(3)
    y, h = core(x.float(), None, dt.float())
    (y.square().mean() + h.sum() * 0.0).backward()
    for pname, p in core.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        if name != "ltc":  # the dense LTC matrices have untouched entries (no synapse)
            assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", CORE_NAMES)
def test_config_round_trip_and_counts(name):
    core = _core(name)
    again = make_core(name, F, O, **core_config_dict(core))
    assert core.num_parameters() == again.num_parameters() > 0
    assert core.initial_state(2).shape == (2, core.state_size)
    assert not core.initial_state(2).any()


def test_continuous_time_cores_use_dt():
    x, _ = _data(4)
    for name in ("ltc", "ltc-ncp", "cfc", "cfc-ncp", "ctrnn", "ode-rnn"):
        core = _core(name)
        with torch.no_grad():
            y1, _ = core(x, None, 0.05)
            y2, _ = core(x, None, 0.2)
        assert (y1 - y2).abs().max() > 1e-6, name


def test_unknown_core_name_lists_valid_names():
    with pytest.raises(CoreConfigError, match="valid names.*ltc-ncp"):
        make_core("ltcc", F, O)


def test_unknown_config_key_lists_valid_keys():
    with pytest.raises(CoreConfigError, match="valid keys.*unfolds"):
        make_core("ltc", F, O, unfold=6)


@pytest.mark.parametrize(
    "name, cfg, match",
    [("ltc-ncp", {"units": 6}, "outputs < units - 2"), ("ltc", {"units": 2}, "exceeds units"),
     ("cfc", {"units": 8, "projection": False}, "output_size == units"),
     ("cfc", {"mode": "gated"}, "mode"), ("ode-rnn", {"solver": "dopri5"}, "solver")],
)
def test_wiring_or_config_that_does_not_fit(name, cfg, match):
    with pytest.raises(ValueError, match=match):
        make_core(name, F, O, **cfg)


def test_explicit_wiring_with_wrong_output_count_raises():
    from ltc_drones.models import AutoNCP, FullyConnected

    with pytest.raises(CoreConfigError, match="motor neurons"):
        make_core("ltc", F, O, wiring_config=FullyConnected(8, O - 1).to_config())
    with pytest.raises(CoreConfigError, match="motor"):
        make_core("cfc-ncp", F, O, wiring_config=AutoNCP(12, O + 1).to_config())


@pytest.mark.parametrize("name", CORE_NAMES)
def test_input_size_mismatch_raises(name):
    core = _core(name)
    with pytest.raises(CoreInputError, match=f"\\[B, T, {F}\\]"):
        core(torch.zeros(2, 3, F + 1, dtype=torch.float64), None, 0.1)
    with pytest.raises(CoreInputError, match=f"\\[B, {F}\\]"):
        core.step(torch.zeros(2, F - 1, dtype=torch.float64), None, 0.1)
    with pytest.raises(CoreInputError, match="state"):
        core(torch.zeros(2, 3, F, dtype=torch.float64), torch.zeros(2, core.state_size + 1), 0.1)


@pytest.mark.parametrize("name", CORE_NAMES)
def test_bad_dt_raises_everywhere(name):
    core = _core(name)
    with pytest.raises(CoreInputError, match="dt"):
        core(torch.zeros(2, 3, F, dtype=torch.float64), None, -1.0)
    with pytest.raises(CoreInputError, match="dt"):
        core(torch.zeros(2, 3, F, dtype=torch.float64), None, float("nan"))


@pytest.mark.parametrize("mode", ["default", "no_gate", "pure"])
@pytest.mark.parametrize("layers, activation", [(0, "lecun_tanh"), (2, "silu"), (3, "gelu")])
def test_cfc_variants_step_equals_forward(mode, layers, activation):
    torch.manual_seed(5)
    core = make_core("cfc", F, O, units=6, mode=mode, backbone_layers=layers, backbone_units=10,
                     backbone_activation=activation, backbone_dropout=0.3).double().eval()
    x, dt = _data(6)
    y_seq, h_seq, y_steps, h = _forward_and_steps(core, x, dt, None)
    assert (y_steps - y_seq).abs().max() <= 1e-12 and (h - h_seq).abs().max() <= 1e-12
