"""CfC on a wiring (NCP): one CfC layer per wiring layer, as ``ncps.torch.WiredCfCCell`` 1.0.1.

Layer ``l`` reads the outputs of layer ``l-1`` (the inputs for the first layer) through the synapses
of the wiring (a sparsity mask on ``ff1``/``ff2``; the time gates and the layer's own recurrent
block are dense) and has no backbone. The state is the concatenation of the layers' states in wiring
order (inter, command, motor); the output is the motor layer's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from ltc_drones.models.base import CoreConfigError, RecurrentCore, dt_column, step_via_sequence
from ltc_drones.models.cfc import MODES, cfc_update
from ltc_drones.models.wiring import AutoNCP, WiringGraph, wiring_from_config


@dataclass(frozen=True)
class WiredCfCConfig:
    """Wired CfC options.

    Attributes:
        units: neurons of the AutoNCP wiring (ignored with ``wiring_config``).
        sparsity: AutoNCP sparsity.
        seed: wiring seed.
        wiring_config: explicit wiring (``Wiring.to_config()``), overrides the three above.
        mode: ``default`` | ``no_gate`` | ``pure``.
    """

    units: int = 19
    sparsity: float = 0.5
    seed: int = 22222
    wiring_config: dict[str, Any] | None = field(default=None, hash=False)
    mode: Literal["default", "no_gate", "pure"] = "default"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise CoreConfigError(f"CfC mode={self.mode!r} is invalid; use one of {list(MODES)}")


class WiredCfCLayer(nn.Module):
    """One masked CfC layer: ``in_features`` inputs, ``hidden`` neurons, mask [hidden, in + hidden]."""

    def __init__(self, in_features: int, hidden: int, mask: np.ndarray, mode: str) -> None:
        super().__init__()
        self.mode, self.hidden, self.in_features = mode, hidden, in_features
        width = in_features + hidden
        self.register_buffer("mask", torch.tensor(np.abs(mask), dtype=torch.float32))
        self.ff1 = nn.Linear(width, hidden)
        if mode == "pure":
            self.w_tau = nn.Parameter(torch.zeros(1, hidden))
            self.A = nn.Parameter(torch.ones(1, hidden))
        else:
            self.ff2, self.time_a, self.time_b = (nn.Linear(width, hidden) for _ in range(3))
            self.w_tau, self.A = None, None
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.xavier_uniform_(p)

    def fused(self) -> tuple[Tensor, Tensor]:
        """Masked, fused head weights [4H or H, in + H] and biases."""
        if self.mode == "pure":
            return self.ff1.weight * self.mask, self.ff1.bias
        w = torch.cat([self.ff1.weight * self.mask, self.ff2.weight * self.mask, self.time_a.weight,
                       self.time_b.weight])
        return w, torch.cat([self.ff1.bias, self.ff2.bias, self.time_a.bias, self.time_b.bias])

    @torch.no_grad()
    def load_ncps(self, cell: nn.Module) -> None:
        """Copy the parameters of one ``ncps`` ``CfCCell`` layer of a ``WiredCfCCell``."""
        if not torch.equal(cell.sparsity_mask.to(self.mask), self.mask):
            raise CoreConfigError("ncps layer mask differs from this layer's wiring mask")
        names = ["ff1"] if self.mode == "pure" else ["ff1", "ff2", "time_a", "time_b"]
        for name in names:
            getattr(self, name).weight.copy_(getattr(cell, name).weight)
            getattr(self, name).bias.copy_(getattr(cell, name).bias)
        if self.mode == "pure":
            self.w_tau.copy_(cell.w_tau)
            self.A.copy_(cell.A)


class WiredCfC(RecurrentCore):
    """CfC on an NCP wiring; outputs are the motor neurons' states."""

    core_name = "cfc-ncp"

    def __init__(self, input_size: int, output_size: int, config: WiredCfCConfig | None = None) -> None:
        super().__init__()
        cfg = config or WiredCfCConfig()
        self.config = cfg
        wiring = (wiring_from_config(cfg.wiring_config) if cfg.wiring_config is not None
                  else AutoNCP(cfg.units, output_size, cfg.sparsity, cfg.seed))
        graph: WiringGraph = wiring.build(input_size)
        if graph.output_dim != output_size or len(graph.layers[-1]) != output_size:
            raise CoreConfigError(
                f"wiring's motor layer has {len(graph.layers[-1])} neurons but output_size={output_size}"
            )
        self.graph = graph
        self.input_size, self.output_size, self.state_size = input_size, output_size, graph.units
        self.layer_sizes = [len(layer) for layer in graph.layers]
        layers = []
        in_features, prev = input_size, None
        for layer in graph.layers:
            ids = list(layer)
            src = graph.sensory_adjacency[:, ids] if prev is None else graph.adjacency[prev][:, ids]
            mask = np.concatenate([src, np.ones((len(ids), len(ids)))], 0).T  # [H, in + H]
            layers.append(WiredCfCLayer(in_features, len(ids), mask, cfg.mode))
            in_features, prev = len(ids), ids
        self.layers = nn.ModuleList(layers)

    def _forward_seq(self, x: Tensor, h: Tensor, dt: float | Tensor | None,
                     episode_start: Tensor | None) -> tuple[Tensor, Tensor]:
        assert dt is not None
        splits = self._split_weights()
        w0_in_t, _, b0 = splits[0]
        x_part = torch.matmul(x.transpose(0, 1), w0_in_t) + b0  # [T, B, heads], whole sequence
        keep = None if episode_start is None else (~episode_start).to(h.dtype).unsqueeze(-1)
        outs = []
        for t in range(x.shape[1]):
            if keep is not None:
                h = h * keep[:, t]
            ts = dt_column(dt[:, t], h) if isinstance(dt, Tensor) else dt
            hs = torch.split(h, self.layer_sizes, dim=1)
            inp, new = None, []
            for i, (layer, (w_in, w_rec, bias)) in enumerate(zip(self.layers, splits, strict=True)):
                pre = x_part[t] if i == 0 else torch.addmm(bias, inp, w_in)
                heads = torch.addmm(pre, hs[i], w_rec)
                inp = cfc_update(layer.mode, heads, layer.hidden, ts, layer.w_tau, layer.A)
                new.append(inp)
            h = torch.cat(new, 1)
            outs.append(inp)
        return torch.stack(outs, 1), h

    def num_parameters(self, trainable_only: bool = True) -> int:
        """Scalar parameters that affect the output: weights masked out by the wiring are not counted."""
        total = super().num_parameters(trainable_only)
        masked_heads = 1 if self.config.mode == "pure" else 2  # ff1 (and ff2) are masked; the time gates are not
        return total - sum(masked_heads * int((layer.mask == 0).sum()) for layer in self.layers)

    def _split_weights(self) -> list[tuple[Tensor, Tensor, Tensor]]:
        """Per layer: (W_in^T, W_rec^T, b) of the fused, masked heads."""
        out = []
        for layer in self.layers:
            w, bias = layer.fused()
            out.append((w[:, :layer.in_features].t(), w[:, layer.in_features:].t(), bias))
        return out

    def _step(self, x: Tensor, h: Tensor, dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
        assert dt is not None
        if torch.is_grad_enabled() or torch.jit.is_tracing():
            return step_via_sequence(self, x, h, dt)
        splits = self._inference_constants(
            "step", lambda: [tuple(w.contiguous() for w in s) for s in self._split_weights()])
        ts = dt_column(dt, h)
        hs = torch.split(h, self.layer_sizes, dim=1)
        inp, new = x, []
        for layer, h_l, (w_in, w_rec, bias) in zip(self.layers, hs, splits, strict=True):
            heads = torch.addmm(torch.addmm(bias, inp, w_in), h_l, w_rec)
            inp = cfc_update(layer.mode, heads, layer.hidden, ts, layer.w_tau, layer.A)
            new.append(inp)
        return inp, torch.cat(new, 1)
