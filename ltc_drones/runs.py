"""The run folder's lifecycle, shared by the imitation and PPO runners.

A run lives in ``<out>/<what>__<arch>__<algo>__<seed>__<time>/``: its resolved configs (``config.json``, and
``ppo.json`` for PPO) are written first, then checkpoints (``last.pt``, ``best.pt``) as it trains. A run that
fails before its first ``last.pt`` leaves nothing behind (a folder that existed before loses only what the run
wrote into it); after that the folder stays, to be resumed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .atomic import write_json_atomic

LAST = "last.pt"
"""The checkpoint a run resumes from."""
T = TypeVar("T")


def folder_name(what: str, arch: str, algo: str, seed: int) -> str:
    """``<what>__<arch>__<algo>__<seed>__<YYYYmmdd-HHMMSS>`` (``what``: the task, or the env id for PPO)."""
    return f"{what}__{arch}__{algo}__{seed}__{time.strftime('%Y%m%d-%H%M%S')}"


def fresh_folder(out: str | Path, name: str) -> Path:
    """A new folder ``out/name`` (``name-1``, ``name-2``, ... when taken, even by a run started the same second)."""
    base = Path(out) / name
    Path(out).mkdir(parents=True, exist_ok=True)
    folder, k = base, 0
    while True:
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            k += 1
            folder = base.with_name(f"{base.name}-{k}")


def start_run_in(folder: Path | None, out: str | Path, name: str, configs: dict[str, dict[str, Any]],
                 train: Callable[[Path], T]) -> T:
    """Write ``configs`` (file name -> JSON data) into a run folder, then return ``train(folder)``.

    Args:
        folder: the run folder, or None for a fresh one named ``name`` under ``out``.
        train: trains in the folder (and releases what it holds, e.g. log files, before returning or raising).

    Raises:
        FileExistsError: ``folder`` already holds a run (resume it instead).
    """
    created = folder is None or not Path(folder).exists()
    folder = fresh_folder(out, name) if folder is None else Path(folder)
    if (folder / LAST).exists():
        raise FileExistsError(f"{folder} already holds a run; resume it with --resume {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.iterdir())
    try:
        for file_name, data in configs.items():
            write_json_atomic(folder / file_name, data)
        return train(folder)
    except BaseException:
        if not (folder / LAST).exists():
            _remove_unfinished(folder, created, before)
        raise


def _remove_unfinished(folder: Path, created: bool, before: set[Path]) -> None:
    if created:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for path in set(folder.iterdir()) - before:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
