"""Perception heads: a small conv net for onboard RGB images and an MLP for state vectors.

Images arrive as ``uint8`` ``[N, H, W, 3]`` (H x W from 48 x 64 up to 96 x 128) and are scaled to
[0, 1] inside the head, so callers never normalise.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

PIXEL_MAX = 255.0
POOLED_HW = (3, 4)  # conv features are pooled to this grid, whatever the input resolution


class SpatialSoftmax(nn.Module):
    """``[N, C, H, W] -> [N, 3C]``: per channel the expected image position (x, y in [-1, 1]) of its
    activation under a softmax over pixels, and its peak value (is the feature present at all).

    Keypoint pooling after Levine, Finn, Darrell & Abbeel, "End-to-end training of deep visuomotor
    policies", JMLR 2016: it keeps *where* a small object is, which averaging discards.
    """

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        flat = x.flatten(2)
        p = torch.softmax(flat, dim=-1).view(n, c, h, w)
        xs = torch.linspace(-1.0, 1.0, w, dtype=x.dtype, device=x.device)
        ys = torch.linspace(-1.0, 1.0, h, dtype=x.dtype, device=x.device)
        ex = (p.sum(2) * xs).sum(-1)
        ey = (p.sum(3) * ys).sum(-1)
        return torch.cat([ex, ey, flat.amax(-1)], dim=1)


POOLS = ("avg", "max", "spatial")


class ConvEncoder(nn.Module):
    """``uint8 [N, H, W, 3] -> [N, feature_dim]``: strided conv stack, pooling, linear, LayerNorm.

    The features leave layer-normalised (signed, unit scale) rather than through a ReLU: the LTC's
    sigmoid synapses need inputs spread around their thresholds, and with mostly-zero ReLU features an
    LTC core did not learn from images at all in behaviour cloning (validation loss flat at the
    label variance) while a GRU did; with LayerNorm both learn at the same pace. All cores share it.

    ``pool``: ``avg`` or ``max`` adaptive pooling to a 3×4 grid, or ``spatial`` (:class:`SpatialSoftmax`
    keypoints). ``max`` keeps the response of a target a few pixels wide that an average dilutes;
    ``spatial`` also keeps its position at sub-cell precision.
    """

    def __init__(self, channels: tuple[int, ...], feature_dim: int, pool: str = "avg") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i, c in enumerate(channels):
            k = 5 if i == 0 else 3
            layers += [nn.Conv2d(c_in, c, kernel_size=k, stride=2, padding=k // 2), nn.ReLU()]
            c_in = c
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if pool == "spatial":
            # The keypoints come from the last conv layer before its ReLU (a softmax needs signed logits).
            layers[-1] = SpatialSoftmax()
            pooled = 3 * c_in
        else:
            layers.append(nn.AdaptiveAvgPool2d(POOLED_HW) if pool == "avg" else nn.AdaptiveMaxPool2d(POOLED_HW))
            pooled = c_in * POOLED_HW[0] * POOLED_HW[1]
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(pooled, feature_dim)
        self.norm = nn.LayerNorm(feature_dim)

    def forward(self, img: Tensor) -> Tensor:
        x = img.permute(0, 3, 1, 2).to(self.fc.weight.dtype) / PIXEL_MAX
        return self.norm(self.fc(self.conv(x).flatten(1)))


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
