"""The results folder of a grid: finished cell records in, CSV text out, scenario names split into shift and level."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

BOOTSTRAP_RESAMPLES = 2000
"""Resamples of every bootstrap interval of the analysis."""


def load_cells(results: Path) -> dict[str, dict[str, Any]]:
    """Every finished cell record of a results folder, by cell id."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((results / "cells").glob("*.json"))}


def scenario_level(scenario: str) -> tuple[str, int]:
    name, _, level = scenario.partition("@")
    return (name, int(level)) if level else (name, 0)


def csv_text(rows: list[dict[str, Any]]) -> str:
    """``rows`` as CSV text with a header (empty for no rows)."""
    if not rows:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
