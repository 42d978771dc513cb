"""A side-by-side video of several agents flying the same episode (same scenario, same seed).

Usage:
    python scripts/compare_video.py --agents agents/fly-to-target__ltc-ncp__rgb,agents/fly-to-target__lstm__rgb \
        --scenario fog@5 --seed 7 --out videos/compare.mp4
    python scripts/compare_video.py --agents A,B,C --grid benchmarks/fly-to-target-rgb.yaml --out videos/compare.mp4

With ``--grid`` (and no ``--scenario``), the episode is chosen from the benchmark's finished evaluation cells
of the agents' architectures (training seed 0): the first scenario and episode seed, in grid order, where
their outcomes differ. Each agent's frames (chase view above, onboard camera below) stand side by side,
labelled by the outcome; the shorter episodes hold their last frame.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ltc_drones.agents import load_agent
from ltc_drones.benchmark.grid import load_grid
from ltc_drones.envs import make_env
from ltc_drones.envs.rollout import run_episode
from ltc_drones.evaluation import write_video
from ltc_drones.evaluation.video import upscale_nearest


def pick_episode(grid_file: str, archs: list[str], training_seed: int = 0) -> tuple[str, int]:
    """The first (scenario, env seed) in grid order where the architectures' outcomes differ."""
    grid = load_grid(grid_file)
    cells = Path("results") / grid.name / "cells"
    for shard in grid.shards:
        outcomes = {}
        for arch in archs:
            path = cells / f"eval__{arch}__seed{training_seed}__{shard}.json"
            if not path.is_file():
                break
            outcomes[arch] = json.loads(path.read_text())["scenarios"]
        if len(outcomes) < len(archs):
            continue
        for scenario in grid.shard_scenarios(shard):
            first = outcomes[archs[0]][scenario]
            for k, seed in enumerate(first["seeds"]):
                if len({outcomes[a][scenario]["success"][k] for a in archs}) > 1:
                    return scenario, seed
    raise SystemExit("no finished evaluation cells where these agents' outcomes differ")


def frame(chase: np.ndarray, onboard: np.ndarray) -> np.ndarray:
    """Chase view above the enlarged onboard view (both ``width`` wide)."""
    big = upscale_nearest(onboard, chase.shape[0])[:, : chase.shape[1]]
    pad = np.zeros((big.shape[0], chase.shape[1], 3), np.uint8)
    pad[:, : big.shape[1]] = big
    return np.concatenate([chase, pad], 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", required=True, help="comma-separated agent folders or checkpoints")
    parser.add_argument("--scenario", default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--grid", default=None, help="choose the episode from this benchmark's cells")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    paths = args.agents.split(",")
    agents = [load_agent(p) for p in paths]
    scenario, seed = args.scenario, args.seed
    if scenario is None:
        if args.grid is None:
            raise SystemExit("give --scenario and --seed, or --grid to choose an episode where the agents differ")
        scenario, seed = pick_episode(args.grid, [a.policy.config.core for a in agents])
    columns, summary = [], []
    for agent in agents:
        spec = agent.env_spec
        env = make_env(spec["task"], obs=spec["obs"], act=spec["act"], scenario=scenario, render_mode="rgb_array")
        frames: list[np.ndarray] = []

        def snap(env=env, frames=frames) -> None:
            frames.append(frame(env.render(), env.unwrapped.onboard_camera()[0]))

        record = run_episode(env, agent, seed, on_frame=snap)
        env.close()
        outcome = "success" if record.success else ("crash" if record.crashed else "failure")
        summary.append(f"{agent.policy.config.core}: {outcome}")
        columns.append(frames)
    length = max(len(c) for c in columns)
    gap = np.full((columns[0][0].shape[0], 4, 3), 255, np.uint8)
    video = []
    for t in range(length):
        parts = []
        for c in columns:
            parts += [c[min(t, len(c) - 1)], gap]
        video.append(np.concatenate(parts[:-1], 1))
    write_video(args.out, video, fps=30)
    print(f"{args.out}: {scenario}, seed {seed}; left to right: {'; '.join(summary)}")


if __name__ == "__main__":
    main()
