"""Ship the best checkpoint of a training run to ``agents/`` with a model card of its test scores.

Usage:
    python scripts/ship_run_agent.py --run runs/multi-follow-n2__ltc-ncp__dagger__0__<time> \
        --name multi-follow__ltc-ncp__rgb --scenarios target-color@3,season@3,wind-gusts@3 --workers 2

The card gives the agent's success on ``--test-episodes`` nominal test episodes (seeds 20000..,
disjoint from its training and model-selection episodes) and, for every ``--scenarios`` entry, on
``--shift-episodes`` episodes with the same seeds, each with its 95 % Wilson interval; for a
multi-agent task success is team success, and the card also gives per-drone success and the
collision rate. It names the training command (the run's ``config.json``) and this command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
from pathlib import Path

import torch

from ltc_drones.agents import load_agent
from ltc_drones.agents.checkpoint import read_checkpoint, save_checkpoint
from ltc_drones.atomic import write_json_atomic
from ltc_drones.evaluation import evaluate, wilson_interval
from ltc_drones.models import trainable_parameters
from ltc_drones.version import __version__

TEST_SEED_START = 20_000


def _score(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} [{lo:.2f}, {hi:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a training run folder (holds best.pt and config.json)")
    parser.add_argument("--name", required=True, help="folder name under agents/")
    parser.add_argument("--test-episodes", type=int, default=100)
    parser.add_argument("--scenarios", default="", help="comma-separated shifted scenarios for the card")
    parser.add_argument("--shift-episodes", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--train-command", default=None,
                        help="the command that trained the run (default: ltc-drones train --config "
                             "configs/<task>-<obs>-<arch>.yaml)")
    parser.add_argument("--note", default="", help="a sentence for the card, e.g. how this run was chosen")
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = Path(args.run)
    config = json.loads((run / "config.json").read_text())
    best = run / "best.pt"
    task, num_drones = config["task"], config.get("num_drones")
    multi = task.startswith("multi-")
    kwargs = {"num_drones": num_drones} if multi else {}
    out = Path("runs") / "ship" / args.name
    test = evaluate(str(best), task, ["nominal"], args.test_episodes, seed=TEST_SEED_START, workers=args.workers,
                    out=out / "test", **kwargs)
    scenarios = [s for s in args.scenarios.split(",") if s]
    shifted = evaluate(str(best), task, scenarios, args.shift_episodes, seed=TEST_SEED_START,
                       workers=args.workers, out=out / "shifts", **kwargs).summaries if scenarios else {}
    agent = load_agent(best)
    payload = read_checkpoint(best)
    folder = Path("agents") / args.name
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "agent.pt", agent.policy, payload["env"], {"config": payload["train"]["config"]})
    keep = ("episodes", "successes", "success_ci95", "agent_success_rate", "agent_success_ci95", "collision_rate",
            "crash_rate")
    record = {
        "agent": args.name, "run": run.name, "task": task, "num_drones": num_drones, "obs": config["obs"],
        "arch": config["arch"], "parameters": trainable_parameters(agent.policy), "config": config,
        "test": {"seed_start": TEST_SEED_START, **{k: v for k, v in test.summaries["nominal"].items() if k in keep}},
        "scenarios": {s: {k: v for k, v in summary.items() if k in keep} for s, summary in shifted.items()},
        "date": dt.date.today().isoformat(), "package_version": __version__,
        "machine": f"{platform.machine()}, 1 torch thread",
        "command": "python scripts/ship_run_agent.py " + " ".join(_quoted(a) for a in sys.argv[1:]),
        "train_command": args.train_command
        or f"ltc-drones train --config configs/{task}-{config['obs']}-{config['arch']}.yaml",
        "note": args.note,
    }
    write_json_atomic(folder / "eval.json", record)
    (folder / "README.md").write_text(card(record))
    t = record["test"]
    print(f"shipped {args.name}: {t['successes']}/{t['episodes']} nominal test successes; card in {folder}")


def _quoted(arg: str) -> str:
    return f"'{arg}'" if " " in arg else arg


def _row(name: str, s: dict, multi: bool) -> str:
    cells = [_score(s["successes"], s["episodes"])]
    if multi:
        lo, hi = s["agent_success_ci95"]
        cells += [f"{s['agent_success_rate']:.2f} [{lo:.2f}, {hi:.2f}]", f"{s['collision_rate']:.2f}"]
    return f"| {name} | " + " | ".join(cells) + " |"


def card(r: dict) -> str:
    multi = r["num_drones"] is not None and r["task"].startswith("multi-")
    c = r["config"]
    what = (f"one shared policy flying each of {r['num_drones']} drones of `{r['task']}` (each with its own "
            "recurrent state)" if multi else f"`{r['task']}`")
    head = "| scenario | team success | per-drone success | collision rate |\n|---|---:|---:|---:|" if multi else \
        "| scenario | success |\n|---|---:|"
    rows = [_row("nominal", r["test"], multi)] + [_row(s, v, multi) for s, v in r["scenarios"].items()]
    budget = ", ".join(f"{k}={c[k]}" for k in ("demo_episodes", "iterations", "dagger_rounds", "dagger_episodes",
                                                 "finetune_iterations", "takeover_lost_s", "seed") if k in c)
    return f"""# {r['agent']}

A `{r['arch']}` policy ({r['parameters']} trainable parameters; synapses masked by an NCP wiring not counted):
{what}, from `{r['obs']}` observations with `{c.get('act', 'vel')}` actions at 30 Hz. Trained by the
imitation pipeline (`{c.get('algo')}`: {budget}; run `{r['run']}`, the full configuration is in `eval.json`).

Success with 95 % Wilson intervals; nominal: {r['test']['episodes']} test episodes (seeds {r['test']['seed_start']}..,
never used in training or model selection); shifted scenarios: the first of those seeds.

{head}
{chr(10).join(rows)}

| date, package version, machine | {r['date']}, {r['package_version']}, {r['machine']} |
|---|---|

{r.get('note', '')}

Produced by `{r['train_command']}` (the run's `config.json`), then `{r['command']}`.
Load it with `ltc_drones.load_agent("agents/{r['agent']}")`; fly it with
`ltc-drones rollout --agent agents/{r['agent']} --episodes 1 --video out.mp4`.
"""


if __name__ == "__main__":
    main()
