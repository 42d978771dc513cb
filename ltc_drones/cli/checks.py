"""Checks of a command line's values that run before any flying or training; each raises :class:`UsageError`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .command import UsageError

VIDEO_SUFFIXES = (".mp4", ".gif")


def at_least(option: str, value: int, minimum: int) -> None:
    """``value`` of ``option`` (e.g. ``--episodes``) is at least ``minimum``."""
    if value < minimum:
        raise UsageError(f"{option} must be at least {minimum}, got {value}")


def existing(option: str, path: str | os.PathLike, kind: str = "file or folder") -> Path:
    """``path`` exists (as a ``"file"``, a ``"folder"`` or either); returns it."""
    p = Path(path)
    ok = {"file": p.is_file, "folder": p.is_dir}.get(kind, p.exists)()
    if not ok:
        found = "a folder" if p.is_dir() else "a file" if p.exists() else "nothing"
        raise UsageError(f"{option} {p}: expected a {kind}, found {found} there")
    return p


def writable_folder(option: str, folder: str | os.PathLike) -> Path:
    """``folder`` is, or can be created as, a folder this process can write into (nothing is left behind)."""
    target = Path(folder)
    probe = target
    while not probe.exists():  # the nearest existing ancestor; the folder itself is created later, by the work
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{option} {target}: {probe} is a file, not a folder; choose another {option}")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {target}: cannot write into {probe} ({exc.strerror or exc}); "
                         f"choose another {option}") from exc
    return target


def video_path(option: str, path: str | os.PathLike) -> Path:
    """``path`` ends in a video suffix we write (``.mp4``, ``.gif``) and its folder is writable."""
    p = Path(path)
    if p.suffix not in VIDEO_SUFFIXES:
        raise UsageError(f"{option} {p}: videos are written as {' or '.join(VIDEO_SUFFIXES)}; "
                         f"give a path ending in one of them")
    writable_folder(option, p.parent)
    return p
