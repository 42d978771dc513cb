"""Image augmentation for behaviour cloning: brightness, contrast, pixel noise, small shifts.

Each window gets one draw (the same for all its frames), as a change of camera or lighting would.
"""

from __future__ import annotations

import numpy as np
import torch


def augment_images(rgb: np.ndarray, rng: np.random.Generator, brightness: float, contrast: float,
                   noise_std: float, shift_px: int) -> torch.Tensor:
    """``uint8 [B, T, H, W, 3]`` -> float tensor in [0, 255] of the same shape."""
    b = rgb.shape[0]
    x = torch.as_tensor(rgb).float()
    if shift_px:
        for i, (dy, dx) in enumerate(rng.integers(-shift_px, shift_px + 1, size=(b, 2))):
            x[i] = torch.roll(x[i], shifts=(int(dy), int(dx)), dims=(1, 2))
    if contrast:
        c = torch.as_tensor(rng.uniform(1 - contrast, 1 + contrast, size=(b, 1, 1, 1, 1)), dtype=x.dtype)
        x = (x - 128.0) * c + 128.0
    if brightness:
        x = x + torch.as_tensor(rng.uniform(-brightness, brightness, size=(b, 1, 1, 1, 1)), dtype=x.dtype)
    if noise_std:
        x = x + noise_std * torch.as_tensor(rng.standard_normal(x.shape), dtype=x.dtype)
    return x.clamp_(0.0, 255.0)
