"""Aggregate a benchmark's cell records into ``summary.csv``, ``table.md``, ``differences.csv`` and plots.

Diagnostics cells, where present, add attention columns, tables and plots (:mod:`.diagnostics_analysis`).

Statistics (scipy, seeded generators, no hand-written bootstrap):

* per architecture and scenario: successes pooled over training seeds and episodes, with the 95 % Wilson
  interval (episodes treated as independent trials), and the mean of the per-seed success rates;
* per architecture and level, the mean success over all shifts at that level, with a 95 % stratified
  bootstrap interval (training seeds resampled within each shift, as Agarwal et al., "Deep RL at the Edge
  of the Statistical Precipice", NeurIPS 2021, recommend for few runs): ``scipy.stats.bootstrap`` resamples
  each sample (one per shift) independently, which is exactly a bootstrap stratified by shift;
* multi-agent grids: success is *team* success (every drone succeeded); the summary rows add the pooled
  per-agent success rate and the collision rate (episodes with at least one drone-drone collision);
* per shift, the paired difference in success between the reference architecture (``ltc-ncp``) and each
  baseline on the same seeds and the same episodes, with a 95 % paired bootstrap interval.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomic
from ..evaluation.metrics import wilson_interval
from .grid import Grid
from .results import BOOTSTRAP_RESAMPLES, csv_text, load_cells, scenario_level

REFERENCE_ARCH = "ltc-ncp"


def outcomes(grid: Grid, cells: dict[str, dict[str, Any]]) -> dict[tuple[str, int, str], np.ndarray]:
    """Success bits per (arch, training seed, scenario), from the finished evaluation cells."""
    out = {}
    for rec in cells.values():
        if rec["kind"] == "eval":
            for scenario, v in rec["scenarios"].items():
                out[(rec["arch"], rec["seed"], scenario)] = np.asarray(v["success"], dtype=float)
    return out


def team_outcomes(cells: dict[str, dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, np.ndarray]]:
    """Per (arch, training seed, scenario) of a multi-agent grid: every agent's success bits and the episodes'
    collision bits (empty for single-agent grids)."""
    out = {}
    for rec in cells.values():
        if rec["kind"] == "eval":
            for scenario, v in rec["scenarios"].items():
                if "agent_success" in v:
                    out[(rec["arch"], rec["seed"], scenario)] = {
                        "agent_success": np.asarray(v["agent_success"], dtype=float).reshape(-1),
                        "collided": np.asarray(v["collided"], dtype=float)}
    return out


def _team_columns(grid: Grid, team, arch: str, scenario: str) -> dict[str, Any]:
    """``agent_success_rate`` and ``collision_rate`` pooled over the training seeds (multi-agent grids)."""
    per_seed = [team[(arch, s, scenario)] for s in grid.seeds if (arch, s, scenario) in team]
    if not per_seed:
        return {}
    agents = np.concatenate([t["agent_success"] for t in per_seed])
    collided = np.concatenate([t["collided"] for t in per_seed])
    return {"agent_success_rate": round(float(agents.mean()), 4), "collision_rate": round(float(collided.mean()), 4)}


def summary_rows(grid: Grid, bits: dict[tuple[str, int, str], np.ndarray], team=None) -> list[dict[str, Any]]:
    """One row per architecture and scenario; ``team``: :func:`team_outcomes` of a multi-agent grid."""
    rows = []
    for arch in grid.archs:
        for scenario in grid.scenarios:
            per_seed = [bits[(arch, s, scenario)] for s in grid.seeds if (arch, s, scenario) in bits]
            if not per_seed:
                continue
            pooled = np.concatenate(per_seed)
            wins, n = int(pooled.sum()), len(pooled)
            lo, hi = wilson_interval(wins, n)
            shift, level = scenario_level(scenario)
            rows.append({"arch": arch, "scenario": scenario, "shift": shift, "level": level, "seeds": len(per_seed),
                         "episodes": n, "successes": wins, "success_rate": round(wins / n, 4),
                         "ci95_low": round(lo, 4), "ci95_high": round(hi, 4),
                         "seed_rates": " ".join(f"{b.mean():.3f}" for b in per_seed),
                         **_team_columns(grid, team or {}, arch, scenario)})
    return rows


def _mean_of_means(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean([x.mean(axis=axis) for x in samples], axis=0)


def level_aggregates(grid: Grid, bits) -> list[dict[str, Any]]:
    """Mean success over every shift at a level, per architecture, with a stratified bootstrap interval."""
    from scipy.stats import bootstrap

    rows = []
    for arch in grid.archs:
        for level in grid.levels:
            samples = []
            for shift in grid.shifts:
                rates = [bits[(arch, s, f"{shift}@{level}")].mean() for s in grid.seeds
                         if (arch, s, f"{shift}@{level}") in bits]
                if rates:
                    samples.append(np.asarray(rates))
            if not samples:
                continue
            point = float(np.mean([x.mean() for x in samples]))
            lo = hi = point
            if any(len(x) > 1 for x in samples) and len({float(v) for x in samples for v in x}) > 1:
                res = bootstrap(tuple(samples), _mean_of_means, n_resamples=BOOTSTRAP_RESAMPLES,
                                method="percentile", vectorized=True, rng=np.random.default_rng(0))
                lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
            rows.append({"arch": arch, "level": level, "shifts": len(samples), "seeds": max(len(x) for x in samples),
                         "mean_success": round(point, 4),
                         "ci95_low": round(lo, 4), "ci95_high": round(hi, 4)})
    return rows


def paired_differences(grid: Grid, bits) -> list[dict[str, Any]]:
    """Success of the reference architecture minus each baseline, per shift (all its levels), paired."""
    from scipy.stats import bootstrap

    if REFERENCE_ARCH not in grid.archs:
        return []
    rows = []
    for base in (a for a in grid.archs if a != REFERENCE_ARCH):
        for shard in grid.shards:
            ref, other = [], []
            for s in grid.seeds:
                for scenario in grid.shard_scenarios(shard):
                    a, b = bits.get((REFERENCE_ARCH, s, scenario)), bits.get((base, s, scenario))
                    if a is not None and b is not None:
                        ref.append(a)
                        other.append(b)
            if not ref:
                continue
            d = np.concatenate(ref) - np.concatenate(other)
            lo = hi = float(d.mean())
            if np.ptp(d) > 0:
                res = bootstrap((d,), np.mean, n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                                rng=np.random.default_rng(0))
                lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
            rows.append({"reference": REFERENCE_ARCH, "baseline": base, "shift": shard, "pairs": len(d),
                         "difference": round(float(d.mean()), 4), "ci95_low": round(lo, 4), "ci95_high": round(hi, 4)})
    return rows


def _params(cells) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for rec in cells.values():
        if rec["kind"] == "train":
            out[rec["arch"]].append(rec["parameters"])
    return out


def _fmt(row: dict[str, Any] | None, key: str, spec: str = ".2f") -> str:
    """``value [low, high]`` of a row, or a dash."""
    if row is None:
        return "–"
    return f"{row[key]:{spec}} [{row['ci95_low']:{spec}}, {row['ci95_high']:{spec}}]"


def main_table(grid: Grid, cells, rows, levels, diffs) -> str:
    top = max(grid.levels) if grid.levels else 0
    by = {(r["arch"], r["scenario"]): r for r in rows}
    params = _params(cells)
    cols = ["nominal", *[f"{s}@{top}" for s in grid.shifts]]
    seeds_done = {arch: max((r["seeds"] for r in rows if r["arch"] == arch), default=0) for arch in grid.archs}
    team = f" with {grid.num_drones} drones (success: every drone succeeded)" if grid.num_drones else ""
    lines = [f"# Benchmark `{grid.name}`: {grid.task}{team}, obs={grid.obs}, {len(grid.seeds)} training seed(s) in "
             f"the grid, {grid.episodes} episodes per agent and scenario", "",
             f"{'Team success' if grid.num_drones else 'Success'} pooled over the finished training seeds (column "
             f"`seeds`) and episodes [95 % Wilson interval]; "
             f"shifts at level {top}; `params`: trainable parameters (synapses masked by an NCP wiring not counted).",
             "", "| arch | params | seeds | " + " | ".join(cols) + " |", "|---|---:|---:|" + "---:|" * len(cols)]
    for arch in grid.archs:
        cells_txt = []
        for c in cols:
            r = by.get((arch, c))
            cells_txt.append(_fmt(r, "success_rate"))
        p = sorted(set(params.get(arch, [])))
        lines.append(f"| {arch} | {','.join(map(str, p)) or '–'} | {seeds_done[arch]} | " + " | ".join(cells_txt)
                     + " |")
    if levels:
        lines += ["", "Mean success over all shifts at each level [95 % stratified bootstrap over training seeds; "
                  "no interval with one seed]:", "",
                  "| arch | " + " | ".join(f"level {lv}" for lv in grid.levels) + " |",
                  "|---|" + "---:|" * len(grid.levels)]
        agg = {(r["arch"], r["level"]): r for r in levels}
        for arch in grid.archs:
            vals = [agg.get((arch, lv)) for lv in grid.levels]
            lines.append(f"| {arch} | " + " | ".join(
                _fmt(v, "mean_success") if v is None or v["seeds"] > 1 else f"{v['mean_success']:.2f}" for v in vals)
                + " |")
    if diffs:
        lines += ["", f"Paired difference in success, {REFERENCE_ARCH} minus baseline, per shift (all levels) "
                  "[95 % paired bootstrap]:", "",
                  "| baseline | " + " | ".join(grid.shards) + " |", "|---|" + "---:|" * len(grid.shards)]
        d = {(r["baseline"], r["shift"]): r for r in diffs}
        for base in (a for a in grid.archs if a != REFERENCE_ARCH):
            lines.append(f"| {base} | " + " | ".join(_fmt(d.get((base, s)), "difference", "+.2f")
                                                     for s in grid.shards) + " |")
    return "\n".join(lines) + "\n"


def write_analysis(grid: Grid, results: Path) -> dict[str, Any]:
    """Write ``summary.csv``, ``levels.csv``, ``differences.csv``, ``table.md`` and the plots (atomic)."""
    results = Path(results)
    cells = load_cells(results)
    bits = outcomes(grid, cells)
    rows = summary_rows(grid, bits, team_outcomes(cells))
    levels = level_aggregates(grid, bits)
    diffs = paired_differences(grid, bits)
    table = main_table(grid, cells, rows, levels, diffs)
    out: dict[str, Any] = {"rows": rows, "levels": levels, "differences": diffs}
    if any(rec["kind"] == "diag" for rec in cells.values()):  # diagnostics cells: see .diagnostics_analysis
        from .diagnostics_analysis import write_diagnostics

        out["diagnostics"] = write_diagnostics(grid, cells, rows, results)
        table += out["diagnostics"]["markdown"]
    for name, text in (("summary.csv", csv_text(rows)), ("levels.csv", csv_text(levels)),
                       ("differences.csv", csv_text(diffs)), ("table.md", table)):
        write_atomic(results / name, lambda tmp, text=text: Path(tmp).write_text(text))
    if rows:
        from .plots import plot_benchmark

        plot_benchmark(grid, rows, results)
    return out
