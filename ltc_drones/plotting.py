"""Figures: matplotlib without a display, written atomically and reproducibly (extras ``plots``, ``dev``).

matplotlib is an optional dependency; it is imported only when a figure is made.
"""

from __future__ import annotations

from pathlib import Path

from .atomic import write_atomic


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display).

    Raises:
        ImportError: matplotlib is missing; the message names the extra that installs it.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        raise ImportError("plots need matplotlib: pip install 'ltc_drones[plots]'") from exc
    return plt


def save_figure(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` as a PNG, atomically, with fixed metadata (the same figure gives the same file)."""
    return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png", metadata={"Software": None}),
                        suffix=".png")
