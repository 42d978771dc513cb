"""Executors of benchmark cells: a local pool of spawned processes, or Ray tasks (local or on a cluster).

An executor has ``capacity``, ``submit(fn, *args)``, ``wait_any(handles)``, ``result(handle)`` and ``close()``;
:func:`make_executor` builds one by name (:data:`EXECUTORS`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait

from .cells import BenchmarkError, run_cell

EXECUTORS = ("process", "ray")


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
    """The executor ``name`` (:data:`EXECUTORS`) with ``workers`` slots (Ray: on the cluster at ``ray_address``)."""
    if name == "process":
        return ProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, ray_address)
    raise ValueError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")
