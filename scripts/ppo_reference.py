"""PPO reference runs, each under a wall-clock budget, tested in PyBullet on 100 seeds.

Usage:
    python scripts/ppo_reference.py                    # every target, one after the other
    python scripts/ppo_reference.py --only hover       # one target (hover, fly-to-target, follow-target, finetune)
    python scripts/ppo_reference.py --only hover --force   # train again although results/ppo/hover.json exists
    python scripts/ppo_reference.py --ship fly-to-target   # ship a finished target's agent to agents/ (model card)
    python scripts/ppo_reference.py --only hover --seed 1  # another training seed: results/ppo/hover__seed1.json

Targets (``ltc-drones train --algo ppo`` runs on the vector backend, ``kin`` observations, ``vel`` actions):

* ``hover``: CfC core, Hover; goal >= 95 % within 15 min;
* ``fly-to-target``: LTC-NCP core, FlyToTarget; goal >= 95 % within 15 min;
* ``follow-target``: CfC core (``--arch`` changes it), FollowTarget; goal >= 80 % within 30 min;
* ``finetune``: PPO from the shipped behaviour-cloned agent ``agents/fly-to-target__ltc-ncp__kin``
  (``--init-from``, log std -1.5) for a fixed budget; goal: no loss of test success against the agent itself.

A run trains in segments (``start_ppo_run`` / ``resume_ppo_run`` with ``stop_at_step``) of
``SEGMENT_EVALS`` evaluations each. Every evaluation flies ``EVAL_EPISODES`` held-out model-selection
episodes on the vector backend; training stops early once the latest ``STOP_AFTER`` ones all reach the
target's ``stop_rate`` (a first version stopped at the first one: FlyToTarget then flew 92/100 in PyBullet,
timing out while circling the target), or when the next segment would overrun the budget.
``wall_time_s`` is the elapsed time of all segments (process set-up, env creation, training and the
vector evaluations); the runner's own clock (training and evaluations only) is ``runner_wall_time_s``.
The run's ``best.pt`` is then flown in the PyBullet env on test seeds 20000..20099
(``ltc_drones.evaluation.evaluate``, one process), the seeds of the shipped model cards, disjoint from
every training and selection seed.

An interrupted target resumes where it stopped (run folder ``runs/ppo_reference/<target>``, elapsed time
in ``runs/ppo_reference/<target>.progress.json``, the test evaluation resumes from its partial records).
One torch thread; each result is written atomically to ``results/ppo/<target>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ltc_drones.agents import load_agent
from ltc_drones.atomic import write_json_atomic
from ltc_drones.evaluation import evaluate
from ltc_drones.models import trainable_parameters
from ltc_drones.rl import PPOConfig, resume_ppo_run, start_ppo_run
from ltc_drones.seeding import TEST_SEED_START
from ltc_drones.shipping import ship_run
from ltc_drones.training import TrainConfig
from ltc_drones.version import __version__

TEST_EPISODES = 100
EVAL_EPISODES = 100  # vector-backend model-selection episodes per evaluation (cheap: flown together)
SEGMENT_EVALS = 2
STOP_AFTER = 2  # consecutive selection evaluations at or above the stop rate
RESULTS = Path("results/ppo")
WORK = Path("runs/ppo_reference")
BC_AGENT = "agents/fly-to-target__ltc-ncp__kin"


@dataclass(frozen=True)
class Target:
    """One reference run: what it trains, its budget (seconds) and the goal it is judged by."""

    task: str
    arch: str
    budget_s: float
    goal: float | None  # required test success rate (None: compare with the warm-start agent)
    stop_rate: float | None  # stop early once a selection evaluation reaches this (None: use the budget)
    eval_every_steps: int
    ppo: dict[str, Any] = field(default_factory=dict)


TARGETS = {
    "hover": Target("hover", "cfc", 15 * 60, 0.95, 1.0, 196_608),
    "fly-to-target": Target("fly-to-target", "ltc-ncp", 15 * 60, 0.95, 0.98, 196_608),
    "follow-target": Target("follow-target", "cfc", 30 * 60, 0.80, 0.97, 393_216),
    "finetune": Target("fly-to-target", "ltc-ncp", 5 * 60, None, None, 98_304,
                       {"init_from": BC_AGENT, "log_std_init": -1.5}),
}


def provenance() -> dict[str, Any]:
    """Commit, whether the package differs from it, date, machine and load (other jobs share the machine)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "package_dirty": bool(git("status", "--porcelain", "--", "ltc_drones")),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, 1 torch thread",
            "load_average": [round(x, 2) for x in os.getloadavg()], "package_version": __version__}


