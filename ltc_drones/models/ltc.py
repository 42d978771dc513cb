"""Liquid time-constant (LTC) core (Hasani et al., "Liquid time-constant networks", AAAI 2021).

Neuron ``i`` obeys (``v`` in arbitrary units, ``t`` in seconds)::

    cm_i dv_i/dt = gleak_i (vleak_i - v_i) + sum_j w_ji sigmoid(sigma_ji (v_j - mu_ji)) (E_ji - v_i)
                                            + sum_s w^s_si sigmoid(sigma^s_si (x_s - mu^s_si)) (E^s_si - v_i)

over the synapses of the wiring. Solvers per step of ``dt`` seconds, split into ``unfolds`` sub-steps:
``semi_implicit`` (the fused solver of the paper, identical to ``ncps``' ``LTCCell``), ``euler`` and
``rk4`` (explicit). ``w``, ``sensory_w``, ``cm`` and ``gleak`` are kept positive by a softplus
(``positive="softplus"``, like ``ncps.torch.LTC``) or used raw and clipped by
:meth:`LTC.apply_weight_constraints` (``positive="clip"``, like a bare ``ncps`` ``LTCCell``).

Two implementations: the readable dense reference (:meth:`LTC.reference_step`) and the fast path in
:mod:`ltc_drones.models.ltc_fused`, used for the semi-implicit solver unless ``fast=False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ltc_drones.models import ltc_native
from ltc_drones.models.base import CoreConfigError, RecurrentCore, dt_column, step_via_sequence
from ltc_drones.models.ltc_fused import SemiImplicitLTCFunction, semi_implicit_step_inference
from ltc_drones.models.wiring import AutoNCP, FullyConnected, WiringGraph, wiring_from_config

MAPPINGS = ("affine", "linear", "none")
SOLVERS = ("semi_implicit", "euler", "rk4")
BACKENDS = ("auto", "native", "fused", "reference")
# Initial ranges of the raw parameters (uniform), as in ncps 1.0.1 / the LTC paper's code.
INIT_RANGES = {
    "gleak": (0.001, 1.0), "vleak": (-0.2, 0.2), "cm": (0.4, 0.6), "w": (0.001, 1.0),
    "sigma": (3.0, 8.0), "mu": (0.3, 0.8), "sensory_w": (0.001, 1.0), "sensory_sigma": (3.0, 8.0),
    "sensory_mu": (0.3, 0.8),
}


@dataclass(frozen=True)
class LTCConfig:
    """LTC core options.

    Attributes:
        wiring: ``"fully_connected"`` or ``"auto_ncp"`` (ignored when ``wiring_config`` is given).
        units: number of neurons.
        sparsity: AutoNCP sparsity in [0.1, 0.9].
        seed: wiring seed.
        wiring_config: explicit wiring (output of ``Wiring.to_config()``), overrides the three above.
        solver: ``semi_implicit`` | ``euler`` | ``rk4``.
        unfolds: solver sub-steps per step.
        input_mapping / output_mapping: ``affine`` (w*x+b), ``linear`` (w*x) or ``none``.
        epsilon: added to the semi-implicit denominator.
        positive: ``softplus`` or ``clip`` (see module docstring).
        backend: implementation of the semi-implicit solver: ``auto`` (compiled kernel when a C
            compiler is available, else ``fused``), ``native`` (compiled; falls back to ``fused`` if it
            cannot be built), ``fused`` (pure torch, analytic backward) or ``reference`` (dense, readable).
            Euler and RK4 always use the reference path.
    """

    wiring: Literal["fully_connected", "auto_ncp"] = "fully_connected"
    units: int = 32
    sparsity: float = 0.5
    seed: int = 22222
    wiring_config: dict[str, Any] | None = field(default=None, hash=False)
    solver: Literal["semi_implicit", "euler", "rk4"] = "semi_implicit"
    unfolds: int = 6
    input_mapping: Literal["affine", "linear", "none"] = "affine"
    output_mapping: Literal["affine", "linear", "none"] = "affine"
    epsilon: float = 1e-8
    positive: Literal["softplus", "clip"] = "softplus"
    backend: Literal["auto", "native", "fused", "reference"] = "auto"
    time_unit_s: float = 1.0
    """Seconds per time unit of the initial dynamics. ncps (and the LTC paper's code) initialise the
    capacitances for one time unit per step; with ``time_unit_s = dt`` (e.g. 1/30 at 30 Hz) a step of
    ``dt`` seconds starts with the same dynamics, instead of a response 1/dt times slower. Only the
    initial capacitances change (divided by ``1 / time_unit_s``); 1.0 keeps ncps's initialisation."""

    def __post_init__(self) -> None:
        checks = (("wiring", ("fully_connected", "auto_ncp")), ("solver", SOLVERS),
                  ("input_mapping", MAPPINGS), ("output_mapping", MAPPINGS),
                  ("positive", ("softplus", "clip")), ("backend", BACKENDS))
        for name, valid in checks:
            if getattr(self, name) not in valid:
                raise CoreConfigError(
                    f"LTC {name}={getattr(self, name)!r} is invalid; use one of {list(valid)}"
                )
        if self.unfolds < 1:
            raise CoreConfigError(f"unfolds must be >= 1, got {self.unfolds}")
        if not 0 < self.time_unit_s <= 1e3:
            raise CoreConfigError(f"time_unit_s must be a positive number of seconds, got {self.time_unit_s}")
        if self.units < 1:
            raise CoreConfigError(f"units must be >= 1, got {self.units}")
        if not self.epsilon >= 0:
            raise CoreConfigError(f"epsilon must be >= 0, got {self.epsilon}")


class LTC(RecurrentCore):
    """LTC core on a wiring; outputs are the motor neurons (the last ``output_size`` neurons), mapped.

    Args:
        input_size: input features F.
        output_size: motor neurons O (must equal the wiring's output size).
        config: :class:`LTCConfig`.
    """

    core_name = "ltc"

    def __init__(self, input_size: int, output_size: int, config: LTCConfig | None = None) -> None:
        super().__init__()
        config = config or LTCConfig()
        self.config = config
        if config.wiring_config is not None:
            wiring = wiring_from_config(config.wiring_config)
        elif config.wiring == "auto_ncp":
            wiring = AutoNCP(config.units, output_size, config.sparsity, config.seed)
        else:
            if output_size > config.units:
                raise CoreConfigError(f"output_size={output_size} exceeds units={config.units}; raise units")
            wiring = FullyConnected(config.units, output_size, seed=config.seed)
        graph = wiring.build(input_size)
        if graph.output_dim != output_size:
            raise CoreConfigError(
                f"wiring has {graph.output_dim} motor neurons but output_size={output_size}; make them equal"
            )
        self.graph: WiringGraph = graph
        self.input_size, self.output_size, self.state_size = input_size, output_size, graph.units
        n, i_n = graph.units, input_size
        self._allocate(n, i_n, output_size, graph)

    # ---- parameters -------------------------------------------------------------------------------
    def _allocate(self, n: int, i_n: int, o_n: int, graph: WiringGraph) -> None:
        def init(shape: tuple[int, ...], name: str) -> nn.Parameter:
            lo, hi = INIT_RANGES[name]
            return nn.Parameter(torch.rand(*shape) * (hi - lo) + lo)

        self.gleak, self.vleak, self.cm = init((n,), "gleak"), init((n,), "vleak"), init((n,), "cm")
        if self.config.time_unit_s != 1.0:
            with torch.no_grad():  # scale the positive capacitance, then map back to the raw parameter
                cm = self.config.time_unit_s * (F.softplus(self.cm) if self.config.positive == "softplus" else self.cm)
                self.cm.copy_(cm + torch.log(-torch.expm1(-cm)) if self.config.positive == "softplus" else cm)
        self.sigma, self.mu, self.w = init((n, n), "sigma"), init((n, n), "mu"), init((n, n), "w")
        self.erev = nn.Parameter(torch.tensor(graph.adjacency, dtype=torch.float32))
        self.sensory_sigma = init((i_n, n), "sensory_sigma")
        self.sensory_mu = init((i_n, n), "sensory_mu")
        self.sensory_w = init((i_n, n), "sensory_w")
        self.sensory_erev = nn.Parameter(torch.tensor(graph.sensory_adjacency, dtype=torch.float32))
        self.register_buffer("mask", torch.tensor(graph.adjacency != 0, dtype=torch.float32))
        self.register_buffer("sensory_mask", torch.tensor(graph.sensory_adjacency != 0, dtype=torch.float32))
        for prefix, size, mapping in (("input", i_n, self.config.input_mapping),
                                      ("output", o_n, self.config.output_mapping)):
            w = nn.Parameter(torch.ones(size)) if mapping in ("affine", "linear") else None
            b = nn.Parameter(torch.zeros(size)) if mapping == "affine" else None
            self.register_parameter(f"{prefix}_w", w)
            self.register_parameter(f"{prefix}_b", b)
        # Sparse synapse lists (src, dst) and one-hot gather/scatter matrices for the fast path.
        for name, adj, n_src in (("rec", graph.adjacency, n), ("sens", graph.sensory_adjacency, i_n)):
            src, dst = (torch.as_tensor(a, dtype=torch.long).contiguous() for a in (adj != 0).nonzero())
            k = src.numel()
            self.register_buffer(f"{name}_src", src)
            self.register_buffer(f"{name}_dst", dst)
            onehot_src = torch.zeros(n_src, k)
            onehot_src[src, torch.arange(k)] = 1.0
            onehot_dst = torch.zeros(k, n)
            onehot_dst[torch.arange(k), dst] = 1.0
            self.register_buffer(f"{name}_onehot_src", onehot_src)
            self.register_buffer(f"{name}_onehot_dst", onehot_dst)

    def num_parameters(self, trainable_only: bool = True) -> int:
        """Scalar parameters that affect the output: entries of the synapse matrices without a synapse
        in the wiring are not counted."""
        total = super().num_parameters(trainable_only)
        n, i_n = self.state_size, self.input_size
        unused_rec = n * n - self.rec_src.numel()
        unused_sens = i_n * n - self.sens_src.numel()
        return total - 4 * unused_rec - 4 * unused_sens  # sigma, mu, w, erev (and sensory_*)

    def _pos(self, p: Tensor) -> Tensor:
        return F.softplus(p) if self.config.positive == "softplus" else p

    @torch.no_grad()
    def apply_weight_constraints(self) -> None:
        """For ``positive="clip"``: clamp ``w``, ``sensory_w``, ``cm``, ``gleak`` to >= 0 in place."""
        if self.config.positive == "clip":
            for p in (self.w, self.sensory_w, self.cm, self.gleak):
                p.clamp_(min=0.0)

    def map_inputs(self, x: Tensor) -> Tensor:
        """Input mapping applied to features [..., F]."""
        if self.input_w is not None:
            x = x * self.input_w
        if self.input_b is not None:
            x = x + self.input_b
        return x

    def map_outputs(self, v: Tensor) -> Tensor:
        """Motor neurons of states [..., N] -> outputs [..., O]."""
        y = v[..., self.state_size - self.output_size:]
        if self.output_w is not None:
            y = y * self.output_w
        if self.output_b is not None:
            y = y + self.output_b
        return y

    # ---- reference (dense, readable) --------------------------------------------------------------
    def _synaptic_currents(self, pre: Tensor, w: Tensor, sigma: Tensor, mu: Tensor, erev: Tensor,
                           mask: Tensor) -> tuple[Tensor, Tensor]:
        """Dense synapses from pre [B, S] to all N: (sum g*E, sum g) over sources, each [B, N]."""
        g = w * torch.sigmoid(sigma * (pre.unsqueeze(-1) - mu)) * mask
        return (g * erev).sum(1), g.sum(1)

    def reference_step(self, x: Tensor, v: Tensor, dt: float | Tensor) -> tuple[Tensor, Tensor]:
        """One step with the dense reference implementation (any solver). Shapes as :meth:`step`."""
        cfg = self.config
        xm = self.map_inputs(x)
        num_s, den_s = self._synaptic_currents(xm, self._pos(self.sensory_w), self.sensory_sigma,
                                               self.sensory_mu, self.sensory_erev, self.sensory_mask)
        w, cm, gleak = self._pos(self.w), self._pos(self.cm), self._pos(self.gleak)
        h = dt_column(dt, v) / cfg.unfolds  # seconds per unfold

        def rhs(v: Tensor) -> Tensor:  # dv/dt
            num, den = self._synaptic_currents(v, w, self.sigma, self.mu, self.erev, self.mask)
            return (gleak * (self.vleak - v) + (num + num_s) - (den + den_s) * v) / cm

        for _ in range(cfg.unfolds):
            if cfg.solver == "semi_implicit":
                num, den = self._synaptic_currents(v, w, self.sigma, self.mu, self.erev, self.mask)
                cm_t = cm / h
                v = (cm_t * v + gleak * self.vleak + num + num_s) / (cm_t + gleak + den + den_s + cfg.epsilon)
            elif cfg.solver == "euler":
                v = v + h * rhs(v)
            else:
                k1 = rhs(v)
                k2 = rhs(v + 0.5 * h * k1)
                k3 = rhs(v + 0.5 * h * k2)
                k4 = rhs(v + h * k3)
                v = v + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        return self.map_outputs(v), v

    # ---- fast paths -------------------------------------------------------------------------------
    def synapse_vectors(self, name: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per-synapse (sigma, -sigma*mu, w*E, w) of the ``rec`` or ``sens`` synapses, each [K]."""
        if name == "rec":
            w, sigma, mu, erev = self._pos(self.w), self.sigma, self.mu, self.erev
        else:
            w, sigma, mu, erev = (self._pos(self.sensory_w), self.sensory_sigma, self.sensory_mu,
                                  self.sensory_erev)
        src, dst = getattr(self, f"{name}_src"), getattr(self, f"{name}_dst")
        sig_k, w_k = sigma[src, dst], w[src, dst]
        return sig_k, -(sig_k * mu[src, dst]), w_k * erev[src, dst], w_k

    def fused_matrices(self, name: str) -> tuple[Tensor, Tensor, Tensor]:
        """Gather matrix G [S, K], bias -sigma*mu [K] and scatter matrix A [K, 2N] (differentiable)."""
        sig_k, negsm, we_k, w_k = self.synapse_vectors(name)
        onehot_dst = getattr(self, f"{name}_onehot_dst")
        g = getattr(self, f"{name}_onehot_src") * sig_k
        a = torch.cat([onehot_dst * we_k.unsqueeze(1), onehot_dst * w_k.unsqueeze(1)], 1)
        return g, negsm, a

    def leak_bias(self) -> Tensor:
        """[2N]: (gleak * vleak, gleak + epsilon)."""
        gleak = self._pos(self.gleak)
        return torch.cat([gleak * self.vleak, gleak + self.config.epsilon])

    def backend(self, like: Tensor) -> str:
        """Backend used for tensors like ``like``: ``native``, ``fused`` or ``reference``."""
        cfg = self.config
        if cfg.solver != "semi_implicit" or cfg.backend == "reference" or torch.jit.is_tracing():
            return "reference"
        if cfg.backend in ("auto", "native") and ltc_native.supports(like):
            return "native"
        return "fused"

    def _forward_seq(self, x: Tensor, h: Tensor, dt: float | Tensor | None,
                     episode_start: Tensor | None) -> tuple[Tensor, Tensor]:
        backend = self.backend(x)
        if backend == "reference":
            return super()._forward_seq(x, h, dt, episode_start)
        assert dt is not None
        b, t_len, _ = x.shape
        n, u_n = self.state_size, self.config.unfolds
        # Sensory synapses do not depend on the state: evaluate them for the whole sequence at once.
        g_s, negsm_s, a_s = self.fused_matrices("sens")
        xm = self.map_inputs(x).transpose(0, 1).reshape(t_len * b, -1)  # time-major rows
        s_sens = torch.sigmoid(torch.addmm(negsm_s, xm, g_s))
        bias = torch.addmm(self.leak_bias(), s_sens, a_s).view(t_len, b, 2 * n)
        cm = self._pos(self.cm)
        if isinstance(dt, Tensor):
            cmt = cm * (u_n / dt.to(x.dtype).t().unsqueeze(-1))  # [T, B, N]
        else:
            cmt = (cm * (u_n / dt)).expand(t_len, b, n)
        bias = (bias + torch.cat([torch.zeros_like(cmt), cmt], -1)).contiguous()
        cmt = cmt.contiguous()
        keep = x.new_empty(0) if episode_start is None else (~episode_start).t().to(x.dtype).contiguous()
        if backend == "native":
            v_seq = ltc_native.NativeLTCFunction.apply(h, *self.synapse_vectors("rec"), bias, cmt, keep,
                                                       self.rec_src, self.rec_dst, u_n)
        else:
            v_seq = SemiImplicitLTCFunction.apply(h, *self.fused_matrices("rec"), bias, cmt,
                                                  keep.unsqueeze(-1), u_n)
        return self.map_outputs(v_seq).transpose(0, 1), v_seq[-1]

    def _build_inference(self, backend: str) -> object:
        if backend == "native":
            arrays = [self.input_w, self.input_b, self.output_w, self.output_b, self.leak_bias(),
                      self._pos(self.cm), self.sens_src, self.sens_dst, self.rec_src, self.rec_dst,
                      *self.synapse_vectors("sens"), *self.synapse_vectors("rec")]
            sizes = (self.input_size, self.state_size, self.output_size, self.sens_src.numel(),
                     self.rec_src.numel(), self.config.unfolds)
            return ltc_native.NativeStep(arrays, sizes)
        return {"sens": self.fused_matrices("sens"), "rec": self.fused_matrices("rec"),
                "leak": self.leak_bias(), "cm": self._pos(self.cm)}

    def _step(self, x: Tensor, h: Tensor, dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
        assert dt is not None
        backend = self.backend(x)
        if backend == "reference":
            return self.reference_step(x, h, dt)
        if torch.is_grad_enabled():  # differentiable single step through the sequence path
            return step_via_sequence(self, x, h, dt)
        cache = self._inference_constants(backend, lambda: self._build_inference(backend))
        if isinstance(cache, ltc_native.NativeStep):
            return cache(x, h, dt)
        assert isinstance(cache, dict)
        u_n = self.config.unfolds
        g_s, negsm_s, a_s = cache["sens"]
        s_sens = torch.addmm(negsm_s, self.map_inputs(x), g_s).sigmoid_()
        bias = torch.addmm(cache["leak"], s_sens, a_s)
        cmt = cache["cm"] * (u_n / (dt if isinstance(dt, float) else dt.to(x.dtype).unsqueeze(1)))
        v = semi_implicit_step_inference(h, bias, cmt, *cache["rec"], u_n)
        return self.map_outputs(v), v
