"""ODE-RNN baseline (Rubanova et al., "Latent ODEs for irregularly-sampled time series", 2019).

Between observations the hidden state follows ``dh/dt = f(h)`` (a small tanh MLP) integrated over the
elapsed time ``dt`` with a fixed-step solver (Euler or RK4, ``unfolds`` sub-steps); each observation
then updates it with a GRU cell. The output is a linear readout of ``h``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from ltc_drones.models.base import CoreConfigError, RecurrentCore, dt_column, step_via_sequence


@dataclass(frozen=True)
class ODERNNConfig:
    """Attributes: units (GRU state), ode_hidden (width of f), solver (``euler``/``rk4``), unfolds."""

    units: int = 32
    ode_hidden: int = 32
    solver: Literal["euler", "rk4"] = "rk4"
    unfolds: int = 1

    def __post_init__(self) -> None:
        if self.solver not in ("euler", "rk4"):
            raise CoreConfigError(f"solver={self.solver!r} is invalid; use 'euler' or 'rk4'")
        if min(self.units, self.ode_hidden, self.unfolds) < 1:
            raise CoreConfigError("units, ode_hidden and unfolds must be >= 1")


class ODERNN(RecurrentCore):
    """ODE-RNN core with a linear readout."""

    core_name = "ode-rnn"

    def __init__(self, input_size: int, output_size: int, config: ODERNNConfig | None = None) -> None:
        super().__init__()
        cfg = config or ODERNNConfig()
        self.config = cfg
        self.input_size, self.output_size, self.state_size = input_size, output_size, cfg.units
        self.f = nn.Sequential(nn.Linear(cfg.units, cfg.ode_hidden), nn.Tanh(),
                               nn.Linear(cfg.ode_hidden, cfg.units))
        self.cell = nn.GRUCell(input_size, cfg.units)
        self.readout = nn.Linear(cfg.units, output_size)

    def evolve(self, h: Tensor, dt: float | Tensor) -> Tensor:
        """Integrate ``dh/dt = f(h)`` over ``dt`` seconds (float or [B, 1])."""
        step = dt / self.config.unfolds
        for _ in range(self.config.unfolds):
            if self.config.solver == "euler":
                h = h + step * self.f(h)
            else:
                k1 = self.f(h)
                k2 = self.f(h + 0.5 * step * k1)
                k3 = self.f(h + 0.5 * step * k2)
                k4 = self.f(h + step * k3)
                h = h + step / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        return h

    def _forward_seq(self, x: Tensor, h: Tensor, dt: float | Tensor | None,
                     episode_start: Tensor | None) -> tuple[Tensor, Tensor]:
        assert dt is not None
        keep = None if episode_start is None else (~episode_start).to(h.dtype).unsqueeze(-1)
        states = []
        for t in range(x.shape[1]):
            if keep is not None:
                h = h * keep[:, t]
            h = self.evolve(h, dt_column(dt[:, t], h) if isinstance(dt, Tensor) else dt)
            h = self.cell(x[:, t], h)
            states.append(h)
        return self.readout(torch.stack(states, 1)), h

    def _step(self, x: Tensor, h: Tensor, dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
        return step_via_sequence(self, x, h, dt)
