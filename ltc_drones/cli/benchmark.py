"""``ltc-drones benchmark``: architectures x training seeds x scenarios at severity levels."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import checks
from .command import Command, usage_checks


@dataclass(frozen=True)
class BenchmarkOptions:
    """Run a benchmark grid (benchmarks/<name>.yaml): demonstrations, one training run per architecture and
    seed (behaviour cloning + DAgger, or PPO with `train: {algo: ppo}`), and evaluation shards, as independent
    cells run by a local process pool or by Ray; then write summary.csv, table.md and plots to
    results/<grid>/. Resumable cell by cell: run the same command again."""

    grid: Path
    """Grid file, e.g. benchmarks/fly-to-target-rgb.yaml."""
    executor: Literal["process", "ray"] = "process"
    """Where cells run: a local pool of processes, or Ray tasks (extra [ray])."""
    workers: int = 2
    """Cells run at once (one CPU each)."""
    ray_address: str | None = None
    """An existing Ray cluster (e.g. ray://head:10001); default: a local Ray instance with --workers CPUs."""
    results: Path | None = None
    """Results folder (default: results/<grid name>)."""
    work: Path | None = None
    """Folder for demonstrations, runs and evaluation records (default: runs/benchmarks/<grid name>)."""
    archs: str = ""
    """Comma-separated subset of the grid's architectures to run now (default: all)."""
    seeds: str = ""
    """Comma-separated subset of the grid's training seeds to run now (default: all)."""
    analyse_only: bool = False
    """Only rewrite the summary, tables and plots from the finished cells."""
    diagnostics: bool = False
    """Also run the diagnostics cells (one per agent: every scenario again with attention on the target, sanity
    checks and causal interventions), as if the grid said `diagnostics: true`; a grid's own diagnostics settings
    are kept. The evaluation cells are not touched, so this can follow a finished benchmark."""


def _subset(option: str, text: str, valid, cast=str) -> set | None:
    if not text:
        return None
    chosen = {cast(v.strip()) for v in text.split(",") if v.strip()}
    unknown = sorted(map(str, chosen - set(valid)))
    if unknown:
        raise ValueError(f"{option}: {', '.join(unknown)} not in the grid (it has {', '.join(map(str, valid))})")
    return chosen


def run(o: BenchmarkOptions) -> int:
    from ..benchmark.grid import DIAGNOSTICS_EPISODES, load_grid
    from ..benchmark.run import run_benchmark
    from ..diagnostics.closed_loop import ClosedLoopDiagnostics

    checks.at_least("--workers", o.workers, 1)
    checks.existing("--grid", o.grid, "file")
    with usage_checks():
        grid = load_grid(o.grid)  # every entry validated before anything trains
        if o.diagnostics and grid.diagnostics is None:
            grid = dataclasses.replace(grid, diagnostics={"episodes": DIAGNOSTICS_EPISODES})
        if grid.diagnostics is not None:
            ClosedLoopDiagnostics(**grid.provider_settings)  # invalid settings are refused before anything runs
        archs = _subset("--archs", o.archs, grid.archs)
        seeds = _subset("--seeds", o.seeds, grid.seeds, int)
        if o.executor == "ray":
            try:
                import ray  # noqa: F401
            except ImportError as exc:
                raise ValueError("--executor ray needs Ray: pip install 'ltc_drones[ray]'") from exc
    results = o.results or Path("results") / grid.name
    checks.writable_folder("--results", results)
    if o.analyse_only:
        from ..benchmark.analysis import write_analysis

        write_analysis(grid, results)
        print(f"rewrote the summary, tables and plots in {results}")
        return 0

    def only(cell) -> bool:
        return (archs is None or not cell.arch or cell.arch in archs) and (seeds is None or cell.seed in seeds)

    summary = run_benchmark(grid, results, o.work, executor=o.executor, workers=o.workers,
                            ray_address=o.ray_address, only=only,
                            diagnostics=ClosedLoopDiagnostics if grid.diagnostics is not None else None)
    print(f"benchmark {grid.name}: {summary['done']}/{summary['cells']} cells done; results in {results} "
          f"(table.md, summary.csv, plots)")
    return 0


COMMAND = Command(BenchmarkOptions, run)
