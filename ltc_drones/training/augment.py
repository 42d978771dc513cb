"""Image augmentation for behaviour cloning: brightness, contrast, pixel noise, small shifts.

Each window gets one draw (the same for all its frames), as a change of camera or lighting would.
A shift moves the image and fills the uncovered border with copies of the edge pixels: nothing
leaves one side to come back at the other (as ``torch.roll`` would make a target do).
"""

from __future__ import annotations

import numpy as np
import torch


def augment_images(rgb: np.ndarray, rng: np.random.Generator, brightness: float, contrast: float,
                   noise_std: float, shift_px: int) -> torch.Tensor:
    """``uint8 [B, T, H, W, 3]`` -> float tensor in [0, 255] of the same shape."""
    b = rgb.shape[0]
    if shift_px:
        rgb = shift_images(rgb, rng.integers(-shift_px, shift_px + 1, size=(b, 2)))
    x = torch.as_tensor(rgb).float()
    if contrast:
        c = torch.as_tensor(rng.uniform(1 - contrast, 1 + contrast, size=(b, 1, 1, 1, 1)), dtype=x.dtype)
        x = (x - 128.0) * c + 128.0
    if brightness:
        x = x + torch.as_tensor(rng.uniform(-brightness, brightness, size=(b, 1, 1, 1, 1)), dtype=x.dtype)
    if noise_std:
        x = x + noise_std * torch.as_tensor(rng.standard_normal(x.shape), dtype=x.dtype)
    return x.clamp_(0.0, 255.0)


def shift_images(rgb: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each window's frames by ``shifts[i] = (dy, dx)`` pixels (down, right), edge pixels replicated.

    Args:
        rgb: ``[B, T, H, W, C]``.
        shifts: ``[B, 2]`` ints, each of magnitude below H and W.
    """
    _, _, h, w, _ = rgb.shape
    pad = int(np.abs(shifts).max(initial=0))
    if pad == 0:
        return rgb
    padded = np.pad(rgb, ((0, 0), (0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    out = np.empty_like(rgb)
    for i, (dy, dx) in enumerate(shifts):
        y0, x0 = pad - int(dy), pad - int(dx)
        out[i] = padded[i, :, y0:y0 + h, x0:x0 + w]
    return out
