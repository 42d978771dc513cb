"""A benchmark's diagnostics: attention on the target per architecture and scenario, sanity verdicts, interventions.

From the ``diag__<arch>__seed<s>`` cells (:mod:`.cells`); written only when such cells exist:

* attention (``attention.csv``; columns of ``summary.csv``; tables in ``table.md``; ``attention.png``, and
  ``attention_<method>.png`` for every further method): per architecture, scenario and saliency method, the
  episodes' mean attention ratios (saliency share in the region over its area share; 1 = no preference),
  pooled over training seeds as success is; the mean with a 95 % percentile bootstrap interval over
  episodes (``scipy.stats.bootstrap``, 2000 resamples, a seeded generator). Episodes in which the region was
  never in view are left out. A method is measured for an agent when it passed that agent's sanity check
  (VisualBackProp always, flagged); ``failed_sanity_seeds`` counts the agents whose check it failed;
* sanity: per architecture and method, the agents that failed the randomisation check and the mean rank
  correlation with every layer randomised;
* interventions (``interventions.csv``, a table): per architecture, scenario and kind, response and success
  after the intervention pooled over training seeds with 95 % Wilson intervals, and the median response time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_atomic
from ..evaluation.metrics import wilson_interval
from ..evaluation.probes import attention_regions
from .grid import Grid
from .results import BOOTSTRAP_RESAMPLES, csv_text, scenario_level


def diag_cells(cells: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [rec for rec in cells.values() if rec["kind"] == "diag"]


def methods_of(diag: list[dict[str, Any]]) -> list[str]:
    """Measured saliency methods, in the order of the provider's settings."""
    measured = {m for rec in diag for m in rec["checks"]["methods"]}
    order = [m for rec in diag for m in rec["provider"].get("methods", [])]
    return [m for m in dict.fromkeys(order) if m in measured]


def mean_ci95(values: list[float | None]) -> tuple[float | None, float | None, float | None, int]:
    """``(mean, low, high, n)`` of the values that are not None; the interval collapses to the mean when it
    cannot be resampled (fewer than 2 values, or all equal)."""
    from scipy.stats import bootstrap

    x = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if x.size == 0:
        return None, None, None, 0
    mean = float(x.mean())
    lo = hi = mean
    if x.size > 1 and np.ptp(x) > 0:
        res = bootstrap((x,), np.mean, n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                        rng=np.random.default_rng(0))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return round(mean, 4), round(lo, 4), round(hi, 4), int(x.size)


def _pooled(recs: list[dict[str, Any]], scenario: str, method: str, region: str) -> list[float | None]:
    return [v for r in recs for v in r["scenarios"][scenario]["attention"][method][region]]


