"""Success rate of each privileged expert over seeded episodes, nominal and under every shift.

Usage: python scripts/expert_success.py [--episodes 100] [--levels 5] [--tasks hover ...] [--scenarios ...] [--act vel]

Seeds 0..episodes-1; by default the nominal scenario and every shift at level 5 (``--levels 1 3 5``
for more). Prints one row per task and scenario with the shift's kind (``physical`` shifts can
affect a privileged expert, which must then still succeed on >= 90 % of the episodes at level 5;
``image`` shifts change only what the camera sees, which a privileged expert never looks at),
successes, rate and 95 % Wilson interval.
"""

from __future__ import annotations

import argparse
import time

from tqdm import tqdm

from ltc_drones.envs.rollout import run_episode
from ltc_drones.envs.scenario import SHIFT_KINDS, available_shifts
from ltc_drones.evaluation import wilson_interval
from ltc_drones.tasks import SINGLE_TASKS, make_env, make_expert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--tasks", nargs="*", default=list(SINGLE_TASKS))
    parser.add_argument("--levels", nargs="*", type=int, default=[5])
    parser.add_argument("--scenarios", nargs="*", default=None, help="default: nominal and every shift at --levels")
    parser.add_argument("--act", default="vel")
    args = parser.parse_args()
    kinds = {name: kind for kind in SHIFT_KINDS for name in available_shifts(kind)}
    scenarios = args.scenarios or ["nominal", *(f"{n}@{lv}" for n in available_shifts() for lv in args.levels)]
    rows = []
    t0 = time.perf_counter()
    for task in args.tasks:
        for scenario in scenarios:
            env = make_env(task, scenario=scenario, act=args.act)
            expert = make_expert(env)
            wins = sum(run_episode(env, expert, seed).success
                       for seed in tqdm(range(args.episodes), desc=f"{task}/{scenario}", leave=False))
            env.close()
            rows.append((task, scenario, kinds.get(scenario.split("@")[0], "-"), wins, args.episodes))
    print(f"{'task':15s} {'scenario':18s} {'kind':9s} {'success':>9s} {'rate':>6s}  95% Wilson")
    for task, scenario, kind, k, n in rows:
        lo, hi = wilson_interval(k, n)
        print(f"{task:15s} {scenario:18s} {kind:9s} {k:4d}/{n:<4d} {k / n:6.2f}  [{lo:.2f}, {hi:.2f}]")
    print(f"{len(rows)} rows, {sum(r[4] for r in rows)} episodes in {time.perf_counter() - t0:.0f} s (act={args.act})")


if __name__ == "__main__":
    main()
