"""Continuous-time RNN baseline (Funahashi & Nakamura 1993), explicit Euler with sub-steps.

``tau dh/dt = -h + tanh(W_x x + W_h h + b)``, with ``tau > 0`` per neuron (softplus of a raw
parameter, seconds); the output is a linear readout of ``h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ltc_drones.models.base import CoreConfigError, RecurrentCore, dt_column, step_via_sequence


@dataclass(frozen=True)
class CTRNNConfig:
    """Attributes: units (neurons), unfolds (Euler sub-steps per step), tau_init_s (initial time
    constant, seconds)."""

    units: int = 32
    unfolds: int = 1
    tau_init_s: float = 0.1

    def __post_init__(self) -> None:
        if self.units < 1 or self.unfolds < 1:
            raise CoreConfigError("units and unfolds must be >= 1")
        if not self.tau_init_s > 0:
            raise CoreConfigError(f"tau_init_s must be > 0 seconds, got {self.tau_init_s}")


class CTRNN(RecurrentCore):
    """CT-RNN core with a linear readout."""

    core_name = "ctrnn"

    def __init__(self, input_size: int, output_size: int, config: CTRNNConfig | None = None) -> None:
        super().__init__()
        cfg = config or CTRNNConfig()
        self.config = cfg
        self.input_size, self.output_size, self.state_size = input_size, output_size, cfg.units
        self.inp = nn.Linear(input_size, cfg.units)
        self.rec = nn.Linear(cfg.units, cfg.units, bias=False)
        # softplus^-1(tau_init): the raw parameter that gives tau = tau_init_s
        raw = math.log(math.expm1(cfg.tau_init_s))
        self.tau_raw = nn.Parameter(torch.full((cfg.units,), raw))
        self.readout = nn.Linear(cfg.units, output_size)

    def _forward_seq(self, x: Tensor, h: Tensor, dt: float | Tensor | None,
                     episode_start: Tensor | None) -> tuple[Tensor, Tensor]:
        assert dt is not None
        x_part = self.inp(x.transpose(0, 1))  # [T, B, H], whole sequence
        inv_tau = 1.0 / F.softplus(self.tau_raw)
        w_rec_t = self.rec.weight.t()
        keep = None if episode_start is None else (~episode_start).to(h.dtype).unsqueeze(-1)
        states = []
        for t in range(x.shape[1]):
            if keep is not None:
                h = h * keep[:, t]
            step = (dt_column(dt[:, t], h) if isinstance(dt, Tensor) else dt) / self.config.unfolds
            for _ in range(self.config.unfolds):
                h = h + step * inv_tau * (torch.tanh(torch.addmm(x_part[t], h, w_rec_t)) - h)
            states.append(h)
        return self.readout(torch.stack(states, 1)), h

    def _step(self, x: Tensor, h: Tensor, dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
        return step_via_sequence(self, x, h, dt)
