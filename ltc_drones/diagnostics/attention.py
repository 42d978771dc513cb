"""Attention on the target (and on distractors and scenery) and attention stability, per closed-loop step.

Attention ratio of a region (a segmentation class of the onboard view, :data:`REGIONS`): the share of the
saliency mass that falls inside the region's pixels divided by the region's share of the image area. 1 means
no preference, > 1 the policy looks at the region more than its size alone explains, < 1 less; None when the
region is not in view (or the map is all zero).

Stability (the NCP paper's test, Lechner et al., Nature MI 2020, Fig. 5): structural similarity (SSIM, Wang et
al., IEEE TIP 2004) between the saliency map of an image and the map of the same image with Gaussian pixel
noise added, against the noise's standard deviation.

:func:`step_attention` is what a per-step loop calls (``ltc-drones diagnose``; later ``evaluate``): given the
policy, its recurrent state before the step, the observation and the segmentation mask, it returns the maps
and the ratios.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from ..envs.camera import SEG_DISTRACTOR, SEG_DRONE, SEG_GROUND, SEG_SKY, SEG_TARGET
from ..envs.scenery import SEG_SCENERY
from ..models import Policy
from .saliency import Target, attribute

REGIONS: dict[str, int] = {"target": SEG_TARGET, "distractor": SEG_DISTRACTOR, "scenery": SEG_SCENERY,
                           "ground": SEG_GROUND, "sky": SEG_SKY, "drone": SEG_DRONE}
"""Regions whose attention ratio is measured: name -> segmentation class (``envs.camera``, ``envs.scenery``).
``drone`` (the other drones) exists in multi-agent views only (single-agent reports: None, not in view); in
MultiFollow ``target`` is the leader."""

NOISE_STD = (0.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""Default pixel-noise standard deviations of the stability test (uint8 grey levels, 0..255)."""

# SSIM constants of Wang et al. (2004): Gaussian window sigma 1.5 px, K1 = 0.01, K2 = 0.03, for a data range of 1.
SSIM_SIGMA_PX, SSIM_K1, SSIM_K2 = 1.5, 0.01, 0.03


def attention_ratio(saliency: np.ndarray, mask: np.ndarray) -> float | None:
    """Share of ``saliency``'s mass inside ``mask`` divided by the mask's share of the image area.

    Args:
        saliency: ``[H, W]`` non-negative map.
        mask: ``[H, W]`` bool.

    Returns:
        The ratio (1 = no preference), or None when the mask is empty or the map has no mass.
    """
    sal = np.asarray(saliency, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if sal.shape != mask.shape:
        raise ValueError(f"saliency {sal.shape} and mask {mask.shape} must have the same shape")
    if np.any(sal < 0):
        raise ValueError("saliency must be non-negative (take absolute values of signed attributions)")
    peak = sal.max(initial=0.0)
    inside = int(mask.sum())
    if inside == 0 or peak <= 0.0:
        return None
    sal = sal / peak  # a uniform map becomes all ones, so its ratio is exactly 1 (integer sums)
    return float(sal[mask].sum() * mask.size / (sal.sum() * inside))


def region_ratios(saliency: np.ndarray, seg: np.ndarray) -> dict[str, float | None]:
    """:func:`attention_ratio` of every region of :data:`REGIONS` in the segmentation ``seg [H, W]``."""
    return {name: attention_ratio(saliency, seg == cls) for name, cls in REGIONS.items()}


@dataclass(frozen=True)
class StepAttention:
    """Saliency of one step.

    Attributes:
        maps: method -> ``[H, W]`` image map (image policies).
        ratios: method -> region -> attention ratio (None: region not in view).
        features: method -> ``[F]`` signed attribution of the state vector (``kin`` and ``rgb_kin`` policies).
    """

    maps: dict[str, np.ndarray]
    ratios: dict[str, dict[str, float | None]]
    features: dict[str, np.ndarray]


def step_attention(policy: Policy, state: torch.Tensor | None, obs, seg: np.ndarray | None, *, dt: float,
                   methods: Sequence[str] = ("visual_backprop",), target: Target = "norm") -> StepAttention:
    """Saliency maps and attention ratios of one closed-loop step.

    Args:
        policy: the acting policy.
        state: its recurrent state before this step ``[1, state_size]`` (after any episode-start reset;
            None: zeros).
        obs: the observation of this step, without a batch dim (as the env returns it).
        seg: ``[H, W]`` segmentation classes of the same view (``env.unwrapped.onboard_camera()[1]``);
            None: no ratios.
        dt: seconds per control step.
        methods: saliency methods (see :data:`~ltc_drones.diagnostics.saliency.METHODS`).
        target: ``"norm"`` or an action index.
    """
    maps, ratios, features = {}, {}, {}
    for method in methods:
        a = attribute(policy, obs, state, dt=dt, method=method, target=target, single=True)
        if a.image is not None:
            maps[method] = a.image[0]
            if seg is not None:
                ratios[method] = region_ratios(a.image[0], seg)
        if a.features is not None:
            features[method] = a.features[0]
    return StepAttention(maps, ratios, features)


# ---- stability --------------------------------------------------------------------------------------------
def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two maps, each first scaled to [0, 1] by its maximum (data range 1).

    Gaussian-weighted local statistics (sigma 1.5 px), constants of Wang et al. (2004). 1 for identical maps.
    """
    x, y = (np.asarray(m, dtype=np.float64) for m in (a, b))
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"ssim needs two 2-D maps of one shape, got {x.shape} and {y.shape}")
    x, y = (m / m.max() if m.max() > 0 else m for m in (x, y))
    c1, c2 = SSIM_K1**2, SSIM_K2**2

    def blur(m: np.ndarray) -> np.ndarray:
        return gaussian_filter(m, SSIM_SIGMA_PX, mode="reflect", truncate=3.5)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def add_pixel_noise(image: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """``image`` (uint8) plus Gaussian noise of ``std`` grey levels, rounded and clipped as the camera does."""
    if std == 0.0:
        return image
    noisy = image.astype(np.float32) + rng.normal(0.0, std, size=image.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def stability(policy: Policy, state: torch.Tensor | None, obs, *, dt: float, method: str,
              rng: np.random.Generator, noise_std: Sequence[float] = NOISE_STD, target: Target = "norm") -> list[float]:
    """SSIM between the map of ``obs`` and the map of ``obs`` with pixel noise, one value per noise level.

    Args:
        policy, state, obs, dt, target: as :func:`step_attention` (image policies; ``rgb_kin``: the image is noised).
        method: a saliency method.
        rng: draws the noise (in ``diagnose``: the episode's ``env.unwrapped.rngs.diagnostics``).
        noise_std: standard deviations in grey levels; level 0 gives exactly 1.
    """
    image = obs["rgb"] if isinstance(obs, dict) else obs
    clean = attribute(policy, obs, state, dt=dt, method=method, target=target, single=True).image
    if clean is None:
        raise ValueError("stability needs an image policy")
    out = []
    for std in noise_std:
        noisy_img = add_pixel_noise(np.asarray(image), float(std), rng)
        noisy_obs = {**obs, "rgb": noisy_img} if isinstance(obs, dict) else noisy_img
        noisy = attribute(policy, noisy_obs, state, dt=dt, method=method, target=target, single=True).image
        out.append(ssim(clean[0], noisy[0]))
    return out
