"""Success rate of each privileged expert over seeded episodes, nominal and under every shift.

Usage: python scripts/expert_success.py [--episodes 100] [--tasks hover fly-to-target ...] [--act vel]

Seeds 0..episodes-1; prints one row per task and scenario with successes, rate and 95 % Wilson interval.
"""

from __future__ import annotations

import argparse
import time

from tqdm import tqdm

from ltc_drones.control import make_expert
from ltc_drones.envs import ENV_IDS, available_scenarios, make_env
from ltc_drones.envs.rollout import run_episode
from ltc_drones.evaluation import wilson_interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--tasks", nargs="*", default=list(ENV_IDS))
    parser.add_argument("--scenarios", nargs="*", default=available_scenarios())
    parser.add_argument("--act", default="vel")
    args = parser.parse_args()
    rows = []
    t0 = time.perf_counter()
    for task in args.tasks:
        for scenario in args.scenarios:
            env = make_env(task, scenario=scenario, act=args.act)
            expert = make_expert(env)
            wins = sum(run_episode(env, expert, seed).success
                       for seed in tqdm(range(args.episodes), desc=f"{task}/{scenario}", leave=False))
            env.close()
            rows.append((task, scenario, wins, args.episodes))
    print(f"{'task':15s} {'scenario':16s} {'success':>9s} {'rate':>6s}  95% Wilson")
    for task, scenario, k, n in rows:
        lo, hi = wilson_interval(k, n)
        print(f"{task:15s} {scenario:16s} {k:4d}/{n:<4d} {k / n:6.2f}  [{lo:.2f}, {hi:.2f}]")
    print(f"{len(rows)} rows, {sum(r[3] for r in rows)} episodes in {time.perf_counter() - t0:.0f} s (act={args.act})")


if __name__ == "__main__":
    main()
