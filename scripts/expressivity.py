"""Trajectory length (LTC paper, after Raghu et al. 2017) of every core against width, LTC solver unfolds
and weight scale: results/expressivity.png and results/expressivity.csv.

Usage: python scripts/expressivity.py [--seeds 0 1 2] [--widths 8 16 32 64 128] [--unfolds 1 2 3 4 6 8 12 16]
       [--scales 0.25 0.5 1 2 4] [--steps 100] [--amplitude 1.0] [--out results/expressivity]

Each point is the median (band: smallest to largest) over ``--seeds`` freshly initialised cores
(seeded) of the length of their 4-D output over one revolution of a 2-D input circle of radius
``--amplitude`` fed over ``--steps`` control steps of 1/30 s, after one warm-up revolution (see
``ltc_drones.diagnostics.expressivity``).
The default run takes well under a minute on one core.
"""

from __future__ import annotations

import argparse
import csv
import io
import shlex
import sys
import time
from pathlib import Path

import torch

from ltc_drones.atomic import write_atomic
from ltc_drones.diagnostics.expressivity import aggregate, plot_expressivity, scale_sweep, unfolds_sweep, width_sweep
from ltc_drones.models import CORE_NAMES

UNFOLD_VARIANTS = [("ltc-ncp", "semi_implicit", 19), ("ltc-ncp", "euler", 19), ("ltc", "semi_implicit", 32),
                   ("ltc", "euler", 32), ("ltc", "rk4", 32)]
COLUMNS = ["sweep", "core", "width", "unfolds", "solver", "weight_scale", "seed", "state_size", "amplitude",
           "length_full", "length_pca2"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--widths", nargs="*", type=int, default=[8, 16, 32, 64, 128])
    parser.add_argument("--unfolds", nargs="*", type=int, default=[1, 2, 3, 4, 6, 8, 12, 16])
    parser.add_argument("--scales", nargs="*", type=float, default=[0.25, 0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--steps", type=int, default=100, help="control steps per revolution of the input circle")
    parser.add_argument("--amplitude", type=float, default=1.0)
    parser.add_argument("--cores", nargs="*", default=list(CORE_NAMES))
    parser.add_argument("--out", default="results/expressivity", help="writes OUT.png and OUT.csv")
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = "python scripts/expressivity.py" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:])
    kw = {"amplitude": args.amplitude, "steps": args.steps}
    t0 = time.perf_counter()
    widths = width_sweep(args.cores, args.widths, args.seeds, **kw)
    unfolds = unfolds_sweep(UNFOLD_VARIANTS, args.unfolds, args.seeds, **kw)
    scales = scale_sweep(args.cores, args.scales, args.seeds, **kw)
    seconds = time.perf_counter() - t0
    caption = f"{command}   ({len(args.seeds)} seeds; {seconds:.0f} s)"

    buf = io.StringIO()
    buf.write(f"# {command}\n")
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for sweep, rows in (("width", widths), ("unfolds", unfolds), ("weight_scale", scales)):
        for r in rows:
            writer.writerow({**r, "sweep": sweep, "length_full": f"{r['length_full']:.6g}",
                             "length_pca2": f"{r['length_pca2']:.6g}"})
    csv_path = write_atomic(f"{args.out}.csv", lambda tmp: Path(tmp).write_text(buf.getvalue()), suffix=".csv")
    panels = [{"rows": widths, "by": ("core", "width"), "title": "against width (4 outputs)"},
              {"rows": unfolds, "by": ("core", "solver", "width", "unfolds"),
               "title": "against LTC solver unfolds (missing: diverged)", "yscale": "linear"},
              {"rows": scales, "by": ("core", "weight_scale"), "title": "against weight-matrix scale (width 32)"}]
    plot_expressivity(panels, f"{args.out}.png", caption)

    print(f"median length {'core':10s} " + " ".join(f"w={w:<6d}" for w in args.widths))
    agg = {(a["core"], a["width"]): a for a in aggregate(widths, ("core", "width"))}
    for core in args.cores:
        print(f"{'':14s}{core:10s} " + " ".join(f"{agg[(core, w)]['median']:<8.3f}" for w in args.widths))
    for a in aggregate(unfolds, ("core", "solver", "unfolds")):
        if a["diverged"]:
            runs = a["n"] + a["diverged"]
            print(f"diverged: {a['core']} {a['solver']} unfolds={a['unfolds']} ({a['diverged']} of {runs} seeds)")
    print(f"wrote {csv_path} and {args.out}.png in {seconds:.0f} s: {command}")


if __name__ == "__main__":
    main()
