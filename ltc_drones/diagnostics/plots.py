"""Pictures of a diagnosis: saliency overlays, the frame gallery, attention ratios, stability, feature shares.

matplotlib is optional (extras ``diagnostics``, ``plots``, ``dev``) and imported only by the plotting functions;
:func:`overlay` is numpy only (the video uses it at every step). Methods flagged by the sanity check are
labelled "failed sanity check" wherever they appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..envs.camera import SEG_DRONE, SEG_TARGET
from ..plotting import pyplot, save_figure

OVERLAY_ALPHA = 0.6


def heat(m: np.ndarray) -> np.ndarray:
    """``[H, W]`` map in [0, 1] -> uint8 ``[H, W, 3]`` black-red-yellow-white heat colours."""
    m = np.clip(np.asarray(m, dtype=np.float32), 0.0, 1.0)[..., None]
    rgb = np.clip(3.0 * m - np.array([0.0, 1.0, 2.0], np.float32), 0.0, 1.0)
    return (255.0 * rgb).astype(np.uint8)


def overlay(image: np.ndarray, saliency: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """``image`` (uint8 ``[H, W, 3]``) darkened and blended with the heat colours of ``saliency`` (scaled to max 1)."""
    peak = float(np.max(saliency))
    m = saliency / peak if peak > 0 else np.zeros_like(saliency)
    w = alpha * m[..., None]
    out = (1.0 - w) * 0.7 * image.astype(np.float32) + w * heat(m).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def _done(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def _grouped(summary: dict[str, dict[str, Any]]) -> tuple[list[str], list[str], float, list[float]]:
    """Grouped bars: methods (one bar per group each), group keys, bar width and each method's offset."""
    methods = list(summary)
    keys = list(next(iter(summary.values()))) if summary else []
    width = 0.8 / max(1, len(methods))
    return methods, keys, width, [(k - (len(methods) - 1) / 2) * width for k in range(len(methods))]


def label(method: str, flags: dict[str, bool]) -> str:
    """A method's name, with the sanity flag when it failed."""
    return f"{method} (failed sanity check)" if flags.get(method) else method


OUTLINES = ((SEG_TARGET, "cyan"), (SEG_DRONE, "lime"))
"""Classes outlined on onboard images: the target (the leader) in cyan, other drones in green."""


def _outlined(ax, rgb: np.ndarray, seg: np.ndarray) -> None:
    ax.imshow(rgb)
    for cls, colour in OUTLINES:
        if np.any(seg == cls):
            ax.contour(seg == cls, levels=[0.5], colors=colour, linewidths=0.8)


def _frame_grid(path: Path, columns: Sequence[dict[str, Any]], rows: Sequence[tuple[str, str, str | None]],
                title: str) -> Path:
    """A grid of onboard frames: one column per entry of ``columns`` (``{"title", <key>: frame}``), one row per
    ``(row label, frame key, method)``: method None shows the image with outlines, else that method's overlay.
    A frame is ``{"rgb", "seg", "maps": {method: map}}``; a missing frame leaves its cell empty."""
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(1.9 * len(columns), 1.6 * len(rows) + 0.4),
                             squeeze=False)
    for j, col in enumerate(columns):
        axes[0, j].set_title(col["title"], fontsize=8)
        for i, (_, key, method) in enumerate(rows):
            fr = col.get(key)
            if fr is None:  # that agent was done by then
                axes[i, j].set_axis_off()
                continue
            if method is None:
                _outlined(axes[i, j], fr["rgb"], fr["seg"])
            else:
                axes[i, j].imshow(overlay(fr["rgb"], fr["maps"][method]))
    for i, (name, _, _) in enumerate(rows):
        axes[i, 0].set_ylabel(name.replace(" (", "\n("), fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    return _done(plt, fig, path)


def gallery(path: Path, frames: Sequence[dict[str, Any]], methods: Sequence[str], flags: dict[str, bool]) -> Path:
    """One column per frame (``{"step", "rgb", "seg", "maps": {method: map}}``): the onboard image with the
    target's outline, then one row per method with its saliency overlaid."""
    columns = [{"title": f"step {fr['step']}", "frame": fr} for fr in frames]
    rows = [("onboard (target outlined)", "frame", None), *[(label(m, flags), "frame", m) for m in methods]]
    return _frame_grid(path, columns, rows, "Saliency over the first episode")


def team_gallery(path: Path, keys: Sequence[tuple[int, int]], frames: dict[str, dict[tuple[int, int], dict[str, Any]]],
                 method: str, flags: dict[str, bool]) -> Path:
    """Multi-agent: one column per ``(episode, step)`` key, two rows per agent (``frames[agent][key]``): its onboard
    image with the leader / targets (cyan) and the other drones (green) outlined, then ``method``'s saliency."""
    columns = [{"title": f"episode {e}, step {k}", **{a: f.get((e, k)) for a, f in frames.items()}} for e, k in keys]
    rows = [row for a in frames for row in ((f"{a} onboard", a, None), (f"{a} {label(method, flags)}", a, method))]
    title = "Each agent's onboard view (leader / targets outlined cyan, other drones green)"
    return _frame_grid(path, columns, rows, title)


def attention_bars(path: Path, summary: dict[str, dict[str, Any]], flags: dict[str, bool]) -> Path:
    """Mean attention ratio per region (groups) and method (bars) with 95 % intervals; 1 = no preference."""
    plt = pyplot()
    methods, regions, width, offsets = _grouped(summary)
    regions = [r for r in regions if any(summary[m][r]["mean"] is not None for m in methods)]  # never in view: out
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(regions), 3.2))
    for method, offset in zip(methods, offsets, strict=True):
        xs, ys, err = [], [], [[], []]
        for r, region in enumerate(regions):
            s = summary[method][region]
            if s["mean"] is None:
                continue
            lo, hi = s["ci95"] or (s["mean"], s["mean"])
            xs.append(r + offset)
            ys.append(s["mean"])
            err[0].append(s["mean"] - lo)
            err[1].append(hi - s["mean"])
        ax.bar(xs, ys, width, yerr=err, capsize=2, label=label(method, flags))
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_xticks(range(len(regions)), regions)
    ax.set_ylabel("saliency share / area share")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title("Attention ratio per region (mean over episodes, 95 % bootstrap)", fontsize=9)
    return _done(plt, fig, path)


def stability_curve(path: Path, noise_std: Sequence[float], curves: dict[str, dict[str, Any]],
                    flags: dict[str, bool]) -> Path:
    """Mean SSIM between clean and noisy maps against the noise's standard deviation, one line per method."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for method, c in curves.items():
        ax.plot(noise_std, c["ssim_mean"], marker="o", label=label(method, flags))
    ax.set_xlabel("pixel noise std (grey levels of 255)")
    ax.set_ylabel("SSIM(clean map, noisy map)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    ax.set_title("Attention stability", fontsize=9)
    return _done(plt, fig, path)


def feature_bars(path: Path, summary: dict[str, dict[str, Any]], flags: dict[str, bool]) -> Path:
    """State-vector policies: mean share of the absolute attribution per entry, one bar group per method."""
    plt = pyplot()
    methods, names, height, offsets = _grouped(summary)
    fig, ax = plt.subplots(figsize=(5.5, 0.3 * len(names) + 1.2))
    for method, offset in zip(methods, offsets, strict=True):
        ys = [j + offset for j in range(len(names))]
        ax.barh(ys, [summary[method][n]["mean"] for n in names], height, label=label(method, flags))
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("share of |attribution| (mean over episodes)")
    ax.legend(fontsize=7)
    return _done(plt, fig, path)
