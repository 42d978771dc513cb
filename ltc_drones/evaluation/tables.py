"""An evaluation's summaries as CSV (one row per scenario) and as a markdown table."""

from __future__ import annotations

import csv
import io
from typing import Any


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    # Nested diagnostics blocks enter the CSV as the provider's flat columns instead.
    flat = {k: v for k, v in summary.items() if k != "success_ci95" and not isinstance(v, dict)}
    flat["ci95_low"], flat["ci95_high"] = summary["success_ci95"]
    return flat


def summary_csv(summaries: dict[str, dict[str, Any]], columns: dict[str, dict[str, Any]] | None = None) -> str:
    """One row per scenario; ``columns``: extra columns per scenario (diagnostics; empty where a row has none)."""
    buf = io.StringIO()
    rows = [{"scenario": s, **_flat(v), **(columns or {}).get(s, {})} for s, v in summaries.items()]
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


TABLE_COLUMNS = (("success", None), ("crash", "crash_rate"), ("t_success_s", "time_to_success_s"),
                 ("path_eff", "path_efficiency"), ("min_d_m", "min_distance_m"), ("final_d_m", "final_distance_m"),
                 ("track_err_m", "tracking_error_m"), ("tracked", "tracked_fraction"),
                 ("smooth", "action_smoothness"))


def summary_table(summaries: dict[str, dict[str, Any]]) -> str:
    """A markdown table: one row per scenario, success with its 95 % Wilson interval, then the means."""
    head = "| scenario | " + " | ".join(name for name, _ in TABLE_COLUMNS) + " |"
    lines = [head, "|---" + "|---:" * len(TABLE_COLUMNS) + "|"]
    for scenario, s in summaries.items():
        lo, hi = s["success_ci95"]
        cells = [f"{s['successes']}/{s['episodes']} [{lo:.2f}, {hi:.2f}]"]
        for _, key in TABLE_COLUMNS[1:]:
            v = s[key]
            cells.append("–" if v is None else f"{v:.2f}")
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
