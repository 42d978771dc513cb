"""What ``evaluate(..., diagnostics=...)`` asks of a diagnostics provider, and the evaluator's side of it.

The evaluator measures outcomes. A *provider* (:class:`Diagnostics`; the one the package ships is
``ltc_drones.diagnostics.ClosedLoopDiagnostics``) adds what the diagnostics package measures: checks run
once per evaluation (the saliency sanity checks of an agent), fields added to every episode record
(attention on the target, taken before every action), a per-scenario summary, and intervention units
(a few episodes of one causal intervention in one scenario). The evaluation package never imports the
diagnostics package, which sits above it (docs/architecture.md): the caller hands the provider in (the CLI does).
Providers are plain, picklable objects, so worker processes (and Ray tasks) receive them as arguments.

JSON the benchmark analysis reads (:mod:`.diagnostics_analysis`):

* checks: ``{"methods": [measured saliency methods], "failed_sanity": {method: bool},
  "sanity": {method: {"full_randomisation_spearman": float, ...}}, "note": str}``;
* episode records gain ``{"attention": {method: {"frames": int, region: {"mean": float | None,
  "frames_in_view": int}}}}`` (regions ``target``, ``distractor``, ``scenery``, ...);
* an intervention unit: ``{"scenario", "kind", "flown": scenario flown, "records": [{"kind", "seed",
  "applied", "responded", "response_time_s", "success", "crashed", ...}]}``.

Files of an evaluation folder with diagnostics (besides the evaluator's own): ``checks.json`` (written
before the first episode, so a resumed evaluation keeps its verdicts), ``interventions.partial.jsonl``
while running (one line per finished unit), then ``interventions.jsonl`` (one line per intervention
episode, in unit order).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..atomic import write_atomic, write_json_atomic

ATTENTION_REGIONS = ("target", "distractor", "scenery")
"""Regions whose attention ratios the benchmark keeps and tabulates."""
TEAM_ATTENTION_REGIONS = (*ATTENTION_REGIONS, "drone")
"""The same for a multi-agent grid: also the other drones in each agent's view (pooled over agents)."""
INTERVENTION_FIELDS = ("applied", "responded", "response_time_s", "success", "crashed")
"""Per-episode fields of intervention records that the benchmark keeps."""
CHECKS = "checks.json"
UNITS_PARTIAL = "interventions.partial.jsonl"
INTERVENTIONS = "interventions.jsonl"


def attention_regions(multi_agent: bool) -> tuple[str, ...]:
    """The regions a benchmark keeps: :data:`TEAM_ATTENTION_REGIONS` for teams, else :data:`ATTENTION_REGIONS`."""
    return TEAM_ATTENTION_REGIONS if multi_agent else ATTENTION_REGIONS


class EpisodeProbe(Protocol):
    """Watches one episode."""

    def before_act(self, batch: Any, live: Any) -> None:
        """Called before every action with the observation batch and the mask of live agents (the
        ``before_act`` hook of :func:`ltc_drones.envs.rollout.run_episode`; a single env is a batch of one)."""

    def record(self) -> dict[str, Any]:
        """JSON fields added to the episode's record."""


