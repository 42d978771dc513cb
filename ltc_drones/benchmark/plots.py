"""Benchmark plots: success against severity per shift, nominal success, a heat map at the top level.

matplotlib is an optional dependency (extras ``plots`` and ``dev``); it is imported here only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..plotting import pyplot, save_figure
from .grid import Grid

TITLE_CHARS_PER_INCH, TITLE_LINE_IN = 14, 0.2
"""Characters of a 10 pt title per inch of figure width, and the height of one more line of it (in)."""


def _per_shift(grid: Grid, by: dict[tuple[str, str], dict[str, Any]], key: str, ylabel: str, title: str, path: Path,
               ylim: tuple[float, float] | None = None, reference: float | None = None, wrap: bool = False) -> None:
    """One subplot per shift: ``key`` of ``by[(arch, scenario)]`` (with ``ci95_low``/``ci95_high``) against the
    severity level (0: nominal), one line per architecture; ``reference``: a dashed horizontal line; ``wrap``:
    break the title into lines that fit the figure's width."""
    plt = pyplot()
    shifts = list(grid.shifts)
    ncol = min(4, len(shifts))
    nrow = math.ceil(len(shifts) / ncol)
    height = 2.6 * nrow
    if wrap:
        import textwrap

        title = textwrap.fill(title, width=int(TITLE_CHARS_PER_INCH * 3.2 * ncol))
        height += TITLE_LINE_IN * title.count("\n")  # tight_layout keeps the suptitle clear of the axes
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, height), squeeze=False, sharey=True)
    levels = [0, *grid.levels]
    for ax, shift in zip(axes.flat, shifts, strict=False):
        for k, arch in enumerate(grid.archs):
            pts = [by.get((arch, "nominal" if lv == 0 else f"{shift}@{lv}")) for lv in levels]
            pts = [p if p is not None and p[key] is not None else None for p in pts]
            xs = [lv + 0.06 * (k - len(grid.archs) / 2) for lv, p in zip(levels, pts, strict=True) if p]
            ys = np.array([p[key] for p in pts if p])
            lo = ys - np.array([p["ci95_low"] for p in pts if p])
            hi = np.array([p["ci95_high"] for p in pts if p]) - ys
            if len(xs):
                ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", ms=3, lw=1.2, capsize=2, label=arch)
        if reference is not None:
            ax.axhline(reference, color="0.4", lw=0.8, ls="--")
        ax.set_title(shift, fontsize=9)
        ax.set_xticks(levels)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(shifts):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    for ax in axes[-1, :]:
        ax.set_xlabel("severity level")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(8, max(1, len(labels))), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    save_figure(fig, path)
    plt.close(fig)


def plot_attention(grid: Grid, rows: list[dict[str, Any]], path: Path, method: str, note: str = "") -> Path | None:
    """Attention on the target against shift severity, one subplot per shift, one line per architecture, with
    95 % bootstrap intervals; a dashed line at 1 (no preference). ``rows``: attention rows of one ``method``
    (see :mod:`.diagnostics_analysis`). Returns ``path``, or None for a grid without shifts."""
    if not grid.shifts:
        return None
    by = {(r["arch"], r["scenario"]): r for r in rows}
    _per_shift(grid, by, "target", "attention on target",
               f"{grid.name}: attention on the target ({method}{note}) against shift severity "
               "(1 = no preference; 95 % bootstrap intervals)", path, reference=1.0, wrap=True)
    return path


def plot_benchmark(grid: Grid, rows: list[dict[str, Any]], results: Path) -> list[Path]:
    """Write ``severity.png``, ``nominal.png`` and ``heatmap.png`` into ``results``; returns their paths."""
    plt = pyplot()
    by = {(r["arch"], r["scenario"]): r for r in rows}
    paths = []
    shifts = list(grid.shifts)
    if shifts:
        paths.append(results / "severity.png")
        _per_shift(grid, by, "success_rate", "success rate",
                   f"{grid.name}: success against shift severity (95 % Wilson intervals)", paths[-1],
                   ylim=(-0.05, 1.05))

    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(grid.archs), 3.0))
    nominal = [by.get((a, "nominal")) for a in grid.archs]
    ys = np.array([p["success_rate"] if p else np.nan for p in nominal])
    err = np.array([[p["success_rate"] - p["ci95_low"], p["ci95_high"] - p["success_rate"]] if p else [0, 0]
                    for p in nominal]).T
    ax.bar(range(len(grid.archs)), ys, yerr=err, capsize=3, color="tab:blue")
    ax.set_xticks(range(len(grid.archs)), grid.archs, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("nominal success")
    ax.set_title(f"{grid.name}: nominal", fontsize=10)
    fig.tight_layout()
    paths.append(results / "nominal.png")
    save_figure(fig, paths[-1])
    plt.close(fig)

    if shifts and grid.levels:
        top = max(grid.levels)
        mat = np.array([[by[(a, f"{s}@{top}")]["success_rate"] if (a, f"{s}@{top}") in by else np.nan
                         for s in shifts] for a in grid.archs])
        fig, ax = plt.subplots(figsize=(1.5 + 0.7 * len(shifts), 1.0 + 0.4 * len(grid.archs)))
        im = ax.imshow(mat, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(shifts)), shifts, rotation=40, ha="right", fontsize=8)
        ax.set_yticks(range(len(grid.archs)), grid.archs, fontsize=8)
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                if np.isfinite(mat[i, j]):
                    ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if mat[i, j] < 0.6 else "black")
        fig.colorbar(im, ax=ax, label="success")
        ax.set_title(f"{grid.name}: success at level {top}", fontsize=10)
        fig.tight_layout()
        paths.append(results / "heatmap.png")
        save_figure(fig, paths[-1])
        plt.close(fig)
    return paths
