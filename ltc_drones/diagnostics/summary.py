"""Per-episode and per-scenario summaries of closed-loop saliency: attention ratios, feature attributions.

Frame values are averaged within an episode (frames where the region is in view); episodes are the
independent units of a scenario: its mean is the mean over episodes, with a 95 % percentile bootstrap interval
over episodes (``scipy.stats.bootstrap``, :data:`BOOTSTRAP_RESAMPLES` resamples, a seeded generator). Frames of
one episode are strongly correlated, so they are not resampled as if independent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from .attention import REGIONS, StepAttention

BOOTSTRAP_RESAMPLES = 2000
INTERVAL = "95 % percentile bootstrap over episodes (scipy.stats.bootstrap, 2000 resamples, seeded)"


def mean_ci95(values: Sequence[float], rng: np.random.Generator) -> dict[str, Any]:
    """``{"mean", "ci95": [low, high] or None, "n"}`` of ``values`` (None interval for fewer than 2 values).

    Equal values give a zero-width interval at the mean (the bootstrap distribution is degenerate).
    """
    from scipy.stats import bootstrap

    x = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if x.size == 0:
        return {"mean": None, "ci95": None, "n": 0}
    mean = float(x.mean())
    if x.size < 2:
        ci = None
    elif np.ptp(x) == 0:
        ci = [mean, mean]
    else:
        res = bootstrap((x,), np.mean, n_resamples=BOOTSTRAP_RESAMPLES, method="percentile", rng=rng)
        ci = [float(res.confidence_interval.low), float(res.confidence_interval.high)]
    return {"mean": _r(mean), "ci95": None if ci is None else [_r(c) for c in ci], "n": int(x.size)}


def _r(v: float) -> float:
    return round(float(v), 5)


class EpisodeLog:
    """Accumulates the :class:`~ltc_drones.diagnostics.attention.StepAttention` of one episode's steps."""

    def __init__(self) -> None:
        self.ratios: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.frames: dict[str, int] = defaultdict(int)
        self.feature_shares: dict[str, list[np.ndarray]] = defaultdict(list)

    def add(self, step: StepAttention) -> None:
        for method, regions in step.ratios.items():
            self.frames[method] += 1
            for region, value in regions.items():
                if value is not None:
                    self.ratios[method][region].append(value)
        for method, attribution in step.features.items():
            mass = np.abs(attribution)
            total = mass.sum()
            if total > 0:
                self.feature_shares[method].append(mass / total)

    def attention(self) -> dict[str, dict[str, Any]]:
        """method -> region -> ``{"mean": mean ratio over frames in view or None, "frames_in_view"}``, plus
        ``"frames"`` (frames measured)."""
        out: dict[str, dict[str, Any]] = {}
        for method, frames in self.frames.items():
            block: dict[str, Any] = {"frames": frames}
            for region in REGIONS:
                vals = self.ratios[method].get(region, [])
                block[region] = {"mean": _r(np.mean(vals)) if vals else None, "frames_in_view": len(vals)}
            out[method] = block
        return out

    def features(self) -> dict[str, list[float]]:
        """method -> mean share of the absolute attribution per state-vector entry (shares sum to 1 per frame)."""
        return {m: [_r(v) for v in np.mean(s, axis=0)] for m, s in self.feature_shares.items() if s}


def scenario_attention(episodes: Sequence[dict[str, Any]], methods: Sequence[str],
                       rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """method -> region -> :func:`mean_ci95` of the episodes' mean ratios (episodes with the region in view)."""
    out = {}
    for method in methods:
        blocks = [ep["attention"][method] for ep in episodes if method in ep.get("attention", {})]
        if blocks:
            out[method] = {region: mean_ci95([b[region]["mean"] for b in blocks], rng) for region in REGIONS}
    return out


def scenario_features(episodes: Sequence[dict[str, Any]], methods: Sequence[str], names: Sequence[str],
                      rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """method -> feature name -> :func:`mean_ci95` over episodes of its mean attribution share."""
    out = {}
    for method in methods:
        rows = [ep["features"][method] for ep in episodes if method in ep.get("features", {})]
        if rows:
            arr = np.asarray(rows)
            out[method] = {name: mean_ci95(arr[:, j], rng) for j, name in enumerate(names)}
    return out
