"""The atmosphere of rendered images: a sky painted behind the bodies, and fog.

Sky: TinyRenderer has no sky box, and a sky dome of triangles would cost as much to draw as the
ground (every covered pixel runs its shader; measured: +0.25 ms per 64×48 image, the painted sky
+0.1 ms).

Pixels that hit no body (segmentation -1) take their colour from a panorama indexed by the
direction of their viewing ray: rows by sin(elevation) from +1 (zenith, row 0) down to
``SIN_BOTTOM`` (below the horizon, where only the distant skyline's base shows), columns by azimuth
(one turn). The panorama is dimmed like an upward-facing surface under the same lighting. Their
segmentation stays -1 (sky) and their depth stays the far plane.

Fog (Koschmieder's law): a pixel at distance d from the eye is blended towards the fog colour by
``1 − exp(−density · d)``, with d from the depth buffer (the sky counts as at the far plane).
"""

from __future__ import annotations

import math

import numpy as np

SIN_BOTTOM = -0.25
"""sin of the lowest elevation the panorama covers (about -14.5°)."""


def pixel_rays_camera(width: int, height: int, projection_matrix) -> np.ndarray:
    """Unit viewing rays (H·W, 3) of an OpenGL projection, in camera coordinates (x right, y up, -z ahead)."""
    p = np.asarray(projection_matrix, dtype=float).reshape(4, 4).T  # PyBullet matrices are column-major
    jj, ii = np.meshgrid(np.arange(width), np.arange(height))
    x = (2.0 * (jj + 0.5) / width - 1.0) / p[0, 0]
    y = (1.0 - 2.0 * (ii + 0.5) / height) / p[1, 1]
    rays = np.stack([x, y, -np.ones_like(x)], axis=-1).reshape(-1, 3)
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def _rays_for(cache: dict, width: int, height: int, projection_matrix) -> np.ndarray:
    key = (width, height, tuple(projection_matrix))
    if key not in cache:
        cache[key] = pixel_rays_camera(width, height, projection_matrix)
    return cache[key]


def near_far_m(projection_matrix) -> tuple[float, float]:
    """The near and far planes (m) of an OpenGL perspective projection matrix (column-major, 16 values)."""
    p = np.asarray(projection_matrix, dtype=float).reshape(4, 4).T
    return float(p[2, 3] / (p[2, 2] - 1.0)), float(p[2, 3] / (p[2, 2] + 1.0))


def depth_m(buffer: np.ndarray, near_m: float, far_m: float) -> np.ndarray:
    """Depth along the optical axis (m) of a depth buffer in [0, 1] (OpenGL's non-linear mapping)."""
    return far_m * near_m / (far_m - (far_m - near_m) * buffer)


class Fog:
    """Blend each pixel towards ``color_rgb`` (0-1) by 1 − exp(−``density_per_m`` · distance)."""

    def __init__(self, density_per_m: float, color_rgb) -> None:
        if density_per_m < 0:
            raise ValueError(f"fog density must be >= 0 per metre, got {density_per_m}")
        self.density_per_m = density_per_m
        self.color = np.asarray(color_rgb, dtype=np.float32)[:3] * 255.0
        self._rays: dict[tuple, np.ndarray] = {}

    def apply(self, rgb: np.ndarray, depth_buffer: np.ndarray, projection_matrix) -> None:
        """Fog ``rgb`` (H, W, 3 uint8) in place, given the renderer's depth buffer (H, W) in [0, 1]."""
        height, width = depth_buffer.shape
        near, far = near_far_m(projection_matrix)
        # Distance along each pixel's ray = depth along the axis / cos(angle off the axis).
        cos_off_axis = -_rays_for(self._rays, width, height, projection_matrix)[:, 2].reshape(height, width)
        distance = depth_m(depth_buffer, near, far) / cos_off_axis
        keep = np.exp(-self.density_per_m * distance).astype(np.float32)[..., None]
        rgb[...] = np.clip(rgb * keep + self.color * (1.0 - keep) + 0.5, 0, 255).astype(np.uint8)


class SkyBackdrop:
    """The sky panorama (rows, cols, 3) uint8, turned by ``yaw_rad`` about the vertical."""

    def __init__(self, panorama: np.ndarray) -> None:
        if panorama.ndim != 3 or panorama.shape[2] != 3 or panorama.dtype != np.uint8:
            raise ValueError(f"the sky panorama must be a uint8 (rows, cols, 3) image, got {panorama.dtype} "
                             f"{panorama.shape}")
        self.panorama = panorama.astype(np.float32)
        self.yaw_rad = 0.0
        self._rays: dict[tuple, np.ndarray] = {}

    def paint(self, rgb: np.ndarray, seg: np.ndarray, view_matrix, projection_matrix, brightness: float) -> None:
        """Fill the pixels of ``rgb`` (H, W, 3, in place) whose ``seg`` is -1 with the sky."""
        mask = seg.reshape(-1) == -1
        if not mask.any():
            return
        height, width = seg.shape
        world_to_cam = np.asarray(view_matrix, dtype=float).reshape(4, 4).T[:3, :3]
        # Camera -> world is the transpose of world -> camera, here applied to row vectors.
        d = _rays_for(self._rays, width, height, projection_matrix)[mask] @ world_to_cam
        rows, cols = self.panorama.shape[:2]
        r = ((1.0 - d[:, 2]) * ((rows - 1) / (1.0 - SIN_BOTTOM))).astype(np.intp)
        az = np.arctan2(d[:, 1], d[:, 0]) - self.yaw_rad
        c = (az * (cols / (2 * math.pi))).astype(np.intp) % cols
        color = self.panorama[np.clip(r, 0, rows - 1), c] * brightness
        rgb.reshape(-1, 3)[mask] = np.clip(color, 0, 255).astype(np.uint8)