class Diagnostics(Protocol):
    """A diagnostics provider (see the module docstring)."""

    def to_dict(self) -> dict[str, Any]:
        """Its settings (written to ``meta.json``: a folder never mixes settings)."""

    def prepare(self, request) -> dict[str, Any]:
        """The checks, run once per evaluation in the calling process (deterministic for the request)."""

    def probe(self, env, controller, checks: dict[str, Any]) -> EpisodeProbe | None:
        """A probe for the next episode of ``env`` flown by ``controller`` (None: nothing to measure)."""

    def summarize(self, request, scenario: str, records: list[dict[str, Any]],
                  checks: dict[str, Any]) -> dict[str, Any]:
        """Fields added to a scenario's summary, from its episode records."""

    def interventions(self, request) -> list[tuple[str, str]]:
        """The intervention units ``(scenario, kind)`` of an evaluation (may be empty)."""

    def intervene(self, request, scenario: str, kind: str) -> dict[str, Any]:
        """Fly one intervention unit."""

    def summarize_interventions(self, units: list[dict[str, Any]]) -> dict[str, Any]:
        """A scenario's intervention summary from its units."""

    def columns(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Flat CSV columns of a scenario summary's diagnostics fields."""

    def table(self, summaries: dict[str, dict[str, Any]], checks: dict[str, Any]) -> str:
        """Markdown appended to ``table.md``."""


def run_unit(diagnostics: Diagnostics, request, scenario: str, kind: str) -> dict[str, Any]:
    """Worker: one intervention unit (a module-level function, so process pools can pickle it)."""
    return diagnostics.intervene(request, scenario, kind)


class DiagnosedRun:
    """The evaluator's side of one evaluation with diagnostics: checks, units, resumption, summaries."""

    def __init__(self, diagnostics: Diagnostics, request, out: Path | None) -> None:
        self.diagnostics, self.request, self.out = diagnostics, request, out
        self.checks = self._checks()
        self.units: dict[tuple[str, str], dict[str, Any]] = self._finished_units()

    def _checks(self) -> dict[str, Any]:
        path = None if self.out is None else self.out / CHECKS
        if path is not None and path.is_file():
            return json.loads(path.read_text())
        checks = self.diagnostics.prepare(self.request)
        if path is not None:
            write_json_atomic(path, checks)
        return checks

    def _finished_units(self) -> dict[tuple[str, str], dict[str, Any]]:
        done: dict[tuple[str, str], dict[str, Any]] = {}
        if self.out is None:
            return done
        final = (self.out / INTERVENTIONS).is_file()  # complete: it is written before the partial file goes
        path = self.out / (INTERVENTIONS if final else UNITS_PARTIAL)
        for line in path.read_text().splitlines() if path.is_file() else []:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a torn last line: that unit is flown again
                continue
            if not final:
                done[(rec["scenario"], rec["kind"])] = rec
                continue
            unit = done.setdefault((rec["scenario"], rec["kind"]), {  # the finished file lists episodes
                "scenario": rec["scenario"], "kind": rec["kind"], "flown": rec["flown"], "records": []})
            unit["records"].append({k: v for k, v in rec.items() if k not in ("scenario", "flown")})
        return done

    @property
    def extra(self) -> tuple[Any, ...]:
        """Extra arguments of ``evaluate_episode``: the provider and the checks."""
        return ((self.diagnostics, self.checks),)

    def pending(self) -> list[tuple[str, str]]:
        return [u for u in self.diagnostics.interventions(self.request) if u not in self.units]

    def unit_jobs(self, sink_unit: Callable[[dict[str, Any]], None]) -> list[tuple[Callable, tuple, Callable]]:
        """``(function, arguments, callback)`` of every unit still to fly."""
        return [(run_unit, (self.diagnostics, self.request, s, k), sink_unit) for s, k in self.pending()]

    def keep_unit(self, unit: dict[str, Any], sink) -> None:
        self.units[(unit["scenario"], unit["kind"])] = unit
        if sink is not None:
            sink.write(json.dumps(unit, sort_keys=True) + "\n")
            sink.flush()
            os.fsync(sink.fileno())

    def finish(self, records: list[dict[str, Any]], summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Add the diagnostics to ``summaries`` (in place); returns the evaluation's diagnostics block:
        ``config``, ``checks``, intervention ``units``, CSV ``columns`` per scenario and the markdown ``table``."""
        d, plan = self.diagnostics, self.diagnostics.interventions(self.request)
        for s in self.request.scenarios:
            summaries[s].update(d.summarize(self.request, s, [r for r in records if r["scenario"] == s], self.checks))
            units = [self.units[u] for u in plan if u[0] == s]
            if units:
                summaries[s]["interventions"] = d.summarize_interventions(units)
        return {"config": d.to_dict(), "checks": self.checks, "units": [self.units[u] for u in plan],
                "columns": {s: d.columns(v) for s, v in summaries.items()}, "table": d.table(summaries, self.checks)}


def write_interventions(out: Path, units: list[dict[str, Any]]) -> None:
    """``interventions.jsonl`` (one line per episode, units in plan order), then drop the partial file."""
    lines = [json.dumps({"scenario": u["scenario"], "flown": u["flown"], **r}, sort_keys=True)
             for u in units for r in u["records"]]
    text = "".join(line + "\n" for line in lines)
    write_atomic(out / INTERVENTIONS, lambda tmp: Path(tmp).write_text(text))
    (out / UNITS_PARTIAL).unlink(missing_ok=True)
