"""Worker pools: spawned processes, one torch thread each, the caller's initializer run."""

from __future__ import annotations

import pytest

from ltc_drones.parallel import process_pool

_PARENT_MARKS: list[str] = []  # filled in the parent at run time: a forked child would inherit it
_INIT_ARGS: list[str] = []


def _extra_init(value: str) -> None:
    _INIT_ARGS.append(value)


def _probe() -> tuple[list[str], int, list[str]]:
    import torch

    return list(_PARENT_MARKS), torch.get_num_threads(), list(_INIT_ARGS)


def test_pool_workers_are_spawned_with_one_torch_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a fresh worker's torch would start with 3 threads
    _PARENT_MARKS.append("parent state")
    try:
        with process_pool(1, initializer=_extra_init, initargs=("ran",)) as pool:
            marks, threads, init_args = pool.submit(_probe).result(timeout=120)
    finally:
        _PARENT_MARKS.clear()
    assert marks == []  # the worker re-imported this module instead of inheriting the parent's memory
    assert threads == 1
    assert init_args == ["ran"]


def test_pool_rejects_bad_arguments():
    with pytest.raises(ValueError, match="workers"):
        process_pool(0)
    with pytest.raises(ValueError, match="spawn"):
        process_pool(1, mp_context=None)
