"""Perception heads: a small conv net for onboard RGB images and an MLP for state vectors.

Images arrive as ``uint8`` ``[N, H, W, 3]`` (H x W from 48 x 64 up to 96 x 128) and are scaled to
[0, 1] inside the head, so callers never normalise.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

PIXEL_MAX = 255.0
POOLED_HW = (3, 4)  # conv features are pooled to this grid, whatever the input resolution


class ConvEncoder(nn.Module):
    """``uint8 [N, H, W, 3] -> [N, feature_dim]``: strided conv stack, adaptive pooling, linear.

    ``pool="max"`` keeps the response of a small object (a target a few pixels wide) that an
    average over a pooling cell would dilute.
    """

    def __init__(self, channels: tuple[int, ...], feature_dim: int, pool: str = "avg") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i, c in enumerate(channels):
            k = 5 if i == 0 else 3
            layers += [nn.Conv2d(c_in, c, kernel_size=k, stride=2, padding=k // 2), nn.ReLU()]
            c_in = c
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        layers.append(nn.AdaptiveAvgPool2d(POOLED_HW) if pool == "avg" else nn.AdaptiveMaxPool2d(POOLED_HW))
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * POOLED_HW[0] * POOLED_HW[1], feature_dim)

    def forward(self, img: Tensor) -> Tensor:
        x = img.permute(0, 3, 1, 2).to(self.fc.weight.dtype) / PIXEL_MAX
        return torch.relu(self.fc(self.conv(x).flatten(1)))


class KinEncoder(nn.Module):
    """``[N, obs_dim] -> [N, feature_dim]`` tanh MLP."""

    def __init__(self, obs_dim: int, hidden: tuple[int, ...], feature_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_dim
        for h in (*hidden, feature_dim):
            layers += [nn.Linear(width, h), nn.Tanh()]
            width = h
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.to(self.net[0].weight.dtype))
