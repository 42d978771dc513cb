"""The architecture benchmark: run a grid's cells with a local process pool or on Ray, resumably.

``run_benchmark(grid, executor="process", workers=2)`` runs every cell of a :class:`~.grid.Grid` whose
record is not yet in ``results/<grid>/cells/`` (cells run in dependency order: data, then training,
then evaluation shards), then aggregates everything into ``summary.csv``, ``table.md`` and plots
(:mod:`.analysis`). A cell's record depends only on the grid and the cell, never on the executor or the
order cells ran in, so both executors give identical outputs. Interrupt it at any time: finished
cells are kept, a half-trained run resumes from its last checkpoint, a half-evaluated shard resumes
episode by episode.

Executors: ``process`` (a pool of spawned worker processes, one torch thread each) or ``ray`` (each
cell a Ray task on a local instance, or on an existing cluster given by ``ray_address``; a task whose
worker dies is retried, and a lost worker loses no finished cell because records are files). Ray is
an optional extra: ``pip install 'ltc_drones[ray]'``.

Diagnostics (a grid's ``diagnostics`` key): one more cell per agent, ``diag__<arch>__seed<s>``, which
evaluates the agent again in every scenario with a diagnostics provider (attention on the target, sanity
checks, interventions; see :mod:`.probes`). The evaluation package does not import the diagnostics
package, so the caller hands in the provider's factory (``ltc_drones.diagnostics.ClosedLoopDiagnostics``;
the CLI does). The settings of finished diagnostics cells are kept in ``diagnostics.json`` and a run with
other settings is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path
from typing import Any

from ..atomic import write_json_atomic
from .grid import Cell, Grid, grid_from_dict, train_config_kwargs

EXECUTORS = ("process", "ray")


class BenchmarkError(RuntimeError):
    """One or more cells failed (the others are kept; run again to retry)."""


# ---- cells ------------------------------------------------------------------------------------------------
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


def trainable_parameters(policy) -> int:
    """Trainable scalars of a policy; synapses masked out by an NCP wiring are not counted."""
    core = policy.core
    rest = sum(p.numel() for name, p in policy.named_parameters() if p.requires_grad and not name.startswith("core."))
    return rest + core.num_parameters(trainable_only=True)


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
    from .evaluator import evaluate

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
    from .evaluator import evaluate
    from .probes import INTERVENTION_FIELDS, attention_regions

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


# ---- executors --------------------------------------------------------------------------------------------
class ProcessExecutor:
    """Cells in a local pool of spawned processes."""

    def __init__(self, workers: int) -> None:
        from ..parallel import process_pool

        self.pool = process_pool(workers)
        self.capacity = workers

    def submit(self, fn: Callable, *args):
        return self.pool.submit(fn, *args)

    def wait_any(self, handles: list) -> list:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        return list(done)

    @staticmethod
    def result(handle):
        return handle.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Cells as Ray tasks (one CPU each; retried when their worker dies)."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise BenchmarkError("the ray executor needs Ray: pip install 'ltc_drones[ray]'") from exc
        self.ray = ray
        self._own = not ray.is_initialized()
        if self._own:
            kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
            ray.init(ignore_reinit_error=True, log_to_driver=False, **kwargs)
        self.capacity = workers if not address else int(ray.cluster_resources().get("CPU", workers))
        self._remote = ray.remote(num_cpus=1, max_retries=2)(run_cell)

    def submit(self, fn: Callable, *args):
        return self._remote.remote(*args)

    def wait_any(self, handles: list) -> list:
        done, _ = self.ray.wait(handles, num_returns=1)
        return done

    def result(self, handle):
        return self.ray.get(handle)

    def close(self) -> None:
        if self._own:
            self.ray.shutdown()


def make_executor(name: str, workers: int, ray_address: str | None = None):
    if name == "process":
        return ProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, ray_address)
    raise ValueError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")


# ---- the run ----------------------------------------------------------------------------------------------
def cell_done(results: Path, cell: Cell) -> bool:
    return (results / "cells" / f"{cell.id}.json").is_file()


def artefact_present(work: Path, cell: Cell) -> bool:
    """Whether what later cells read from a finished cell is still in the work folder (demonstrations of a data
    cell, the checkpoint of a train cell). The work folder is not committed, so on a new machine a finished
    cell's record may be there without it."""
    if cell.kind == "data":
        return (work / "data" / f"seed{cell.seed}" / "manifest.json").is_file()
    if cell.kind == "train":
        return (work / "runs" / f"{cell.arch}__seed{cell.seed}" / "best.pt").is_file()
    return True


def _redo_missing_artefacts(cells: dict[str, Cell], todo: list[Cell], finished: set[str], work: Path) -> None:
    """Run again (in place: ``todo`` grows, ``finished`` shrinks) every finished data or train cell that a cell
    still to run needs but whose artefact is gone; cells are deterministic, so their records come out the same."""
    stack = list(todo)
    while stack:
        for need in stack.pop().needs:
            cell = cells[need]
            if need in finished and not artefact_present(work, cell):
                finished.discard(need)
                todo.insert(0, cell)
                stack.append(cell)


