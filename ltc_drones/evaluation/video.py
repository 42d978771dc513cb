"""Evaluation videos: the third-person chase view beside the onboard view, as mp4 or gif."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import write_atomic


def upscale_nearest(img: np.ndarray, height: int) -> np.ndarray:
    """Enlarge an image by an integer factor so that it is at most ``height`` pixels tall."""
    k = max(1, height // img.shape[0])
    return np.repeat(np.repeat(img, k, axis=0), k, axis=1)


def side_by_side(chase: np.ndarray, onboard: np.ndarray, gap_px: int = 4) -> np.ndarray:
    """One frame: ``chase`` (H, W, 3) on the left, ``onboard`` enlarged to H on the right (padded)."""
    h = chase.shape[0]
    big = upscale_nearest(onboard, h)
    pad = np.zeros((h, big.shape[1], 3), np.uint8)
    pad[: big.shape[0]] = big[:h]
    gap = np.full((h, gap_px, 3), 255, np.uint8)
    frame = np.concatenate([chase, gap, pad], axis=1)
    # Codecs want even sizes.
    return frame[: h - h % 2, : frame.shape[1] - frame.shape[1] % 2]


def write_video(path: str | os.PathLike, frames: list[np.ndarray], fps: int = 30) -> Path:
    """Write ``frames`` to ``path`` (``.mp4`` or ``.gif``) atomically; returns the path."""
    import imageio.v2 as imageio

    path = Path(path)
    if path.suffix not in (".mp4", ".gif"):
        raise ValueError(f"video path must end in .mp4 or .gif, got {path.name!r}")
    if not frames:
        raise ValueError("no frames to write")

    def _w(tmp: str) -> None:
        if path.suffix == ".mp4":
            with imageio.get_writer(tmp, fps=fps, codec="libx264", quality=6, macro_block_size=2,
                                    ffmpeg_log_level="error") as writer:
                for frame in frames:
                    writer.append_data(frame)
        else:
            imageio.mimsave(tmp, frames[::2], duration=2000 / fps, loop=0)

    return write_atomic(path, _w, suffix=path.suffix)
