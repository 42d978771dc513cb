"""Worker process pools that behave the same on every machine.

Workers are started with the ``spawn`` method: a forked child would inherit the parent's PyBullet
connections, OpenMP thread pool and locks held by other threads (a known source of hangs), and
Python 3.14 stops forking by default. Each worker runs one torch thread, so ``workers`` processes use
``workers`` cores on a shared machine instead of ``workers x cores`` threads competing for them.
Tasks and initializers must be picklable (module-level functions), as spawn requires.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

START_METHOD = "spawn"


def _init_worker(extra: Callable[..., Any] | None, extra_args: Sequence[Any]) -> None:
    """Runs first in every worker: one torch thread, then the caller's own initializer."""
    import torch

    torch.set_num_threads(1)
    if extra is not None:
        extra(*extra_args)


def process_pool(workers: int, initializer: Callable[..., Any] | None = None, initargs: Sequence[Any] = (),
                 **kw: Any) -> ProcessPoolExecutor:
    """A :class:`~concurrent.futures.ProcessPoolExecutor` of ``workers`` spawned processes, one torch thread each.

    Args:
        workers: number of worker processes (>= 1).
        initializer: optional module-level function run in each worker after the thread setting.
        initargs: arguments of ``initializer``.
        **kw: further :class:`ProcessPoolExecutor` arguments (for example ``max_tasks_per_child``).

    Raises:
        ValueError: ``workers`` < 1, or ``kw`` names ``mp_context`` (the start method is fixed here).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if "mp_context" in kw:
        raise ValueError("process_pool fixes the start method to spawn; do not pass mp_context")
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(START_METHOD),
                               initializer=_init_worker, initargs=(initializer, tuple(initargs)), **kw)
