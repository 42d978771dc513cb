"""LTC core: fast paths equal the dense reference, solver convergence, stability bounds, validation."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltc_drones.models import LTC, CoreConfigError, CoreInputError, LTCConfig, ltc_native, make_core

B, T, F = 3, 8, 5


def _data(seed: int, b: int = B, t: int = T):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, F, generator=g, dtype=torch.float64)
    dt = 0.01 + 0.3 * torch.rand(b, t, generator=g, dtype=torch.float64)
    es = torch.zeros(b, t, dtype=torch.bool)
    es[1, t // 2] = True
    return x, dt, es


def _core(kind: str, seed: int = 0, **cfg) -> LTC:
    torch.manual_seed(seed)
    core = make_core(kind, F, 3, **({"units": 8} if kind == "ltc" else {}), **cfg).double()
    with torch.no_grad():
        for p in (core.input_b, core.output_b):
            if p is not None:
                p.normal_()
    return core


def _run(core: LTC, backend: str, x, dt, es, h0):
    core.config = dataclasses.replace(core.config, backend=backend)
    xg = x.clone().requires_grad_(True)
    y, h = core(xg, h0, dt, es)
    w = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)
    grads = torch.autograd.grad((w * y).sum() + h.sum(), [xg, *core.parameters()])
    return y, h, grads


BACKENDS = ["fused"] + (["native"] if ltc_native.native_lib() is not None else [])


@pytest.mark.parametrize("kind", ["ltc", "ltc-ncp"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_path_matches_reference(kind, backend):
    core = _core(kind)
    x, dt, es = _data(1)
    h0 = 0.3 * torch.randn(B, core.state_size, dtype=torch.float64)
    y_ref, h_ref, g_ref = _run(core, "reference", x, dt, es, h0)
    y, h, g = _run(core, backend, x, dt, es, h0)
    assert core.backend(x) == backend
    assert (y - y_ref).abs().max() <= 1e-10
    assert (h - h_ref).abs().max() <= 1e-10
    for a, b in zip(g, g_ref, strict=True):
        assert (a - b).abs().max() <= 1e-9 * max(1.0, float(b.abs().max()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_fast_path_float32_close(backend):
    core = _core("ltc-ncp").float()
    x, dt, es = (v.float() if v.is_floating_point() else v for v in _data(2))
    y_ref, _, _ = _run(core, "reference", x, dt, es, None)
    y, _, _ = _run(core, backend, x, dt, es, None)
    assert (y - y_ref).abs().max() <= 1e-4


@pytest.mark.parametrize("solver", ["semi_implicit", "euler", "rk4"])
@pytest.mark.parametrize("backend", ["auto", "fused", "reference"])
def test_step_equals_forward(solver, backend):
    core = _core("ltc-ncp", solver=solver, backend=backend)
    x, dt, es = _data(3)
    with torch.no_grad():
        y_seq, h_seq = core(x, None, dt, es)
        h = core.initial_state(B)
        ys = []
        for t in range(T):
            y, h = core.step(x[:, t], h, dt[:, t], es[:, t])
            ys.append(y)
    assert (torch.stack(ys, 1) - y_seq).abs().max() <= 1e-12
    assert (h - h_seq).abs().max() <= 1e-12


def test_solvers_converge_to_the_same_ode_solution():
    """Euler is first order, RK4 fourth order; the semi-implicit scheme converges to the same solution."""
    core = _core("ltc-ncp", seed=4)
    x, dt, _ = _data(4, b=2, t=3)
    dt = torch.full_like(dt, 0.4)

    def final(solver: str, unfolds: int) -> torch.Tensor:
        core.config = dataclasses.replace(core.config, solver=solver, unfolds=unfolds, backend="reference",
                                          epsilon=0.0)
        with torch.no_grad():
            return core(x, None, dt)[1]

    exact = final("rk4", 256)
    err = {(s, u): float((final(s, u) - exact).abs().max()) for s in ("euler", "rk4", "semi_implicit")
           for u in (8, 16)}
    assert 1.6 < err[("euler", 8)] / err[("euler", 16)] < 2.5
    assert 10.0 < err[("rk4", 8)] / err[("rk4", 16)] < 22.0
    assert 1.6 < err[("semi_implicit", 8)] / err[("semi_implicit", 16)] < 2.5
    assert err[("rk4", 16)] < 1e-3 * err[("euler", 16)]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), log_dt=st.floats(-3.0, 1.0), scale=st.floats(0.1, 5.0),
       backend=st.sampled_from(["reference", *BACKENDS]))
def test_state_stays_within_ltc_bounds(seed, log_dt, scale, backend):
    """Hasani et al. 2021, Theorem 2: with positive conductances and capacitance every semi-implicit
    update is a convex combination of the old state, vleak and the reversal potentials of the active
    synapses (times den / (den + eps) <= 1, which pulls towards 0), so each neuron stays inside
    [min(0, v0, vleak, E_in), max(0, v0, vleak, E_in)] for any positive dt and any input."""
    g = torch.Generator().manual_seed(seed)
    core = _core("ltc-ncp", seed=seed % 7, backend=backend)
    with torch.no_grad():  # arbitrary (trained-looking) parameters, raw values of any sign
        for p in core.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    x = 3.0 * scale * torch.randn(2, 12, F, generator=g, dtype=torch.float64)
    h0 = scale * torch.randn(2, core.state_size, generator=g, dtype=torch.float64)
    dt = 10.0**log_dt
    with torch.no_grad():
        v_seq = []
        h = h0
        for t in range(12):
            _, h = core.step(x[:, t], h, dt)
            v_seq.append(h)
    v = torch.stack(v_seq, 1)  # [B, T, N]
    big = torch.finfo(torch.float64).max
    e_in = torch.cat([core.erev.where(core.mask > 0, torch.nan),
                      core.sensory_erev.where(core.sensory_mask > 0, torch.nan)], 0)
    lo = torch.minimum(e_in.nan_to_num(big).amin(0), core.vleak).clamp(max=0.0)
    hi = torch.maximum(e_in.nan_to_num(-big).amax(0), core.vleak).clamp(min=0.0)
    lo = torch.minimum(lo, h0)  # [B, N]
    hi = torch.maximum(hi, h0)
    tol = 1e-9 * (1 + scale)
    assert torch.isfinite(v).all()
    assert (v >= lo.unsqueeze(1) - tol).all() and (v <= hi.unsqueeze(1) + tol).all()


def test_softplus_keeps_positive_parameters_positive():
    core = _core("ltc-ncp")
    with torch.no_grad():
        core.w.fill_(-30.0)
        core.cm.fill_(-5.0)
    assert (core._pos(core.w) > 0).all() and (core._pos(core.cm) > 0).all()
    clip = _core("ltc-ncp", positive="clip")
    with torch.no_grad():
        clip.w.fill_(-1.0)
    clip.apply_weight_constraints()
    assert (clip.w >= 0).all()


@pytest.mark.parametrize(
    "cfg, match",
    [({"input_mapping": "afine"}, "input_mapping"), ({"output_mapping": "Linear"}, "output_mapping"),
     ({"solver": "rk45"}, "solver"), ({"unfolds": 0}, "unfolds"), ({"backend": "cuda"}, "backend"),
     ({"positive": "abs"}, "positive")],
)
def test_bad_config_raises(cfg, match):
    with pytest.raises(CoreConfigError, match=match):
        LTCConfig(**cfg)


def test_native_and_fused_absent_mapping():
    core = _core("ltc", input_mapping="none", output_mapping="linear")
    assert core.input_w is None and core.input_b is None and core.output_b is None
    x, dt, es = _data(5)
    y_ref, _, _ = _run(core, "reference", x, dt, es, None)
    for backend in BACKENDS:
        y, _, _ = _run(core, backend, x, dt, es, None)
        assert (y - y_ref).abs().max() <= 1e-10
        with torch.no_grad():
            y1, _ = core.step(x[:, 0], None, dt[:, 0])
        assert (y1 - y_ref[:, 0]).abs().max() <= 1e-10


@pytest.mark.parametrize("dt", [0.0, -0.1, float("nan"), float("inf"), None])
def test_bad_dt_raises(dt):
    core = _core("ltc-ncp")
    x = torch.zeros(2, 3, F, dtype=torch.float64)
    with pytest.raises(CoreInputError, match="dt"):
        core(x, None, dt)
    with pytest.raises(CoreInputError, match="dt"):
        core.step(x[:, 0], None, dt)


def test_bad_dt_tensor_raises():
    core = _core("ltc-ncp")
    x = torch.zeros(2, 3, F, dtype=torch.float64)
    dt = torch.full((2, 3), 0.1, dtype=torch.float64)
    dt[1, 2] = 0.0
    with pytest.raises(CoreInputError, match="positive"):
        core(x, None, dt)
    with pytest.raises(CoreInputError, match="shape"):
        core(x, None, torch.full((3, 2), 0.1))


def test_parameter_count_counts_only_existing_synapses():
    core = _core("ltc-ncp")
    n, k, ks = core.state_size, core.rec_src.numel(), core.sens_src.numel()
    assert core.num_parameters() == 3 * n + 4 * k + 4 * ks + 2 * F + 2 * 3


def test_native_kernel_keeps_subnormals():
    """The compiled kernel must not switch the process to flush-to-zero (gcc's crtfastmath)."""
    if ltc_native.native_lib() is None:
        pytest.skip("no C compiler: the native kernel is not built")
    tiny = torch.tensor(1e-310, dtype=torch.float64)
    assert float(tiny * 0.5) > 0.0
