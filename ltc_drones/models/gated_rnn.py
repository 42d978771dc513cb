"""Discrete-time baselines: LSTM and GRU (torch's fused implementations) and a memory-less MLP.

They ignore ``dt`` (validated when given). State packing: LSTM ``[h, c]`` concatenated ``[B, 2H]``;
GRU ``h`` ``[B, H]``; MLP ``[B, 0]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from ltc_drones.models.base import CoreConfigError, RecurrentCore


@dataclass(frozen=True)
class GatedRNNConfig:
    """Attributes: units (hidden size H)."""

    units: int = 32

    def __post_init__(self) -> None:
        if self.units < 1:
            raise CoreConfigError(f"units must be >= 1, got {self.units}")


class _TorchRNN(RecurrentCore):
    """Shared wrapper of ``nn.LSTM`` / ``nn.GRU`` (batch first, one layer) with a linear readout."""

    needs_dt = False
    _packs = 1

    def __init__(self, input_size: int, output_size: int, rnn: nn.Module, config: GatedRNNConfig) -> None:
        super().__init__()
        self.config = config
        self.input_size, self.output_size = input_size, output_size
        self.state_size = self._packs * config.units
        self.rnn = rnn
        self.readout = nn.Linear(config.units, output_size)

    def _unpack(self, h: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _pack(self, hx: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        raise NotImplementedError

    def _run(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        out, hx = self.rnn(x, self._unpack(h))
        return out, self._pack(hx)

    def _forward_seq(self, x: Tensor, h: Tensor, dt: float | Tensor | None,
                     episode_start: Tensor | None) -> tuple[Tensor, Tensor]:
        if episode_start is None:
            out, h = self._run(x, h)
            return self.readout(out), h
        keep = (~episode_start).to(h.dtype).unsqueeze(-1)
        outs = []
        for t in range(x.shape[1]):
            out, h = self._run(x[:, t : t + 1], h * keep[:, t])
            outs.append(out)
        return self.readout(torch.cat(outs, 1)), h

    def _step(self, x: Tensor, h: Tensor, dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
        out, h = self._run(x.unsqueeze(1), h)
        return self.readout(out[:, 0]), h


class LSTMCore(_TorchRNN):
    """LSTM core; the state packs ``[h, c]``."""

    core_name = "lstm"
    _packs = 2

    def __init__(self, input_size: int, output_size: int, config: GatedRNNConfig | None = None) -> None:
        cfg = config or GatedRNNConfig()
        super().__init__(input_size, output_size, nn.LSTM(input_size, cfg.units, batch_first=True), cfg)

    def _unpack(self, h: Tensor) -> tuple[Tensor, Tensor]:
        hh, cc = h.chunk(2, dim=-1)
        return hh.unsqueeze(0).contiguous(), cc.unsqueeze(0).contiguous()

    def _pack(self, hx: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        assert isinstance(hx, tuple)
        return torch.cat([hx[0][0], hx[1][0]], -1)


class GRUCore(_TorchRNN):
    """GRU core."""

    core_name = "gru"

    def __init__(self, input_size: int, output_size: int, config: GatedRNNConfig | None = None) -> None:
        cfg = config or GatedRNNConfig()
        super().__init__(input_size, output_size, nn.GRU(input_size, cfg.units, batch_first=True), cfg)

    def _unpack(self, h: Tensor) -> Tensor:
        return h.unsqueeze(0).contiguous()

    def _pack(self, hx: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        assert isinstance(hx, Tensor)
        return hx[0]


@dataclass(frozen=True)
class MLPConfig:
    """Attributes: hidden (layer widths), activation."""

    hidden: tuple[int, ...] = (64, 64)
    activation: Literal["tanh", "relu", "silu"] = "tanh"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if any(h < 1 for h in self.hidden):
            raise CoreConfigError(f"hidden widths must be >= 1, got {self.hidden}")
        if self.activation not in ("tanh", "relu", "silu"):
            raise CoreConfigError(f"activation={self.activation!r} is invalid; use tanh, relu or silu")


class MLPCore(RecurrentCore):
    """Feed-forward baseline without memory (``state_size == 0``)."""

    core_name = "mlp"
    needs_dt = False

    def __init__(self, input_size: int, output_size: int, config: MLPConfig | None = None) -> None:
        super().__init__()
        cfg = config or MLPConfig()
        self.config = cfg
        self.input_size, self.output_size, self.state_size = input_size, output_size, 0
        act = {"tanh": nn.Tanh, "relu": nn.ReLU, "silu": nn.SiLU}[cfg.activation]
        layers: list[nn.Module] = []
        width = input_size
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), act()]
            width = h
        layers.append(nn.Linear(width, output_size))
        self.net = nn.Sequential(*layers)

    def _forward_seq(self, x: Tensor, h: Tensor, dt: float | Tensor | None,
                     episode_start: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.net(x), h

    def _step(self, x: Tensor, h: Tensor, dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
        return self.net(x), h
