"""A picture of the world: chase view beside the onboard camera, nominal and under context shifts.

Usage:
    python scripts/world_gallery.py --out results/world.png --seed 3 --scenarios nominal,season@5,scenery@5,fog@5
"""

from __future__ import annotations

import argparse

import imageio.v3 as iio
import numpy as np

from ltc_drones.envs import make_env
from ltc_drones.evaluation.video import side_by_side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/world.png")
    parser.add_argument("--task", default="fly-to-target")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--scenarios", default="nominal,season@5,scenery@5,fog@5")
    args = parser.parse_args()
    rows = []
    for scenario in args.scenarios.split(","):
        env = make_env(args.task, obs="rgb", render_mode="rgb_array", scenario=scenario)
        env.reset(seed=args.seed)
        onboard, _ = env.unwrapped.onboard_camera()
        rows.append(side_by_side(env.render(), onboard))
        env.close()
    iio.imwrite(args.out, np.concatenate(rows, 0))
    print(f"wrote {args.out} ({', '.join(args.scenarios.split(','))}, seed {args.seed})")


if __name__ == "__main__":
    main()
