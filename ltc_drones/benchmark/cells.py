"""The cells of a benchmark grid: collect demonstrations, train an agent, evaluate it on a shard of scenarios,
diagnose it. :func:`run_cell` runs one in any process and writes its record; a record depends only on the grid
and the cell."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..atomic import write_json_atomic
from ..models import trainable_parameters
from .grid import Cell, Grid, grid_from_dict, train_config_kwargs


class BenchmarkError(RuntimeError):
    """One or more cells failed (the others are kept; run again to retry)."""


def _paths(grid: Grid, work: Path) -> dict[str, Path]:
    return {"data": work / "data", "runs": work / "runs", "eval": work / "eval", "diag": work / "diag"}


def run_cell(grid_data: dict[str, Any], cell: Cell, results: str, work: str,
             diagnostics: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run one cell and write its record to ``results/cells/<id>.json`` (atomic). Returns the record.

    ``diagnostics``: the provider factory, for ``diag`` cells (see :func:`run_benchmark`).
    """
    import torch

    torch.set_num_threads(1)
    grid = grid_from_dict(grid_data)
    p = _paths(grid, Path(work))
    t0 = time.perf_counter()
    if cell.kind == "data":
        record = _data_cell(grid, cell, p)
    elif cell.kind == "train":
        record = _train_cell(grid, cell, p)
    elif cell.kind == "eval":
        record = _eval_cell(grid, cell, p)
    elif cell.kind == "diag":
        if diagnostics is None:
            raise BenchmarkError(f"cell {cell.id} needs the diagnostics provider factory")
        record = _diag_cell(grid, cell, p, diagnostics(**grid.provider_settings))
    else:  # pragma: no cover - cells come from Grid.cells
        raise ValueError(f"unknown cell kind {cell.kind!r}")
    record = {"cell": cell.id, "kind": cell.kind, "arch": cell.arch, "seed": cell.seed, "shard": cell.shard,
              **record}
    write_json_atomic(Path(results) / "cells" / f"{cell.id}.json", record)
    # Wall times vary from run to run, so they stay out of the records (which must not depend on the executor).
    write_json_atomic(Path(work) / "timings" / f"{cell.id}.json",
                      {"cell": cell.id, "wall_time_s": round(time.perf_counter() - t0, 2)})
    return record


def _data_cell(grid: Grid, cell: Cell, p: dict[str, Path]) -> dict[str, Any]:
    from ..training import CollectSpec, collect_demonstrations

    spec = CollectSpec(grid.task, grid.obs, grid.act, "nominal", base_seed=cell.seed, **grid.team)
    r = collect_demonstrations(spec, grid.demo_episodes, p["data"] / f"seed{cell.seed}", workers=1, progress=False)
    return {"episodes": r.total_episodes}


def _train_cell(grid: Grid, cell: Cell, p: dict[str, Path]) -> dict[str, Any]:
    from ..agents import load_agent
    from ..training import TrainConfig, resume_run, start_run

    folder = p["runs"] / f"{cell.arch}__seed{cell.seed}"
    if grid.rl:
        return _ppo_train_cell(grid, cell, p, folder)
    cfg = TrainConfig(**train_config_kwargs(grid, cell.arch, cell.seed, str(p["data"] / f"seed{cell.seed}"),
                                            str(p["runs"])))
    if (folder / "last.pt").is_file():
        summary = resume_run(folder, progress=False)
    else:
        summary = start_run(cfg, progress=False, folder=folder)
    agent = load_agent(folder / "best.pt")
    return {"agent": f"runs/{folder.name}/best.pt",  # relative to the work folder
            "parameters": trainable_parameters(agent.policy),
            "best_val_loss": summary.get("best_val"), "best_success": summary.get("best_success"),
            "steps": summary.get("step")}


