"""Closed-form continuous-time (CfC) core (Hasani et al., "Closed-form continuous-time neural networks",
Nature Machine Intelligence 2022), numerically identical to ``ncps.torch.CfCCell`` 1.0.1.

With ``z = backbone([x, h])`` and ``t`` the elapsed time in seconds::

    default:  h' = tanh(f1(z)) * (1 - s) + s * tanh(f2(z)),   s = sigmoid(ta(z) * t + tb(z))
    no_gate:  h' = tanh(f1(z)) + s * tanh(f2(z))
    pure:     h' = -A * exp(-t * (|w_tau| + |f1(z)|)) * f1(z) + A

Speed: the input half of the first layer is applied to the whole sequence at once, and the heads
(f1, f2, ta, tb) are fused into one matrix product per step. Parameters are stored exactly like
``ncps`` (``backbone``, ``ff1``, ``ff2``, ``time_a``, ``time_b``, ``w_tau``, ``A``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ltc_drones.models.base import CoreConfigError, RecurrentCore, dt_column, step_via_sequence

MODES = ("default", "no_gate", "pure")
ACTIVATIONS = ("lecun_tanh", "silu", "relu", "tanh", "gelu")
LECUN_SCALE, LECUN_SLOPE = 1.7159, 0.666  # LeCun et al., "Efficient BackProp", 1998


class LeCunTanh(nn.Module):
    """``1.7159 * tanh(0.666 x)``."""

    def forward(self, x: Tensor) -> Tensor:
        return LECUN_SCALE * torch.tanh(LECUN_SLOPE * x)


def _lecun_tanh(x: Tensor) -> Tensor:
    return torch.tanh(x * LECUN_SLOPE).mul_(LECUN_SCALE)


ACTIVATION_FNS = {"lecun_tanh": _lecun_tanh, "silu": F.silu, "relu": torch.relu, "tanh": torch.tanh,
                  "gelu": F.gelu}


def make_activation(name: str) -> nn.Module:
    """Backbone activation by name (one of :data:`ACTIVATIONS`)."""
    table = {"lecun_tanh": LeCunTanh, "silu": nn.SiLU, "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
    if name not in table:
        raise CoreConfigError(f"unknown activation {name!r}; use one of {list(table)}")
    return table[name]()


def cfc_update(mode: str, heads: Tensor, hidden: int, ts: float | Tensor, w_tau: Tensor | None,
               a: Tensor | None) -> Tensor:
    """New hidden state from the fused head pre-activations.

    Args:
        mode: one of :data:`MODES`.
        heads: [B, 4H] (f1, f2, ta, tb) or [B, H] (f1 only, ``pure``).
        hidden: H.
        ts: elapsed time, float or [B, 1] (seconds).
        w_tau, a: ``pure``-mode parameters [1, H].
    """
    if mode == "pure":
        assert w_tau is not None and a is not None
        return -a * torch.exp(-ts * (torch.abs(w_tau) + torch.abs(heads))) * heads + a
    ff = torch.tanh(heads[:, : 2 * hidden])
    ff1, ff2 = ff[:, :hidden], ff[:, hidden:]
    t_a, t_b = heads[:, 2 * hidden: 3 * hidden], heads[:, 3 * hidden:]
    s = torch.sigmoid(torch.add(t_b, t_a, alpha=ts) if isinstance(ts, float) else torch.addcmul(t_b, t_a, ts))
    if mode == "no_gate":
        return torch.addcmul(ff1, s, ff2)
    return torch.lerp(ff1, ff2, s)  # = ff1 * (1 - s) + s * ff2


@dataclass(frozen=True)
class CfCConfig:
    """CfC core options.

    Attributes:
        units: hidden neurons H (state size).
        mode: ``default`` | ``no_gate`` | ``pure``.
        backbone_activation: one of :data:`ACTIVATIONS`.
        backbone_units: width of the backbone layers.
        backbone_layers: number of backbone layers (0 = heads read ``[x, h]`` directly).
        backbone_dropout: dropout after backbone layers 2.. (as in ncps).
        projection: add a linear readout ``H -> output_size``; if False, ``output_size`` must equal H.
    """

    units: int = 32
    mode: Literal["default", "no_gate", "pure"] = "default"
    backbone_activation: Literal["lecun_tanh", "silu", "relu", "tanh", "gelu"] = "lecun_tanh"
    backbone_units: int = 128
    backbone_layers: int = 1
    backbone_dropout: float = 0.0
    projection: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise CoreConfigError(f"CfC mode={self.mode!r} is invalid; use one of {list(MODES)}")
        if self.backbone_activation not in ACTIVATIONS:
            raise CoreConfigError(
                f"backbone_activation={self.backbone_activation!r} is invalid; use one of {list(ACTIVATIONS)}"
            )
        if self.units < 1 or self.backbone_layers < 0:
            raise CoreConfigError("units must be >= 1 and backbone_layers >= 0")
        if self.backbone_layers > 0 and self.backbone_units < 1:
            raise CoreConfigError("backbone_units must be >= 1 when backbone_layers > 0")
        if not 0.0 <= self.backbone_dropout < 1.0:
            raise CoreConfigError(f"backbone_dropout must be in [0, 1), got {self.backbone_dropout}")


class CfC(RecurrentCore):
    """Fully connected CfC core with optional backbone and linear readout."""

    core_name = "cfc"

    def __init__(self, input_size: int, output_size: int, config: CfCConfig | None = None) -> None:
        super().__init__()
        cfg = config or CfCConfig()
        self.config = cfg
        if not cfg.projection and output_size != cfg.units:
            raise CoreConfigError(
                f"projection=False needs output_size == units, got {output_size} != {cfg.units}"
            )
        self.input_size, self.output_size, self.state_size = input_size, output_size, cfg.units
        h = cfg.units
        layers: list[nn.Module] = []
        width = input_size + h
        for i in range(cfg.backbone_layers):
            layers += [nn.Linear(width, cfg.backbone_units), make_activation(cfg.backbone_activation)]
            if i > 0 and cfg.backbone_dropout > 0:
                layers.append(nn.Dropout(cfg.backbone_dropout))
            width = cfg.backbone_units
        self.backbone = nn.Sequential(*layers) if layers else None
        self.ff1 = nn.Linear(width, h)
        if cfg.mode == "pure":
            self.w_tau = nn.Parameter(torch.zeros(1, h))
            self.A = nn.Parameter(torch.ones(1, h))
        else:
            self.ff2, self.time_a, self.time_b = nn.Linear(width, h), nn.Linear(width, h), nn.Linear(width, h)
            self.w_tau, self.A = None, None
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.xavier_uniform_(p)
        self.fc = nn.Linear(h, output_size) if cfg.projection else nn.Identity()

    def _heads(self) -> tuple[Tensor, Tensor]:
        mods = [self.ff1] if self.config.mode == "pure" else [self.ff1, self.ff2, self.time_a, self.time_b]
        return torch.cat([m.weight for m in mods]), torch.cat([m.bias for m in mods])

    def _split_weights(self) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """(W_x^T, W_h^T, b) of the layer reading ``[x, h]``, and the fused heads (W^T, b)."""
        f = self.input_size
        w_heads, b_heads = self._heads()
        first = self.backbone[0] if self.backbone is not None else None
        if isinstance(first, nn.Linear):
            w_x, w_h, bias = first.weight[:, :f], first.weight[:, f:], first.bias
        else:
            w_x, w_h, bias = w_heads[:, :f], w_heads[:, f:], b_heads
        return w_x.t(), w_h.t(), bias, w_heads.t(), b_heads

    def _forward_seq(self, x: Tensor, h: Tensor, dt: float | Tensor | None,
                     episode_start: Tensor | None) -> tuple[Tensor, Tensor]:
        assert dt is not None
        b, t_len, f = x.shape
        w_x_t, w_h_t, bias, w_heads_t, b_heads = self._split_weights()
        # input half of the first layer for the whole sequence at once
        x_part = torch.addmm(bias, x.transpose(0, 1).reshape(t_len * b, f), w_x_t).view(t_len, b, -1)
        keep = None if episode_start is None else (~episode_start).to(h.dtype).unsqueeze(-1)
        rest = list(self.backbone)[1:] if self.backbone is not None else []
        states = []
        for t in range(t_len):
            if keep is not None:
                h = h * keep[:, t]
            z = torch.addmm(x_part[t], h, w_h_t)
            if self.backbone is not None:
                for layer in rest:
                    z = layer(z)
                z = torch.addmm(b_heads, z, w_heads_t)
            ts = dt_column(dt[:, t], h) if isinstance(dt, Tensor) else dt
            h = cfc_update(self.config.mode, z, self.state_size, ts, self.w_tau, self.A)
            states.append(h)
        return self.fc(torch.stack(states, 1)), h

    def _step(self, x: Tensor, h: Tensor, dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
        assert dt is not None
        cfg = self.config
        if torch.is_grad_enabled() or torch.jit.is_tracing() or (self.training and cfg.backbone_dropout > 0):
            return step_via_sequence(self, x, h, dt)
        (w_x_t, w_h_t, bias, w_heads_t, b_heads), hidden, readout = self._inference_constants(
            "step", self._inference_weights)
        z = torch.addmm(torch.addmm(bias, x, w_x_t), h, w_h_t)
        if self.backbone is not None:
            act = ACTIVATION_FNS[cfg.backbone_activation]
            z = act(z)
            for w_t, b in hidden:
                z = act(torch.addmm(b, z, w_t))
            z = torch.addmm(b_heads, z, w_heads_t)
        h = cfc_update(cfg.mode, z, self.state_size, dt_column(dt, h), self.w_tau, self.A)
        return (h if readout is None else torch.addmm(readout[1], h, readout[0])), h

    def _inference_weights(self) -> tuple:
        """Contiguous transposed weights for the no-autograd step (cached by the base class)."""
        hidden = [(m.weight.t().contiguous(), m.bias) for m in list(self.backbone or [])[2:]
                  if isinstance(m, nn.Linear)]
        readout = (self.fc.weight.t().contiguous(), self.fc.bias) if isinstance(self.fc, nn.Linear) else None
        return tuple(w.contiguous() for w in self._split_weights()), hidden, readout

    @torch.no_grad()
    def load_ncps(self, cell: nn.Module, proj: nn.Linear | None) -> None:
        """Copy the parameters of an ``ncps`` ``CfCCell`` (and its ``CfC.fc`` projection)."""
        own = [m for m in (self.backbone or []) if isinstance(m, nn.Linear)]
        theirs = [m for m in (cell.backbone or []) if isinstance(m, nn.Linear)]
        pairs = list(zip(own, theirs, strict=True)) + [(self.ff1, cell.ff1)]
        if self.config.mode == "pure":
            self.w_tau.copy_(cell.w_tau)
            self.A.copy_(cell.A)
        else:
            pairs += [(self.ff2, cell.ff2), (self.time_a, cell.time_a), (self.time_b, cell.time_b)]
        if proj is not None:
            pairs.append((self.fc, proj))
        for dst, src in pairs:
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
