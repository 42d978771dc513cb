"""Our converted cores reproduce ncps 1.0.1 (float64, irregular dt): outputs, states and gradients.

ncps' LTC/CfC wrappers mishandle per-sample time spans for batch > 1 (upstream:
https://github.com/mlech26l/ncps/issues/81 to .../83), so the reference is run through its cells, step by
step, with (B, 1) elapsed-time tensors.
"""

from __future__ import annotations

import pytest
import torch

ncps_torch = pytest.importorskip("ncps.torch")
ncps_wirings = pytest.importorskip("ncps.wirings")

from ltc_drones.models import from_ncps  # noqa: E402

TOL = 1e-12  # float64; docs/cores.md states this bound (measured differences are ~1e-15)
B, T, F = 3, 9, 5


def _data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, F, generator=g, dtype=torch.float64)
    dt = 0.02 + 0.5 * torch.rand(B, T, generator=g, dtype=torch.float64)  # irregular, seconds
    return x, dt


def _run_ncps_cell(cell: torch.nn.Module, x: torch.Tensor, dt: torch.Tensor, state_size: int):
    h = torch.zeros(B, state_size, dtype=torch.float64)
    ys = []
    for t in range(T):
        y, h = cell(x[:, t], h, dt[:, t : t + 1])
        ys.append(y)
    return torch.stack(ys, 1), h


def _trainable(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def _check(ref_module, cell, ours, x, dt, state_perm=None):
    xr = x.clone().requires_grad_(True)
    xo = x.clone().requires_grad_(True)
    y_ref, h_ref = _run_ncps_cell(cell, xr, dt, ours.state_size)
    y_ref = getattr(ref_module, "fc", torch.nn.Identity())(y_ref)  # ncps CfC's proj_size readout
    y_our, h_our = ours(xo, None, dt)
    assert (y_ref - y_our).abs().max().item() <= TOL
    h_ref_ours = h_ref if state_perm is None else h_ref[:, state_perm]
    assert (h_ref_ours - h_our).abs().max().item() <= TOL
    w = torch.linspace(-1, 1, y_ref.numel(), dtype=torch.float64).view_as(y_ref)
    g_ref = torch.autograd.grad((w * y_ref).sum(), [xr, *_trainable(ref_module)], allow_unused=True)
    g_our = torch.autograd.grad((w * y_our).sum(), [xo, *_trainable(ours)], allow_unused=True)
    assert (g_ref[0] - g_our[0]).abs().max().item() <= TOL  # w.r.t. inputs; parameters: by the caller
    return g_ref, g_our


@pytest.mark.parametrize(
    "make_wiring, unfolds, softplus",
    [(lambda: ncps_wirings.AutoNCP(19, 4), 6, True), (lambda: ncps_wirings.FullyConnected(8, 3), 3, True),
     (lambda: ncps_wirings.AutoNCP(19, 4), 6, False)],
    ids=["autoncp19-softplus", "fc8-3unfolds", "autoncp19-bare-cell"],
)
def test_ltc_matches_ncps(make_wiring, unfolds, softplus):
    torch.manual_seed(0)
    ref = ncps_torch.LTC(F, make_wiring(), ode_unfolds=unfolds, implicit_param_constraints=softplus).double()
    with torch.no_grad():  # make the mappings non-trivial
        for name in ("input_w", "input_b", "output_w", "output_b"):
            ref.rnn_cell._params[name].normal_()
    cell = ref.rnn_cell
    ours = from_ncps(ref if softplus else cell)  # the bare LTCCell converts too
    assert ours.config.positive == ("softplus" if softplus else "clip")
    wiring = cell._wiring
    perm = ([i for layer in range(3) for i in wiring.get_neurons_of_layer(layer)]
            if isinstance(wiring, ncps_wirings.NCP) else list(range(3, 8)) + list(range(3)))
    x, dt = _data(1)
    g_ref, g_our = _check(ref, cell, ours, x, dt, perm)
    # Parameter gradients element by element, in our neuron order.
    names_ref = [n.removeprefix("rnn_cell.") for n, p in ref.named_parameters() if p.requires_grad]
    names_our = [n for n, p in ours.named_parameters() if p.requires_grad]
    assert sorted(names_ref) == sorted(names_our)
    idx = torch.tensor(perm)
    for name in names_our:
        gr = g_ref[1 + names_ref.index(name)]
        if name in ("gleak", "vleak", "cm"):
            gr = gr[idx]
        elif name in ("sigma", "mu", "w", "erev"):
            gr = gr[idx][:, idx]
        elif name.startswith("sensory_"):
            gr = gr[:, idx]
        assert (gr - g_our[1 + names_our.index(name)]).abs().max().item() <= TOL, name


@pytest.mark.parametrize("mode, proj", [("default", None), ("no_gate", None), ("pure", None), ("default", 3)])
def test_cfc_matches_ncps(mode, proj):
    torch.manual_seed(1)
    ref = ncps_torch.CfC(F, 12, mode=mode, backbone_units=16, backbone_layers=2, proj_size=proj).double()
    ours = from_ncps(ref)
    x, dt = _data(2)
    g_ref, g_our = _check(ref, ref.rnn_cell, ours, x, dt)
    for a, b in zip(g_ref[1:], g_our[1:], strict=True):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() <= TOL


@pytest.mark.parametrize("mode", ["default", "no_gate", "pure"])
def test_wired_cfc_matches_ncps(mode):
    torch.manual_seed(2)
    ref = ncps_torch.CfC(F, ncps_wirings.AutoNCP(19, 4), mode=mode).double()
    ours = from_ncps(ref)
    x, dt = _data(3)
    g_ref, g_our = _check(ref, ref.rnn_cell, ours, x, dt)
    for a, b in zip(g_ref[1:], g_our[1:], strict=True):
        assert (a - b).abs().max().item() <= TOL
