"""Drone-steps per second of the vectorised explicit backend beside the PyBullet env, in the same run.

Usage: python scripts/bench_vector.py [--task fly-to-target] [--drones 1 64 1024] [--actions random|zero]
                                      [--repeats 3] [--seconds 2.0]

For each drone count N, a ``make_vector(task, num_envs=N, obs="kin", act="vel")`` env is stepped with
pre-drawn random (or zero) actions, episodes autoresetting as they end; beside it the single-drone
PyBullet env (``make_env(task, obs="kin", act="vel")``) runs the same kind of loop, resets included.
Each measurement runs for about ``--seconds``; the measurements are interleaved and repeated, and the
median of each is printed with its ratio to the PyBullet loop, so a busy machine slows both alike.
One process, one thread (BLAS threads pinned to 1 before numpy loads).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402 - after pinning the thread counts
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from ltc_drones.envs import make_env  # noqa: E402
from ltc_drones.envs.vector import make_vector  # noqa: E402

GOAL_DRONE_STEPS = 100_000
AIM_DRONE_STEPS = 300_000
"""DESIGN.md §7: the vectorised backend at 1,024 drones, kin/vel, one core."""


def _actions(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    if kind == "zero":
        return np.zeros(shape, dtype=np.float32)
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def bench_pybullet(task: str, seconds: float, kind: str, seed: int = 0) -> float:
    """Env steps per second of the single-drone PyBullet env, resets included."""
    env = make_env(task, obs="kin", act="vel")
    env.reset(seed=seed)
    blocks = _actions(np.random.default_rng(seed), kind, (16, 256, 4))
    steps, t0 = 0, time.perf_counter()
    while True:
        for a in blocks[(steps // 256) % len(blocks)]:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
        steps += 256
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    env.close()
    return steps / elapsed


def bench_vector(task: str, num_envs: int, seconds: float, kind: str, seed: int = 0) -> float:
    """Drone-steps per second of the vector env with ``num_envs`` drones, autoresets included."""
    env = make_vector(task, num_envs=num_envs, obs="kin", act="vel", seed=seed)
    env.reset()
    block = _actions(np.random.default_rng(seed), kind, (16, num_envs, 4))
    steps, t0 = 0, time.perf_counter()
    while True:
        for a in block:
            env.step(a)
        steps += len(block)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    env.close()
    return steps * num_envs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="fly-to-target")
    parser.add_argument("--drones", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--actions", choices=("random", "zero"), default="random")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each measurement (s)")
    args = parser.parse_args()
    results: dict[str, list[float]] = {"pybullet": []}
    results.update({f"vector {n}": [] for n in args.drones})
    for r in range(args.repeats):
        results["pybullet"].append(bench_pybullet(args.task, args.seconds, args.actions, seed=r))
        for n in args.drones:
            results[f"vector {n}"].append(bench_vector(args.task, n, args.seconds, args.actions, seed=r))
    ref = statistics.median(results["pybullet"])
    print(f"{args.task}, kin/vel, {args.actions} actions, 240/30 Hz, resets included; median of {args.repeats} "
          f"runs of {args.seconds:g} s each, one thread")
    print(f"{'backend':<22}{'drones':>7}{'drone-steps/s':>16}{'ms per step':>13}{'x PyBullet':>12}")
    print(f"{'PyBullet env':<22}{1:>7}{ref:>16,.0f}{1e3 / ref:>13.3f}{1.0:>12.2f}")
    for n in args.drones:
        rate = statistics.median(results[f"vector {n}"])
        print(f"{'vector (explicit)':<22}{n:>7}{rate:>16,.0f}{1e3 * n / rate:>13.3f}{rate / ref:>12.1f}")
    if 1024 in args.drones:
        rate = statistics.median(results["vector 1024"])
        verdict = ("meets the aim" if rate >= AIM_DRONE_STEPS else
                   "meets the goal" if rate >= GOAL_DRONE_STEPS else "BELOW the goal")
        print(f"1,024 drones: {rate:,.0f} drone-steps/s, {verdict} "
              f"(goal {GOAL_DRONE_STEPS:,}, aim {AIM_DRONE_STEPS:,})")


if __name__ == "__main__":
    main()
