"""Ship an agent trained by a benchmark cell to ``agents/`` with a model card of its scores.

Usage:
    python scripts/ship_benchmark_agent.py --grid benchmarks/fly-to-target-rgb.yaml --arch ltc-ncp --seed 0

The card gives (1) the agent's success on ``--test-episodes`` nominal test episodes (seeds 20000..,
disjoint from its training and model-selection episodes; evaluated here with the evaluator) and (2) its
success under every shift and level that the benchmark's finished evaluation cells measured (30 paired
episodes each, seeds 0..), each with its 95 % Wilson interval. Needs the cell's training run in the
benchmark's work folder (``runs/benchmarks/<grid>/``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
from pathlib import Path

import torch

from ltc_drones.agents import load_agent
from ltc_drones.agents.checkpoint import read_checkpoint, save_checkpoint
from ltc_drones.benchmark.grid import load_grid
from ltc_drones.evaluation import evaluate, wilson_interval
from ltc_drones.version import __version__

TEST_SEED_START = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", required=True)
    parser.add_argument("--arch", required=True)
    parser.add_argument("--seed", type=int, default=0, help="training seed of the cell")
    parser.add_argument("--test-episodes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", default=None, help="the benchmark's work folder (default runs/benchmarks/<grid>)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    grid = load_grid(args.grid)
    results = Path("results") / grid.name
    work = Path(args.work or Path("runs") / "benchmarks" / grid.name)
    train_cell = json.loads((results / "cells" / f"train__{args.arch}__seed{args.seed}.json").read_text())
    best = work / train_cell["agent"]
    name = f"{grid.task}__{args.arch}__{grid.obs}"
    folder = Path("agents") / name
    test = evaluate(str(best), grid.task, ["nominal"], args.test_episodes, seed=TEST_SEED_START,
                    workers=args.workers, out=Path("runs") / "ship" / name)
    nominal = test.summaries["nominal"]
    shifts = {}
    for shard in grid.shards:
        path = results / "cells" / f"eval__{args.arch}__seed{args.seed}__{shard}.json"
        if path.is_file():
            for scenario, v in json.loads(path.read_text())["scenarios"].items():
                shifts[scenario] = {k: v["summary"][k] for k in ("successes", "episodes", "success_ci95")}
    payload = read_checkpoint(best)
    policy = load_agent(best).policy
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "agent.pt", policy, payload["env"], {"config": payload["train"]["config"]})
    record = {
        "agent": name, "grid": args.grid, "arch": args.arch, "training_seed": args.seed,
        "parameters": train_cell["parameters"], "train": grid.train, "demo_episodes": grid.demo_episodes,
        "test": {"episodes": nominal["episodes"], "successes": nominal["successes"],
                 "wilson95": [round(x, 3) for x in nominal["success_ci95"]], "seed_start": TEST_SEED_START},
        "scenarios": shifts, "date": dt.date.today().isoformat(), "package_version": __version__,
        "machine": f"{platform.machine()}, 1 torch thread",
        "command": f"python scripts/ship_benchmark_agent.py --grid {args.grid} --arch {args.arch} --seed {args.seed}",
    }
    (folder / "eval.json").write_text(json.dumps(record, indent=2) + "\n")
    (folder / "README.md").write_text(card(record, grid))
    print(f"shipped {name}: {nominal['successes']}/{nominal['episodes']} nominal test successes; card {folder}")


def _score(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} [{lo:.2f}, {hi:.2f}]"


def card(r: dict, grid) -> str:
    t = r["test"]
    rows = []
    by_shift: dict[str, dict[int, dict]] = {}
    for scenario, v in r["scenarios"].items():
        shift, _, level = scenario.partition("@")
        by_shift.setdefault(shift, {})[int(level or 0)] = v
    levels = sorted({lv for d in by_shift.values() for lv in d if lv})
    for shift, d in by_shift.items():
        cells = [_score(d[lv]["successes"], d[lv]["episodes"]) if lv in d else "–" for lv in (levels or [0])]
        if shift == "nominal":
            cells = [_score(d[0]["successes"], d[0]["episodes"])] + [""] * (len(levels) - 1)
        rows.append(f"| {shift} | " + " | ".join(cells) + " |")
    train = ", ".join(f"{k}={v}" for k, v in r["train"].items())
    test = f"{t['episodes']} nominal test episodes (seeds {t['seed_start']}..)"
    return f"""# {r['agent']}

A `{r['arch']}` policy ({r['parameters']} trainable parameters; synapses masked by an NCP wiring not counted)
that flies `ltc_drones/FlyToTarget-v0` from `{grid.obs}` observations (64×48 onboard camera) with `vel`
actions at 30 Hz. It is the training-seed-{r['training_seed']} cell of the benchmark `{grid.name}`
(`{r['grid']}`): {r['demo_episodes']} expert demonstrations, then {train}.

| metric | value |
|---|---|
| closed-loop success, {test} | {_score(t['successes'], t['episodes'])} (95 % Wilson) |
| date, package version, machine | {r['date']}, {r['package_version']}, {r['machine']} |

Success under each shift (benchmark evaluation cells: 30 paired episodes per scenario, seeds 0..29;
95 % Wilson intervals; columns are severity levels):

| scenario | {' | '.join(f'level {lv}' for lv in levels)} |
|---|{'---:|' * len(levels)}
{chr(10).join(rows)}

Produced by `ltc-drones benchmark --grid {r['grid']} --archs {r['arch']} --seeds {r['training_seed']}`, then
`{r['command']}`; the full record is `eval.json`. Load it with
`ltc_drones.load_agent("agents/{r['agent']}")`; fly it with
`ltc-drones rollout --agent agents/{r['agent']} --episodes 3 --video out.mp4`.
"""


if __name__ == "__main__":
    main()
