"""Draw a built wiring to a PNG: neurons in columns by layer, synapses coloured by polarity, optionally
with the most active synapses highlighted."""

from __future__ import annotations

import os

import numpy as np

from ltc_drones.atomic import write_atomic
from ltc_drones.models.wiring import WiringGraph

EXCITATORY_COLOR = "tab:green"
INHIBITORY_COLOR = "tab:red"


def _top_synapses(activity: tuple[np.ndarray, np.ndarray], k: int) -> set[tuple[str, int, int]]:
    """The ``k`` synapses of largest activity, as ``("s" | "n", source, target)``."""
    sens, rec = (np.asarray(a, dtype=float) for a in activity)
    items = [(sens[i, j], "s", int(i), int(j)) for i, j in zip(*np.nonzero(sens), strict=True)]
    items += [(rec[i, j], "n", int(i), int(j)) for i, j in zip(*np.nonzero(rec), strict=True)]
    items.sort(key=lambda t: -t[0])
    return {(kind, i, j) for _, kind, i, j in items[:k]}


def draw_wiring(graph: WiringGraph, path: str | os.PathLike[str], title: str | None = None,
                activity: tuple[np.ndarray, np.ndarray] | None = None, highlight: int = 0) -> None:
    """Save a drawing of ``graph`` to ``path`` (PNG).

    Columns from left to right: sensory inputs, then each layer of ``graph.layers``. Green arrows are
    excitatory synapses (+1), red ones inhibitory (-1); recurrent synapses inside a layer are drawn
    as arcs.

    Args:
        graph: the wiring.
        path: the PNG file (written atomically).
        title: optional title.
        activity: optional ``(sensory [input_dim, units], recurrent [units, units])`` non-negative activity
            per synapse (e.g. :func:`ltc_drones.diagnostics.dynamics.synapse_activity`).
        highlight: with ``activity``, draw this many most active synapses thick and opaque (width growing
            with activity) and fade the others.

    Raises:
        ImportError: matplotlib is missing (install the ``plots`` extra: ``pip install .[plots]``).
        ValueError: ``activity`` does not match the graph's shapes.
    """
    top: set[tuple[str, int, int]] = set()
    peak = 1.0
    if activity is not None:
        shapes = (graph.sensory_adjacency.shape, graph.adjacency.shape)
        if tuple(np.shape(a) for a in activity) != shapes:
            raise ValueError(f"activity must be (sensory {shapes[0]}, recurrent {shapes[1]}) arrays, got shapes "
                             f"{[np.shape(a) for a in activity]}")
        top = _top_synapses(activity, highlight)
        peak = max(float(np.max(activity[0], initial=0.0)), float(np.max(activity[1], initial=0.0))) or 1.0
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("draw_wiring needs matplotlib: pip install 'ltc_drones[plots]'") from exc

    columns: list[list[tuple[str, int]]] = [[("s", i) for i in range(graph.input_dim)]]
    columns += [[("n", i) for i in layer] for layer in graph.layers]
    pos: dict[tuple[str, int], tuple[float, float]] = {}
    for cx, col in enumerate(columns):
        ys = np.linspace(1.0, 0.0, len(col)) if len(col) > 1 else np.array([0.5])
        for node, y in zip(col, ys, strict=True):
            pos[node] = (float(cx), float(y))

    fig, ax = plt.subplots(figsize=(2.2 * len(columns) + 1, 6))
    for mat, kind in ((graph.sensory_adjacency, "s"), (graph.adjacency, "n")):
        for src, dst in zip(*np.nonzero(mat), strict=True):
            color = EXCITATORY_COLOR if mat[src, dst] > 0 else INHIBITORY_COLOR
            (x0, y0), (x1, y1) = pos[(kind, int(src))], pos[("n", int(dst))]
            rad = 0.3 if x0 == x1 else 0.0
            alpha, lw = 0.5, 0.8
            if activity is not None:
                a = float(activity[0 if kind == "s" else 1][src, dst]) / peak
                alpha, lw = (0.95, 1.2 + 3.0 * a) if (kind, int(src), int(dst)) in top else (0.12, 0.6)
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops={"arrowstyle": "->", "color": color, "alpha": alpha, "lw": lw,
                                    "connectionstyle": f"arc3,rad={rad}"})
    names = ["sensory"] + (["inter", "command", "motor"] if len(graph.layers) == 3
                           else [f"layer {i}" for i in range(len(graph.layers))])
    motor = set(graph.motor_neurons)
    for node, (x, y) in pos.items():
        face = "lightgray" if node[0] == "s" else ("gold" if node[1] in motor else "lightblue")
        ax.scatter([x], [y], s=220, c=face, edgecolors="black", zorder=3)
        ax.text(x, y, str(node[1]), ha="center", va="center", fontsize=7, zorder=4)
    for cx, name in enumerate(names):
        ax.text(cx, 1.07, name, ha="center", fontsize=10)
    ax.plot([], [], color=EXCITATORY_COLOR, label="excitatory")
    ax.plot([], [], color=INHIBITORY_COLOR, label="inhibitory")
    if top:
        ax.plot([], [], color="black", lw=3, label=f"thick: the {len(top)} most active")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=3, fontsize=8)
    ax.set_axis_off()
    ax.set_ylim(-0.08, 1.12)
    if title:
        ax.set_title(title)
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png",
                                               metadata={"Software": None}), suffix=".png")
    plt.close(fig)