def attention_rows(grid: Grid, diag: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    methods = methods_of(diag)
    regions = attention_regions(grid.num_drones is not None)
    for arch in grid.archs:
        mine = sorted((r for r in diag if r["arch"] == arch), key=lambda r: r["seed"])
        for scenario in grid.scenarios:
            for m in methods:
                recs = [r for r in mine if m in r["checks"]["methods"] and scenario in r["scenarios"]]
                if not recs:
                    continue
                mean, lo, hi, n = mean_ci95(_pooled(recs, scenario, m, "target"))
                shift, level = scenario_level(scenario)
                rows.append({"arch": arch, "scenario": scenario, "shift": shift, "level": level, "method": m,
                             "seeds": len(recs), "episodes": n, "target": mean, "ci95_low": lo, "ci95_high": hi,
                             **{region: mean_ci95(_pooled(recs, scenario, m, region))[0]
                                for region in regions[1:]},
                             "failed_sanity_seeds": sum(bool(r["checks"]["failed_sanity"].get(m)) for r in recs)})
    return rows


def summary_columns(rows: list[dict[str, Any]], methods: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Columns added to ``summary.csv`` per (arch, scenario); every row gets all of them (empty when missing)."""
    by = {(r["arch"], r["scenario"], r["method"]): r for r in rows}
    team = any("drone" in r for r in rows)  # rows of a multi-agent grid carry the other drones' attention
    regions = attention_regions(team)[1:]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for arch, scenario in dict.fromkeys((r["arch"], r["scenario"]) for r in rows):
        cols: dict[str, Any] = {}
        for m in methods:
            r = by.get((arch, scenario, m), {})
            cols[f"att_target_{m}"] = r.get("target")
            cols[f"att_target_{m}_ci95_low"], cols[f"att_target_{m}_ci95_high"] = r.get("ci95_low"), r.get("ci95_high")
            for region in regions:
                cols[f"att_{region}_{m}"] = r.get(region)
        out[(arch, scenario)] = cols
    return out


def sanity_rows(grid: Grid, diag: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for arch in grid.archs:
        recs = [r for r in diag if r["arch"] == arch]
        names = [m for m in dict.fromkeys(m for r in recs for m in r["provider"].get("methods", []))
                 if any(m in r["checks"]["failed_sanity"] for r in recs)]
        for m in names:
            checked = [r for r in recs if m in r["checks"]["failed_sanity"]]
            rho = [r["checks"]["full_randomisation_spearman"][m] for r in checked]
            rows.append({"arch": arch, "method": m, "agents": len(checked),
                         "failed": sum(bool(r["checks"]["failed_sanity"][m]) for r in checked),
                         "full_randomisation_spearman": round(float(np.mean(rho)), 4)})
    return rows


def _wilson_row(bits: list[bool], prefix: str) -> dict[str, Any]:
    n, hits = len(bits), sum(bits)
    lo, hi = wilson_interval(hits, n)
    return {f"{prefix}_n": n, f"{prefix}_count": hits, f"{prefix}_rate": round(hits / n, 4) if n else None,
            f"{prefix}_ci95_low": round(lo, 4), f"{prefix}_ci95_high": round(hi, 4)}


def intervention_rows(grid: Grid, diag: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for arch in grid.archs:
        recs = sorted((r for r in diag if r["arch"] == arch), key=lambda r: r["seed"])
        plan = dict.fromkeys((s, k) for r in recs for s, kinds in r["interventions"].items() for k in kinds)
        for scenario, kind in plan:
            units = [r["interventions"][scenario][kind] for r in recs if kind in r["interventions"].get(scenario, {})]
            applied = [(u, j) for u in units for j, a in enumerate(u["applied"]) if a]
            responded = [bool(u["responded"][j]) for u, j in applied if u["responded"][j] is not None]
            times = [u["response_time_s"][j] for u, j in applied if u["response_time_s"][j] is not None]
            rows.append({"arch": arch, "scenario": scenario, "kind": kind, "seeds": len(units),
                         "episodes": sum(len(u["applied"]) for u in units), "applied": len(applied),
                         **_wilson_row(responded, "response"),
                         "t_response_median_s": round(float(np.median(times)), 4) if times else None,
                         **_wilson_row([bool(u["success"][j]) for u, j in applied], "success")})
    return rows


def _cell(value: float | None, lo: float | None, hi: float | None) -> str:
    return "–" if value is None else f"{value:.2f} [{lo:.2f}, {hi:.2f}]"


def _count(r: dict[str, Any], prefix: str) -> str:
    if not r[f"{prefix}_n"]:
        return "–"
    return f"{r[f'{prefix}_count']}/{r[f'{prefix}_n']} [{r[f'{prefix}_ci95_low']:.2f}, {r[f'{prefix}_ci95_high']:.2f}]"


def tables(grid: Grid, att: list[dict[str, Any]], sanity: list[dict[str, Any]],
           interventions: list[dict[str, Any]], diag: list[dict[str, Any]]) -> str:
    """Markdown for ``table.md``: attention on the target per method, the sanity verdicts, the interventions."""
    top = max(grid.levels) if grid.levels else 0
    cols = ["nominal", *[f"{s}@{top}" for s in grid.shifts]]
    lines = ["", "## Diagnostics", ""]
    if diag:
        p = diag[0]["provider"]
        where = "the first scenario (nominal)" if p.get("intervention_scenarios") == "first" else "every scenario"
        lines += [f"From {len(diag)} diagnostics cell(s), one per agent: {diag[0]['settings']['episodes']} episode(s) "
                  f"per agent and scenario; interventions ({', '.join(p.get('intervention_kinds', []))}): "
                  f"{p.get('intervention_episodes')} episode(s) per kind and agent in {where}.", ""]
    failed = {(r["arch"], r["method"]): r for r in sanity}
    for m in dict.fromkeys(r["method"] for r in att):
        bad = [f"{a} {failed[(a, m)]['failed']}/{failed[(a, m)]['agents']}" for a in grid.archs
               if (a, m) in failed and failed[(a, m)]["failed"]]
        flag = f" — FAILED the sanity check for {', '.join(bad)} agent(s)" if bad else ""
        by = {(r["arch"], r["scenario"]): r for r in att if r["method"] == m}
        lines += [f"Attention on the target, `{m}`{flag}: saliency share inside the target's mask over its area "
                  f"share (1 = no preference), mean over episodes pooled over training seeds [95 % bootstrap over "
                  f"episodes]; shifts at level {top}.", "",
                  "| arch | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for arch in grid.archs:
            cells = [by.get((arch, c)) for c in cols]
            lines.append(f"| {arch} | " + " | ".join(_cell(*(r[k] for k in ("target", "ci95_low", "ci95_high")))
                                                      if r else "–" for r in cells) + " |")
        lines.append("")
    if sanity:
        names = list(dict.fromkeys(r["method"] for r in sanity))
        lines += ["Sanity checks (cascading model randomisation, Adebayo et al. 2018): agents that failed / agents "
                  "checked (mean Spearman correlation with every layer randomised).", "",
                  "| arch | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for arch in grid.archs:
            cells = [failed.get((arch, m)) for m in names]
            lines.append(f"| {arch} | " + " | ".join(
                f"{r['failed']}/{r['agents']} ({r['full_randomisation_spearman']:.2f})" if r else "–" for r in cells)
                + " |")
        lines.append("")
    if interventions:
        lines += ["Causal interventions: response and success after the intervention pooled over training seeds "
                  "[95 % Wilson], median response time.", "",
                  "| arch | scenario | kind | applied | response | t_response_s | success |",
                  "|---|---|---|---:|---:|---:|---:|"]
        for r in interventions:
            t = r["t_response_median_s"]
            lines.append(f"| {r['arch']} | {r['scenario']} | {r['kind']} | {r['applied']}/{r['episodes']} | "
                         f"{_count(r, 'response')} | {'–' if t is None else f'{t:.2f}'} | {_count(r, 'success')} |")
    return "\n".join(lines) + "\n"


def write_diagnostics(grid: Grid, cells: dict[str, dict[str, Any]], rows: list[dict[str, Any]],
                      results: Path) -> dict[str, Any]:
    """Add the attention columns to the summary ``rows`` (in place), write ``attention.csv``,
    ``interventions.csv`` and the attention plots; returns the rows and the markdown for ``table.md``."""
    from .plots import plot_attention

    diag = diag_cells(cells)
    methods = methods_of(diag)
    att, sanity, interventions = attention_rows(grid, diag), sanity_rows(grid, diag), intervention_rows(grid, diag)
    columns = summary_columns(att, methods)
    empty = {k: None for cols in columns.values() for k in cols}
    for row in rows:
        row.update(columns.get((row["arch"], row["scenario"]), empty))
    for name, data in (("attention.csv", att), ("interventions.csv", interventions)):
        text = csv_text(data)
        write_atomic(results / name, lambda tmp, text=text: Path(tmp).write_text(text))
    failed = {m: sum(r["failed"] for r in sanity if r["method"] == m) for m in methods}
    for k, m in enumerate(methods):
        note = ", failed its sanity check" if failed[m] else ""
        plot_attention(grid, [r for r in att if r["method"] == m], results / (
            "attention.png" if k == 0 else f"attention_{m}.png"), m, note)
    return {"attention": att, "sanity": sanity, "interventions": interventions,
            "markdown": tables(grid, att, sanity, interventions, diag)}
