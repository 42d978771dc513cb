"""Team success of the multi-agent team expert, nominal and under the physical shifts, with the evaluator.

Usage: python scripts/expert_success_multi.py [--episodes 100] [--num-drones 4] [--levels 5] [--workers 1]
       [--tasks multi-follow multi-fly-to-target] [--scenarios ...] [--out results/expert_success_multi.txt]

Flies ``ltc_drones.evaluation.evaluate("expert", task, scenarios, episodes, num_drones=...)`` (the test seeds of
evaluation seed 0, the same episodes in every scenario) for the nominal scenario and every *physical* shift at
``--levels`` (image shifts change only what the cameras see, which a privileged expert never looks at). Prints
and writes one row per task and scenario: team successes with their 95 % Wilson interval, per-agent successes,
collision rate (episodes with a drone-drone collision) and crash rate (episodes with any crash). The target
is >= 95 % team success on 100 nominal episodes with 4 drones.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date
from pathlib import Path

import torch

from ltc_drones.atomic import write_atomic
from ltc_drones.envs.scenario import available_shifts
from ltc_drones.evaluation import evaluate
from ltc_drones.tasks import TEAM_TASKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--num-drones", type=int, default=4)
    parser.add_argument("--tasks", nargs="*", default=list(TEAM_TASKS))
    parser.add_argument("--levels", nargs="*", type=int, default=[5])
    parser.add_argument("--scenarios", nargs="*", default=None,
                        help="default: nominal and every physical shift at --levels")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("results/expert_success_multi.txt"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    scenarios = args.scenarios or ["nominal", *(f"{n}@{lv}" for n in available_shifts("physical")
                                                for lv in args.levels)]
    lines = [f"{'task':20s} {'scenario':18s} {'team success':>12s}  95% Wilson    {'agents':>9s} {'agent rate':>10s} "
             f"{'collision':>9s} {'crash':>6s}"]
    t0 = time.perf_counter()
    for task in args.tasks:
        result = evaluate("expert", task, scenarios, args.episodes, workers=args.workers, num_drones=args.num_drones)
        for scenario, s in result.summaries.items():
            lo, hi = s["success_ci95"]
            lines.append(f"{task:20s} {scenario:18s} {s['successes']:7d}/{s['episodes']:<4d}  [{lo:.2f}, {hi:.2f}]  "
                         f"{s['agent_successes']:4d}/{s['agent_episodes']:<4d} {s['agent_success_rate']:10.3f} "
                         f"{s['collision_rate']:9.2f} {s['crash_rate']:6.2f}")
    lines.append(f"{len(lines) - 1} rows, {args.episodes} team episodes each with {args.num_drones} drones, "
                 f"in {time.perf_counter() - t0:.0f} s")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    command = (f"# python scripts/expert_success_multi.py --episodes {args.episodes} --num-drones {args.num_drones} "
               f"--levels {' '.join(map(str, args.levels))}   ({date.today()}, {os.cpu_count()}-core "
               f"{platform.machine()}, act=vel, obs=kin; test seeds of evaluation seed 0)\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, lambda tmp: Path(tmp).write_text(command + text))


if __name__ == "__main__":
    main()
