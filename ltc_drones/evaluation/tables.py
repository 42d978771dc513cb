"""An evaluation's summaries as CSV (one row per scenario) and as a markdown table."""

from __future__ import annotations

import csv
import io
from typing import Any


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    # Nested diagnostics blocks enter the CSV as the provider's flat columns instead.
    flat = {k: v for k, v in summary.items() if not k.endswith("_ci95") and not isinstance(v, dict)}
    flat["ci95_low"], flat["ci95_high"] = summary["success_ci95"]
    if "agent_success_ci95" in summary:  # multi-agent tasks
        flat["agent_ci95_low"], flat["agent_ci95_high"] = summary["agent_success_ci95"]
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
TEAM_TABLE_COLUMNS = (("team success", None), ("agent success", None), ("collision", "collision_rate"),
                      ("crash", "crash_rate"), ("t_success_s", "time_to_success_s"),
                      ("final_d_m", "final_distance_m"), ("tracked", "tracked_fraction"), ("lost_s", "lost_s"),
                      ("leader_d_m", "leader_distance_m"))
"""Columns of a multi-agent evaluation's table; metrics that no scenario has (another task's) are left out."""


def _rate_cell(wins: int, n: int, ci: list[float]) -> str:
    return f"{wins}/{n} [{ci[0]:.2f}, {ci[1]:.2f}]"


def summary_table(summaries: dict[str, dict[str, Any]]) -> str:
    """A markdown table: one row per scenario, success with its 95 % Wilson interval, then the means.

    Multi-agent summaries (with ``agent_success_rate``) get the team columns: team success, agent success
    (both with their intervals), collision and crash rates, then the task's metrics.
    """
    team = any("agent_success_rate" in s for s in summaries.values())
    columns = TEAM_TABLE_COLUMNS if team else TABLE_COLUMNS
    rates = 2 if team else 1
    if team:
        columns = columns[:rates] + tuple(c for c in columns[rates:]
                                          if any(s.get(c[1]) is not None for s in summaries.values()))
    head = "| scenario | " + " | ".join(name for name, _ in columns) + " |"
    lines = [head, "|---" + "|---:" * len(columns) + "|"]
    for scenario, s in summaries.items():
        cells = [_rate_cell(s["successes"], s["episodes"], s["success_ci95"])]
        if team:
            cells.append(_rate_cell(s["agent_successes"], s["agent_episodes"], s["agent_success_ci95"]))
        for _, key in columns[rates:]:
            v = s.get(key)
            cells.append("–" if v is None else f"{v:.2f}")
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