def test_success(agent_path: Path, task: str, out: Path) -> dict[str, Any]:
    """Closed-loop success of an agent in the PyBullet env on the test seeds (resumable through ``out``)."""
    ev = evaluate(str(agent_path), task, episodes=TEST_EPISODES, seed=TEST_SEED_START, workers=1, out=out,
                  progress=False)
    s = ev.summaries["nominal"]
    return {"agent": str(agent_path), "episodes": s["episodes"], "successes": s["successes"],
            "success_rate": s["success_rate"], "wilson95": [round(x, 3) for x in s["success_ci95"]],
            "crash_rate": s["crash_rate"], "test_seeds": f"{TEST_SEED_START}..{TEST_SEED_START + TEST_EPISODES - 1}"}


def configs(target: Target, arch: str, seed: int) -> tuple[TrainConfig, PPOConfig]:
    train = TrainConfig(task=target.task, obs="kin", act="vel", arch=arch, algo="ppo", seed=seed,
                        eval_episodes=EVAL_EPISODES, out=str(WORK))
    # total_steps is never reached: the budget and the stop rule end the run.
    ppo = PPOConfig(backend="vector", total_steps=10**9, eval_every_steps=target.eval_every_steps, **target.ppo)
    return train, ppo


def run_key(name: str, arch: str, seed: int) -> str:
    """File name of a target's result and work files: the target, then the core and seed unless defaults."""
    return name + (f"__{arch}" if arch != TARGETS[name].arch else "") + (f"__seed{seed}" if seed else "")


def train_segments(name: str, target: Target, arch: str, seed: int) -> dict[str, Any]:
    """Train the target's run in segments until its stop rule or budget; return the last runner summary."""
    key = run_key(name, arch, seed)
    folder, progress_file = WORK / key, WORK / f"{key}.progress.json"
    progress = json.loads(progress_file.read_text()) if progress_file.is_file() else {"elapsed_s": 0.0, "segments": 0}
    train, ppo = configs(target, arch, seed)
    summary = progress.get("summary")
    while True:
        if summary is not None and _should_stop(target, summary, progress):
            return {**summary, "elapsed_s": progress["elapsed_s"], "segments": progress["segments"]}
        done = summary["steps"] if summary else 0
        stop_at = done + SEGMENT_EVALS * target.eval_every_steps + 1  # just after the segment's last update
        t0 = time.perf_counter()
        if (folder / "last.pt").is_file():
            summary = resume_ppo_run(folder, progress=False, stop_at_step=stop_at)
        else:
            summary = start_ppo_run(train, ppo, progress=False, stop_at_step=stop_at, folder=folder)
        progress["elapsed_s"] += time.perf_counter() - t0
        progress["segments"] += 1
        progress["summary"] = summary
        write_json_atomic(progress_file, progress)
        best, last = summary["best"], summary["final"]
        print(f"[{name}] {summary['steps']:,} steps, {progress['elapsed_s']:.0f} s: last selection success "
              f"{last['success_rate']:.2f}, best {best['success_rate']:.2f} at {best['step']:,}", flush=True)


def _should_stop(target: Target, summary: dict[str, Any], progress: dict[str, Any]) -> bool:
    rows = [json.loads(line) for line in (Path(summary["run"]) / "metrics.jsonl").read_text().splitlines()]
    rates = [r["eval/success_rate"] for r in rows if "eval/success_rate" in r][-STOP_AFTER:]
    if target.stop_rate is not None and len(rates) == STOP_AFTER and min(rates) >= target.stop_rate:
        return True
    per_segment = progress["elapsed_s"] / progress["segments"]
    return progress["elapsed_s"] + per_segment > target.budget_s


