"""Atomic file writes: write a temp file beside the target, then ``os.replace`` it into place.

Readers never see half a file, and a process killed mid-write leaves only a temp file
(``.<name>.<random><suffix>``) behind, never a truncated result. Standard library only, so every
subpackage (``models`` included) may use it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomic(path: str | os.PathLike, writer: Callable[[str], None], suffix: str = ".tmp") -> Path:
    """Call ``writer(temp_path)``, then move the temp file to ``path`` (mode 0644).

    ``suffix`` is the temp file's ending (writers that infer a format from it need the real one).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, data: dict[str, Any]) -> Path:
    def _w(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)

    return write_atomic(path, _w)
