"""Expressivity: the trajectory-length measure of the LTC paper for every core.

Raghu et al. ("On the expressive power of deep neural networks", ICML 2017) feed a circle through a
randomly initialised network and measure the length of its image: the longer (the more the circle
is stretched and folded), the more expressive the network. Hasani et al. ("Liquid time-constant
networks", AAAI 2021, section on expressivity) apply it to recurrent continuous-time networks: the
circle is fed as a time series, and the latent (output) trajectory's length, projected to 2-D by
PCA, grows with width and depth and is longer for LTCs than for CT-RNNs and neural ODEs.

Here (all arc lengths in the units of the core's outputs):

* input: ``circle_inputs`` - ``x_t = A (cos θ_t, sin θ_t)``, ``θ_t = 2π t / steps``, over
  ``warmup + 1`` revolutions of ``steps`` control steps of ``dt_s`` seconds each; only the last
  revolution is measured, so the length is that of the input's image rather than of the transient
  away from the zero initial state;
* network: ``make_core(name, 2, outputs, width...)`` with its own random initialisation, drawn under
  ``seed`` without touching torch's global random state; continuous-time cores step with ``dt_s``
  (LTCs with ``time_unit_s = dt_s``, as trained policies are); ``scale_weights`` multiplies every weight
  matrix (every parameter with two or more dimensions) by a factor;
* measure: ``full`` - the arc length ``Σ_t |y_t − y_{t−1}|`` of the outputs ``y_t`` (``outputs``
  dimensions); ``pca2`` - the same after projecting the measured outputs onto their first two
  principal components (numpy SVD), as the LTC paper plots them; ``inf`` when the outputs blow up
  (:data:`DIVERGED_ABS`), as explicit LTC solvers do with few unfolds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import torch

from ..models import RecurrentCore, make_core

Projection = Literal["full", "pca2"]
DEFAULT_DT_S = 1.0 / 30.0
"""The control period the policies run at (s)."""
DIVERGED_ABS = 1e6
"""Outputs beyond this magnitude (or not finite) mean the solver diverged: the length is reported as ``inf``."""


def circle_inputs(steps: int, amplitude: float = 1.0, revolutions: int = 1) -> np.ndarray:
    """``[revolutions · steps, 2]`` points of a circle of radius ``amplitude``, ``steps`` per revolution."""
    if steps < 3 or revolutions < 1:
        raise ValueError(f"need steps >= 3 and revolutions >= 1, got {steps}, {revolutions}")
    theta = 2 * np.pi * np.arange(revolutions * steps) / steps
    return amplitude * np.stack([np.cos(theta), np.sin(theta)], axis=1)


def arc_length(points: np.ndarray) -> float:
    """Length of the polyline through ``points [T, D]`` (0 for fewer than two points)."""
    p = np.asarray(points, dtype=np.float64)
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) if len(p) > 1 else 0.0


def pca_project(points: np.ndarray, k: int = 2) -> np.ndarray:
    """``points [T, D]`` centred and projected onto their first ``k`` principal components ``[T, min(k, D)]``."""
    x = np.asarray(points, dtype=np.float64)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:k].T


def scale_weights(core: RecurrentCore, scale: float) -> RecurrentCore:
    """Multiply every weight matrix of ``core`` (parameters with >= 2 dimensions) by ``scale``, in place."""
    with torch.no_grad():
        for p in core.parameters():
            if p.dim() >= 2:
                p.mul_(scale)
    if hasattr(core, "clear_inference_cache"):
        core.clear_inference_cache()
    return core


def trajectory_length(core: RecurrentCore, amplitude: float = 1.0, steps: int = 100, warmup: int = 1,
                      dt_s: float = DEFAULT_DT_S, projection: Projection = "full") -> float:
    """Arc length of ``core``'s output over the last of ``warmup + 1`` revolutions of the input circle.

    Returns ``inf`` when an output is not finite or exceeds :data:`DIVERGED_ABS` (an explicit solver that
    diverged).
    """
    if core.input_size != 2:
        raise ValueError(f"the input circle is 2-D: build the core with input_size=2, got {core.input_size}")
    if projection not in ("full", "pca2"):
        raise ValueError(f"projection must be 'full' or 'pca2', got {projection!r}")
    x = torch.as_tensor(circle_inputs(steps, amplitude, warmup + 1), dtype=torch.float32)[None]
    with torch.no_grad():
        y, _ = core(x, dt=dt_s)
    out = y[0, warmup * steps - 1:].double().numpy()  # the last revolution, from the step before it
    if not np.all(np.isfinite(out)) or np.abs(out).max() > DIVERGED_ABS:
        return math.inf
    return arc_length(pca_project(out, 2) if projection == "pca2" else out)


def core_kwargs(name: str, width: int, seed: int, dt_s: float = DEFAULT_DT_S, unfolds: int | None = None,
                solver: str | None = None) -> dict[str, Any]:
    """``make_core`` keywords giving ``name`` a width of ``width`` neurons (MLP: two hidden layers of that
    width); LTC options ``unfolds`` and ``solver`` only for ``ltc`` / ``ltc-ncp``."""
    if name == "mlp":
        kw: dict[str, Any] = {"hidden": (width, width)}
    else:
        kw = {"units": width}
    if name in ("ltc", "ltc-ncp"):
        kw.update(time_unit_s=dt_s, seed=seed)
        if unfolds is not None:
            kw["unfolds"] = unfolds
        if solver is not None:
            kw["solver"] = solver
    elif unfolds is not None or solver is not None:
        raise ValueError(f"unfolds and solver are LTC options; {name!r} has none")
    if name == "cfc-ncp":
        kw["seed"] = seed
    return kw


def seeded_core(name: str, outputs: int, init_seed: int, **config: Any) -> RecurrentCore:
    """``make_core(name, 2, outputs, **config)`` initialised under ``init_seed`` (torch's global random
    state is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        return make_core(name, 2, outputs, **config)


def measure(name: str, width: int, seed: int, *, unfolds: int | None = None, solver: str | None = None,
            outputs: int = 4, amplitude: float = 1.0, steps: int = 100, dt_s: float = DEFAULT_DT_S,
            weight_scale: float = 1.0) -> dict[str, Any]:
    """One row: both trajectory lengths of a freshly initialised core."""
    core = seeded_core(name, outputs, seed, **core_kwargs(name, width, seed, dt_s, unfolds, solver))
    if weight_scale != 1.0:
        scale_weights(core, weight_scale)
    lengths = {p: trajectory_length(core, amplitude, steps, dt_s=dt_s, projection=p) for p in ("full", "pca2")}
    cfg = getattr(core, "config", None)
    return {"core": name, "width": width, "unfolds": getattr(cfg, "unfolds", None) if name.startswith("ltc") else None,
            "solver": getattr(cfg, "solver", None) if name.startswith("ltc") else None, "seed": seed,
            "state_size": core.state_size, "amplitude": amplitude, "weight_scale": weight_scale,
            "length_full": lengths["full"], "length_pca2": lengths["pca2"]}


def width_sweep(cores: Sequence[str], widths: Iterable[int], seeds: Iterable[int], **kw: Any) -> list[dict[str, Any]]:
    """:func:`measure` for every core, width and seed."""
    return [measure(c, w, s, **kw) for c in cores for w in widths for s in seeds]


def scale_sweep(cores: Sequence[str], scales: Iterable[float], seeds: Iterable[int], width: int = 32,
                **kw: Any) -> list[dict[str, Any]]:
    """:func:`measure` for every core, weight scale and seed at one width."""
    return [measure(c, width, s, weight_scale=x, **kw) for c in cores for x in scales for s in seeds]


def unfolds_sweep(variants: Sequence[tuple[str, str, int]], unfolds: Iterable[int], seeds: Iterable[int],
                  **kw: Any) -> list[dict[str, Any]]:
    """:func:`measure` for every ``(core, solver, width)`` LTC variant, number of unfolds and seed."""
    return [measure(c, w, s, unfolds=u, solver=solver, **kw) for c, solver, w in variants for u in unfolds
            for s in seeds]


def aggregate(rows: list[dict[str, Any]], by: Sequence[str], key: str = "length_full") -> list[dict[str, Any]]:
    """Mean, std, median, min, max and count of ``key`` over seeds for each combination of the ``by`` columns
    (diverged runs, ``inf``, are counted apart and left out of the statistics)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault(tuple(r[b] for b in by), []).append(r[key])
    out = []
    for k, vals in groups.items():
        finite = [v for v in vals if math.isfinite(v)]
        stats = ({"mean": float(np.mean(finite)), "std": float(np.std(finite)), "median": float(np.median(finite)),
                  "min": float(np.min(finite)), "max": float(np.max(finite))} if finite else
                 {"mean": math.inf, "std": 0.0, "median": math.inf, "min": math.inf, "max": math.inf})
        out.append({**dict(zip(by, k, strict=True)), **stats, "n": len(finite), "diverged": len(vals) - len(finite)})
    return out


def plot_expressivity(panels: Sequence[dict[str, Any]], path, caption: str, key: str = "length_full") -> None:
    """PNG: one panel per ``{"rows", "by", "title"[, "yscale"]}``.

    Each panel shows the trajectory length (median over seeds, with a band from the smallest to the
    largest seed; log scale unless ``yscale``) against the last ``by`` column, one line per combination
    of the others. ``caption`` goes under the figure (the command that made it). Diverged runs are
    left out of their point.
    """
    from ..plotting import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.8), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        by = tuple(panel["by"])
        lines: dict[str, list[dict[str, Any]]] = {}
        for a in aggregate(panel["rows"], by, key):
            if math.isfinite(a["mean"]):
                lines.setdefault(", ".join(str(a[b]) for b in by[:-1]), []).append(a)
        for label, pts in lines.items():
            pts.sort(key=lambda p: p[by[-1]])
            xs = [p[by[-1]] for p in pts]
            (line,) = ax.plot(xs, [p["median"] for p in pts], marker="o", ms=3, lw=1.2, label=label)
            ax.fill_between(xs, [p["min"] for p in pts], [p["max"] for p in pts], color=line.get_color(), alpha=0.12,
                            lw=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale(panel.get("yscale", "log"))
        ax.set_xlabel(by[-1].replace("_", " "))
        ax.set_ylabel(f"output trajectory length ({'2-D PCA' if key == 'length_pca2' else 'full'})")
        ax.set_title(panel["title"], fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.text(0.5, 0.005, caption, ha="center", fontsize=7, family="monospace")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    save_figure(fig, path)
    plt.close(fig)
