"""Train the reference agents (LTC-NCP, BC + DAgger, FlyToTarget) and measure them in closed loop.

Usage:
    python scripts/train_reference.py --obs kin        # goal: >= 90 % of 100 episodes, <= 10 min
    python scripts/train_reference.py --obs rgb        # goal: >= 80 % of 100 episodes, <= 60 min
    python scripts/train_reference.py --obs kin --ship # also ship the agent to agents/ with a model card

Wall time counts everything from the first demonstration to the last gradient step (collection,
behaviour cloning, DAgger rounds with their closed-loop checks). The test episodes (env seeds
20000.., ``ltc_drones.seeding.TEST_SEED_START``) are disjoint from the demonstration, DAgger and
model-selection seeds of every training seed. One torch thread per process. ``--ship`` writes the agent
folder with ``ltc_drones.shipping.ship_run`` (as ``ltc-drones ship`` does), replacing a shipped one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time
from pathlib import Path

import torch

from ltc_drones.agents import load_agent
from ltc_drones.envs import make_env
from ltc_drones.envs.rollout import success_rate
from ltc_drones.evaluation import wilson_interval
from ltc_drones.models import trainable_parameters
from ltc_drones.seeding import TEST_SEED_START, test_seeds
from ltc_drones.shipping import ship_run
from ltc_drones.training import TrainConfig, start_run
from ltc_drones.version import __version__

REFERENCE = {
    "kin": dict(demo_episodes=100, iterations=1500, dagger_rounds=4, dagger_episodes=20, finetune_iterations=300,
                eval_episodes=20, lr=3e-3, batch=16, window=32, warmup=8),
    "rgb": dict(demo_episodes=200, iterations=3000, dagger_rounds=4, dagger_episodes=30, finetune_iterations=600,
                eval_episodes=20, lr=2e-3, batch=16, window=32, warmup=8, finetune_lr=5e-4, takeover_lost_s=0.5),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--obs", choices=["kin", "rgb"], default="kin")
    parser.add_argument("--arch", default="ltc-ncp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-episodes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ship", action="store_true", help="copy the agent to agents/ and write its model card")
    parser.add_argument("--demo-episodes", type=int, default=None, help="override the recipe's demonstrations")
    parser.add_argument("--iterations", type=int, default=None, help="override the recipe's BC iterations")
    parser.add_argument("--conv-pool", choices=["avg", "max", "spatial"], default=None,
                        help="override the conv head's pooling")
    parser.add_argument("--ship-result", default=None,
                        help="ship the agent of a finished run from the JSON result it printed (no training)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.ship_result:
        result = json.loads(Path(args.ship_result).read_text())
        cfg = TrainConfig.from_dict(json.loads((Path(result["run"]) / "config.json").read_text()))
        ship(result, cfg, f"python scripts/train_reference.py --ship-result {args.ship_result}", args.workers)
        return
    recipe = dict(REFERENCE[args.obs])
    for key in ("demo_episodes", "iterations", "conv_pool"):
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)
    cfg = TrainConfig(task="fly-to-target", obs=args.obs, arch=args.arch, algo="dagger", seed=args.seed,
                      workers=args.workers, out="runs",
                      data=(f"data/reference__fly-to-target__{args.obs}__{recipe['demo_episodes']}ep__seed{args.seed}",),
                      **recipe)
    from ltc_drones.training import CollectSpec, collect_demonstrations

    t0 = time.perf_counter()
    collect_demonstrations(CollectSpec(cfg.task, cfg.obs, base_seed=cfg.seed), cfg.demo_episodes, cfg.data[0],
                           workers=cfg.workers)
    collect_s = time.perf_counter() - t0
    summary = start_run(cfg)
    train_s = time.perf_counter() - t0
    run = Path(summary["run"])
    env = make_env(cfg.task, obs=cfg.obs)
    agent = load_agent(run / "best.pt", env)
    seeds = list(test_seeds(TEST_SEED_START, args.test_episodes))
    rate = success_rate(env, agent, seeds)
    k = round(rate * len(seeds))
    lo, hi = wilson_interval(k, len(seeds))
    command = f"python scripts/train_reference.py --obs {args.obs} --arch {args.arch} --seed {args.seed}"
    for key in ("demo_episodes", "iterations", "conv_pool"):
        if getattr(args, key) is not None:
            command += f" --{key.replace('_', '-')} {getattr(args, key)}"
    result = {
        "agent": f"fly-to-target__{args.arch}__{args.obs}", "run": str(run), "command": command,
        "test_episodes": len(seeds), "successes": k, "success_rate": rate, "wilson95": [round(lo, 3), round(hi, 3)],
        "wall_time_s": round(train_s, 1), "collection_s": round(collect_s, 1),
        "dagger_rounds": summary["rounds"], "parameters": trainable_parameters(agent.policy),
        "date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread",
        "package_version": __version__,
    }
    print(json.dumps(result, indent=2))
    print(f"{args.arch} {args.obs}: {k}/{len(seeds)} test successes ({rate:.0%}, 95% CI [{lo:.2f}, {hi:.2f}]) "
          f"after {train_s / 60:.1f} min of wall time")
    if args.ship:
        ship(result, cfg, f"{command} --ship", args.workers)


def ship(result: dict, cfg: TrainConfig, command: str, workers: int) -> None:
    """Ship the run's best checkpoint to ``agents/<agent>`` (model card, ``eval.json`` with this script's result)
    and copy the result to ``results/train_reference_<obs>.json``."""
    record = ship_run(result["run"], result["agent"], test_episodes=result["test_episodes"], workers=workers,
                      train_command=result["command"], command=command, extra={"reference": result},
                      facts={"training wall time (collection + BC + DAgger)":
                             f"{result['wall_time_s'] / 60:.1f} min on {result['machine']}"},
                      note="Limits: trained and tested on the nominal scenario only; distribution shifts are not "
                           "measured here.", force=True)
    (Path("results") / f"train_reference_{cfg.obs}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"shipped to {record['folder']}")


if __name__ == "__main__":
    main()
