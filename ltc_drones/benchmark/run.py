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
checks, interventions; see :mod:`ltc_drones.evaluation.probes`). The benchmark package does not import
the diagnostics package, so the caller hands in the provider's factory
(``ltc_drones.diagnostics.ClosedLoopDiagnostics``; the CLI does). The settings of finished diagnostics cells
are kept in ``diagnostics.json`` and a run with other settings is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..atomic import write_json_atomic
from .cells import BenchmarkError, run_cell
from .executors import EXECUTORS, make_executor
from .grid import Cell, Grid


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
