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
    """Accumulates the :class:`~ltc_drones.diagnostics.attention.StepAttention` of one episode's steps.

    Args:
        contrasts: region pairs ``(a, b)`` whose frame-by-frame comparison is kept: on frames with both in view,
            how often ``a``'s ratio exceeds ``b``'s (e.g. ``("target", "drone")``: the leader against the other
            drones in a follower's view).
    """

    def __init__(self, contrasts: Sequence[tuple[str, str]] = ()) -> None:
        self.ratios: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.frames: dict[str, int] = defaultdict(int)
        self.feature_shares: dict[str, list[np.ndarray]] = defaultdict(list)
        self.contrasts = tuple(contrasts)
        self.both: dict[str, dict[tuple[str, str], list[bool]]] = defaultdict(lambda: defaultdict(list))

    def add(self, step: StepAttention) -> None:
        for method, regions in step.ratios.items():
            self.frames[method] += 1
            for region, value in regions.items():
                if value is not None:
                    self.ratios[method][region].append(value)
            for a, b in self.contrasts:
                if regions[a] is not None and regions[b] is not None:
                    self.both[method][(a, b)].append(regions[a] > regions[b])
        for method, attribution in step.features.items():
            mass = np.abs(attribution)
            total = mass.sum()
            if total > 0:
                self.feature_shares[method].append(mass / total)

    def attention(self) -> dict[str, dict[str, Any]]:
        """method -> region -> ``{"mean": mean ratio over frames in view or None, "frames_in_view"}``, plus
        ``"frames"`` (frames measured) and, per contrast ``(a, b)``, ``"<a>_over_<b>"``: ``{"frames_both_in_view",
        "frames_higher", "fraction"}`` (the share of those frames where ``a``'s ratio exceeds ``b``'s; None without
        such frames)."""
        out: dict[str, dict[str, Any]] = {}
        for method, frames in self.frames.items():
            block: dict[str, Any] = {"frames": frames}
            for region in REGIONS:
                vals = self.ratios[method].get(region, [])
                block[region] = {"mean": _r(np.mean(vals)) if vals else None, "frames_in_view": len(vals)}
            for a, b in self.contrasts:
                wins = self.both[method].get((a, b), [])
                block[contrast_key(a, b)] = {"frames_both_in_view": len(wins), "frames_higher": int(sum(wins)),
                                             "fraction": _r(np.mean(wins)) if wins else None}
            out[method] = block
        return out

    def features(self) -> dict[str, list[float]]:
        """method -> mean share of the absolute attribution per state-vector entry (shares sum to 1 per frame)."""
        return {m: [_r(v) for v in np.mean(s, axis=0)] for m, s in self.feature_shares.items() if s}


def contrast_key(a: str, b: str) -> str:
    """The record key of the contrast of regions ``a`` and ``b`` (:class:`EpisodeLog`)."""
    return f"{a}_over_{b}"


def pool_agents(blocks: Sequence[dict[str, Any]], contrasts: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """One episode's :meth:`EpisodeLog.attention` of several agents -> one block of the same form: per region the
    mean over the agents that had it in view (frames summed); per contrast the fraction over all agents' frames
    with both regions in view. So the episode, not the agent, stays the unit of the bootstrap."""
    out: dict[str, Any] = {}
    for method in sorted({m for b in blocks for m in b}):
        per = [b[method] for b in blocks if method in b]
        block: dict[str, Any] = {"frames": sum(p["frames"] for p in per)}
        for region in REGIONS:
            means = [p[region]["mean"] for p in per if p[region]["mean"] is not None]
            block[region] = {"mean": _r(np.mean(means)) if means else None,
                             "frames_in_view": sum(p[region]["frames_in_view"] for p in per)}
        for a, b in contrasts:
            key = contrast_key(a, b)
            n, wins = (sum(p[key][k] for p in per) for k in ("frames_both_in_view", "frames_higher"))
            block[key] = {"frames_both_in_view": n, "frames_higher": wins, "fraction": _r(wins / n) if n else None}
        out[method] = block
    return out


def scenario_contrast(episodes: Sequence[dict[str, Any]], method: str, key: str,
                      rng: np.random.Generator) -> dict[str, Any]:
    """:func:`mean_ci95` over episodes of a contrast's fraction (episodes with both regions in view), plus the
    frames compared."""
    blocks = [ep["attention"][method][key] for ep in episodes if method in ep.get("attention", {})]
    return {**mean_ci95([b["fraction"] for b in blocks], rng),
            "frames_both_in_view": int(sum(b["frames_both_in_view"] for b in blocks))}


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