def run_target(name: str, arch: str | None, seed: int, force: bool) -> dict[str, Any]:
    target = TARGETS[name]
    arch = arch or target.arch
    key = run_key(name, arch, seed)
    out_json = RESULTS / f"{key}.json"
    if out_json.is_file() and not force:
        print(f"{out_json} exists (use --force to train again)")
        return json.loads(out_json.read_text())
    if force:  # this script's own work files of the run
        (WORK / f"{key}.progress.json").unlink(missing_ok=True)
        for folder in (WORK / key, WORK / f"{key}.test", WORK / f"{key}.test_before"):
            shutil.rmtree(folder, ignore_errors=True)
    start = provenance()
    summary = train_segments(name, target, arch, seed)
    best = Path(summary["run"]) / "best.pt"
    test = test_success(best, target.task, WORK / f"{key}.test")
    command = f"python scripts/ppo_reference.py --only {name}" + (f" --arch {arch}" if arch != target.arch else "") \
        + (f" --seed {seed}" if seed else "")
    result: dict[str, Any] = {
        "target": name, "task": target.task, "obs": "kin", "act": "vel", "arch": arch, "command": command,
        "train_command": _train_command(target, arch, seed), "budget_s": target.budget_s, "goal": target.goal,
        "wall_time_s": round(summary["elapsed_s"], 1), "runner_wall_time_s": summary["wall_time_s"],
        "segments": summary["segments"], "steps": summary["steps"], "steps_per_s": summary["steps_per_s"],
        "envs": summary["envs"], "selection": {"best": summary["best"], "last": summary["final"],
                                               "episodes_per_evaluation": EVAL_EPISODES},
        "parameters": trainable_parameters(load_agent(best).policy), "run": summary["run"], "test": test,
        "provenance_start": start, "provenance_end": provenance(),
    }
    if target.goal is not None:
        result["goal_met"] = test["success_rate"] >= target.goal and summary["elapsed_s"] <= target.budget_s
    else:  # fine-tuning: the warm-start agent on the same seeds
        before = test_success(Path(BC_AGENT) / "agent.pt", target.task, WORK / f"{key}.test_before")
        result["before"] = before
        result["goal_met"] = test["successes"] >= before["successes"]
    write_json_atomic(out_json, result)
    verdict = "met" if result["goal_met"] else "NOT met"
    extra = f" (before: {result['before']['successes']}/100)" if "before" in result else ""
    print(f"[{name}] {arch}: {test['successes']}/{test['episodes']} PyBullet test successes, 95% CI "
          f"{test['wilson95']}{extra}, after {summary['elapsed_s'] / 60:.1f} min and {summary['steps']:,} steps; "
          f"goal {verdict} -> {out_json}", flush=True)
    return result


def _train_command(target: Target, arch: str, seed: int) -> str:
    """The equivalent single ``ltc-drones train`` command (without the budget and stop rule of this script)."""
    opts = "".join(f" --{k.replace('_', '-')} {v}" for k, v in target.ppo.items())
    return (f"ltc-drones train --algo ppo --task {target.task} --obs kin --act vel --arch {arch} --backend vector "
            f"--seed {seed} --eval-episodes {EVAL_EPISODES} --eval-every-steps {target.eval_every_steps}{opts}")


def ship(name: str) -> Path:
    """Ship a finished target's actor (with its observation normalisation) to agents/ with a model card.

    ``ltc_drones.shipping.ship_run`` tests the shipped ``agent.pt`` on the same seeds: it must fly exactly as
    the run's ``best.pt`` did.
    """
    result = json.loads((RESULTS / f"{name}.json").read_text())
    start = result["provenance_start"]
    record = ship_run(
        result["run"], f"{result['task']}__{result['arch']}__kin__ppo", test_episodes=TEST_EPISODES, workers=1,
        work=WORK / f"{name}.ship", train_command=result["train_command"],
        command=f"python scripts/ppo_reference.py --ship {name}", extra={"reference": result}, force=True,
        facts={"training": f"{result['steps']:,} env steps on {result['envs']} drones of the vector backend, "
                           f"{result['wall_time_s'] / 60:.1f} min wall time, 1 core",
               "commit, date of training": f"{start['commit'][:7]}, {start['date'][:10]}"},
        note=f"Trained by `{result['command']}`: the single run named below, stopped after two consecutive "
             f"model-selection evaluations of >= {TARGETS[name].stop_rate:.0%}. Limits: trained and tested on the "
             "nominal scenario only; distribution shifts are not measured here.")
    test = record["test"]
    if test["successes"] != result["test"]["successes"]:
        raise RuntimeError(f"shipped agent flies {test['successes']}/{test['episodes']}, its run "
                           f"{result['test']['successes']}/{result['test']['episodes']}")
    print(f"shipped {record['folder']}: {test['successes']}/{test['episodes']}")
    return Path(record["folder"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(TARGETS), action="append", help="run this target (repeatable)")
    parser.add_argument("--arch", default=None, help="core of the run (default: the target's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="train again although the result file exists")
    parser.add_argument("--ship", choices=[n for n, t in TARGETS.items() if t.goal is not None], default=None,
                        help="ship the agent of this finished target to agents/ (no training)")
    args = parser.parse_args()
    if args.arch is not None and (not args.only or len(args.only) != 1):
        sys.exit("--arch applies to one target: give exactly one --only")
    torch.set_num_threads(1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    if args.ship:
        ship(args.ship)
        return
    for name in args.only or list(TARGETS):
        run_target(name, args.arch, args.seed, args.force)


if __name__ == "__main__":
    main()
