"""A run's metrics: ``metrics.jsonl`` (one JSON object per row) plus TensorBoard scalars."""

from __future__ import annotations

import json
import math
from pathlib import Path


class MetricsLog:
    """``metrics.jsonl`` plus TensorBoard scalars (when tensorboard is installed).

    Args:
        folder: the run folder.
        keep_rows: on resumption, the rows written up to the checkpoint; later rows (written by the
            interrupted process after its last checkpoint) are dropped, and so are TensorBoard events
            after ``purge_step``.
    """

    def __init__(self, folder: Path, keep_rows: int | None = None, purge_step: int | None = None) -> None:
        self.path = folder / "metrics.jsonl"
        lines = self.path.read_text().splitlines(keepends=True) if self.path.is_file() else []
        if keep_rows is not None and len(lines) > keep_rows:
            lines = lines[:keep_rows]
            self.path.write_text("".join(lines))
        self.rows = len(lines)
        self.tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(folder / "tb"), purge_step=purge_step)
        except ImportError:  # pragma: no cover - the dev extra installs tensorboard
            pass

    def log(self, step: int, values: dict[str, float]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, **values}) + "\n")
        self.rows += 1
        if self.tb is not None:
            for k, v in values.items():
                if isinstance(v, int | float) and math.isfinite(v):
                    self.tb.add_scalar(k, v, step)
            self.tb.flush()

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