def run_benchmark(grid: Grid, results: str | Path | None = None, work: str | Path | None = None,
                  executor: str = "process", workers: int = 2, ray_address: str | None = None,
                  progress: bool = True, only: Callable[[Cell], bool] | None = None,
                  analyse: bool = True, diagnostics: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Run the grid's unfinished cells, then aggregate; returns counts of cells run, done and failed.

    Args:
        grid: the validated grid.
        results: output folder (default ``results/<grid.name>``).
        work: folder for demonstrations, training runs and evaluation records (default
            ``runs/benchmarks/<grid.name>``; not committed).
        executor: ``process`` or ``ray``.
        workers: parallel cells.
        ray_address: an existing Ray cluster (``ray`` executor only).
        only: run only the cells for which this returns True (their dependencies are run as needed).
        analyse: write the summary, tables and plots from the finished cells at the end.
        diagnostics: for a grid with diagnostics, the provider factory, called with the grid's diagnostics
            settings in every diagnostics cell (``ltc_drones.diagnostics.ClosedLoopDiagnostics``).

    Raises:
        BenchmarkError: cells failed; the results folder holds another grid or other diagnostics settings;
            a grid with diagnostics and no factory.
        ValueError: invalid executor, workers or diagnostics settings; a factory for a grid without diagnostics.
    """
    from tqdm import tqdm

    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    results = Path(results or Path("results") / grid.name)
    work = Path(work or Path("runs") / "benchmarks" / grid.name)
    provider = _provider(grid, diagnostics)
    results.mkdir(parents=True, exist_ok=True)
    grid_file = results / "grid.json"
    if grid_file.is_file() and json.loads(grid_file.read_text()) != grid.identity():
        raise BenchmarkError(f"{results} holds results of another version of grid {grid.name!r}; "
                             "move them away or give another results folder")
    write_json_atomic(grid_file, grid.identity())
    if provider is not None:
        _check_diagnostics_settings(results, {"diagnostics": grid.diagnostics, "provider": provider.to_dict()})
    cells = {c.id: c for c in grid.cells()}
    wanted = set(cells)
    if only is not None:
        wanted = {c.id for c in cells.values() if only(c)}
        stack = list(wanted)
        while stack:
            for need in cells[stack.pop()].needs:
                if need not in wanted:
                    wanted.add(need)
                    stack.append(need)
    todo = [c for c in cells.values() if c.id in wanted and not cell_done(results, c)]
    finished = {c.id for c in cells.values() if cell_done(results, c)}
    _redo_missing_artefacts(cells, todo, finished, work)
    failed: dict[str, str] = {}
    bar = tqdm(total=len(wanted), initial=len(wanted) - len(todo), unit="cell", desc=f"benchmark {grid.name}",
               disable=not progress)
    ex = make_executor(executor, workers, ray_address) if todo else None
    running: dict[Any, Cell] = {}
    try:
        while todo or running:
            blocked = {c.id for c in todo if any(n in failed for n in c.needs)}
            for cid in blocked:
                failed[cid] = "a cell it needs failed"
            todo = [c for c in todo if c.id not in blocked]
            ready = [c for c in todo if all(n in finished for n in c.needs)]
            for c in ready[: max(0, ex.capacity - len(running))] if ex else []:
                args = (grid.to_dict(), c, str(results), str(work)) + ((diagnostics,) if provider is not None else ())
                running[ex.submit(run_cell, *args)] = c
                todo.remove(c)
            if not running:
                break
            for handle in ex.wait_any(list(running)):
                c = running.pop(handle)
                try:
                    ex.result(handle)
                    finished.add(c.id)
                except Exception as exc:  # a failed cell never stops the others
                    failed[c.id] = f"{type(exc).__name__}: {exc}"
                    tqdm.write(f"cell {c.id} failed: {failed[c.id]}")
                bar.update(1)
    finally:
        bar.close()
        if ex is not None:
            ex.close()
    if analyse:
        from .analysis import write_analysis

        write_analysis(grid, results)
    summary = {"grid": grid.name, "cells": len(cells), "done": len(finished & set(cells)), "failed": failed,
               "results": str(results)}
    if failed:
        raise BenchmarkError(f"{len(failed)} cell(s) failed ({', '.join(sorted(failed)[:5])}...); the others are "
                             f"kept in {results}; run the same command again to retry: {failed}")
    return summary


def _provider(grid: Grid, factory: Callable[..., Any] | None):
    """The grid's diagnostics provider, built once here so that invalid settings fail before anything runs."""
    if grid.diagnostics is None:
        if factory is not None:
            raise ValueError(f"a diagnostics provider was given but grid {grid.name!r} has diagnostics off; set "
                             "`diagnostics: true` in the grid (or pass --diagnostics to ltc-drones benchmark)")
        return None
    if factory is None:
        raise BenchmarkError(f"grid {grid.name!r} asks for diagnostics: pass diagnostics="
                             "ltc_drones.diagnostics.ClosedLoopDiagnostics (`ltc-drones benchmark` does)")
    try:
        return factory(**grid.provider_settings)
    except TypeError as exc:
        raise ValueError(f"grid {grid.name!r}: invalid diagnostics settings: {exc}") from exc


def _check_diagnostics_settings(results: Path, settings: dict[str, Any]) -> None:
    path = results / "diagnostics.json"
    if path.is_file() and json.loads(path.read_text()) != settings:
        raise BenchmarkError(f"{results} holds diagnostics cells made with other settings ({path}); use the same "
                             f"settings, or delete {path} and {results}/cells/diag__*.json to redo them")
    write_json_atomic(path, settings)
