"""The architecture benchmark: grids of architectures × training seeds × scenarios, run as resumable cells by a
local process pool or Ray, and analysed into tables and plots.

* :mod:`.grid`: the grid file (``benchmarks/*.yaml``), validated, and its cells;
* :mod:`.cells`: what one cell does (collect, train, evaluate a shard, diagnose) and its record;
* :mod:`.executors`: where cells run (``process`` or ``ray``);
* :mod:`.run`: :func:`run_benchmark`, resumable, then the analysis;
* :mod:`.results`, :mod:`.analysis`, :mod:`.diagnostics_analysis`, :mod:`.plots`: the results folder's summary,
  tables, paired differences, attention tables and figures.
"""

from .cells import BenchmarkError
from .grid import Grid, GridError, load_grid
from .run import run_benchmark

__all__ = ["BenchmarkError", "Grid", "GridError", "load_grid", "run_benchmark"]