def _ppo_train_cell(grid: Grid, cell: Cell, p: dict[str, Path], folder: Path) -> dict[str, Any]:
    """A PPO run from scratch (resumed from its ``last.pt`` after an interruption); the agent is its ``best.pt``."""
    from ..agents import load_agent
    from ..rl import train_ppo_in
    from .grid import ppo_configs

    summary = train_ppo_in(folder, *ppo_configs(grid, cell.arch, cell.seed, str(p["runs"])), progress=False)
    agent = load_agent(folder / "best.pt")
    best = summary["best"] or {}
    return {"agent": f"runs/{folder.name}/best.pt", "algo": "ppo", "parameters": trainable_parameters(agent.policy),
            "best_success": best.get("success_rate"), "best_step": best.get("step"), "steps": summary["steps"],
            "selection": [{"step": e["step"], "success_rate": e["success_rate"], "mean_return": e["mean_return"]}
                          for e in _evaluations(folder)]}


def _evaluations(folder: Path) -> list[dict[str, Any]]:
    """The model-selection evaluations of a finished PPO run (from its ``last.pt`` training state)."""
    from ..rl.checkpoint import read_rl_checkpoint

    return read_rl_checkpoint(folder / "last.pt")["train"]["state"]["evals"]


def _eval_cell(grid: Grid, cell: Cell, p: dict[str, Path]) -> dict[str, Any]:
    from ..evaluation.evaluator import evaluate

    agent = p["runs"] / f"{cell.arch}__seed{cell.seed}" / "best.pt"
    out = p["eval"] / f"{cell.arch}__seed{cell.seed}" / cell.shard
    result = evaluate(str(agent), grid.task, grid.shard_scenarios(cell.shard), grid.episodes, seed=grid.eval_seed,
                      workers=1, out=out, progress=False, **grid.team)
    scenarios = {}
    for scenario, summary in result.summaries.items():
        recs = [r for r in result.records if r["scenario"] == scenario]
        scenarios[scenario] = {"summary": summary, "success": [int(r["success"]) for r in recs],
                               "crashed": [int(r["crashed"]) for r in recs], "seeds": [r["seed"] for r in recs]}
        if grid.num_drones is not None:  # team episodes: "success" is team success; keep each agent's outcome
            scenarios[scenario].update(agent_success=[[int(s) for s in r["agent_success"]] for r in recs],
                                       collided=[int(r["collided"]) for r in recs])
    return {"scenarios": scenarios}


def _diag_cell(grid: Grid, cell: Cell, p: dict[str, Path], provider) -> dict[str, Any]:
    """Every scenario of the grid with diagnostics; keeps per-episode attention ratios and intervention outcomes."""
    from ..evaluation.evaluator import evaluate
    from ..evaluation.probes import INTERVENTION_FIELDS, attention_regions

    assert grid.diagnostics is not None
    agent = p["runs"] / f"{cell.arch}__seed{cell.seed}" / "best.pt"
    out = p["diag"] / f"{cell.arch}__seed{cell.seed}"
    result = evaluate(str(agent), grid.task, grid.scenarios, grid.diagnostics["episodes"], seed=grid.eval_seed,
                      workers=1, out=out, progress=False, diagnostics=provider, **grid.team)
    assert result.diagnostics is not None
    checks = result.diagnostics["checks"]
    regions = attention_regions(grid.num_drones is not None)
    scenarios = {}
    for scenario in grid.scenarios:
        recs = [r for r in result.records if r["scenario"] == scenario]
        attention = {m: {region: [r["attention"][m][region]["mean"] if m in r.get("attention", {}) else None
                                  for r in recs] for region in regions} for m in checks["methods"]}
        scenarios[scenario] = {"success": [int(r["success"]) for r in recs], "attention": attention}
    interventions: dict[str, dict[str, Any]] = {}
    for unit in result.diagnostics["units"]:
        interventions.setdefault(unit["scenario"], {})[unit["kind"]] = {
            key: [r.get(key) for r in unit["records"]] for key in INTERVENTION_FIELDS}
    sanity = {m: s["full_randomisation_spearman"] for m, s in checks["sanity"].items()}
    return {"settings": grid.diagnostics, "provider": provider.to_dict(),
            "checks": {"methods": checks["methods"], "failed_sanity": checks["failed_sanity"],
                       "full_randomisation_spearman": sanity, "note": checks.get("note", "")},
            "scenarios": scenarios, "interventions": interventions}
