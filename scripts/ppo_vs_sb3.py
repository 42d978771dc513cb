"""Wall time to 90 % FlyToTarget success: our recurrent PPO (vector backend) vs plain SB3 PPO (PyBullet).

Usage:
    python scripts/ppo_vs_sb3.py                     # both sides, then results/ppo/vs_sb3.json
    python scripts/ppo_vs_sb3.py --only sb3 --budget-s 600 --seed 1   # one side, one seed (others are kept)

Sides (FlyToTarget, ``kin`` observations, ``vel`` actions, training seed ``--seed``, default 0):

* ``ours``: ``ltc-drones train --algo ppo --arch ltc-ncp`` (its defaults: sb3-contrib RecurrentPPO with the
  LTC-NCP core, 256 drones of the vector backend, observation and reward normalisation), one process;
* ``ours_tuned``: the same with PPO options given as ``--ppo JSON`` (more gradient steps per sample);
* ``sb3``: stable-baselines3 ``PPO("MlpPolicy", ...)`` with its defaults on the PyBullet env in 2
  ``SubprocVecEnv`` processes (``make_vec_env``), raw observations: what a new user would write.

Each run is recorded in ``runs/ppo_vs_sb3/sides/<side>__seed<seed>.json``; the summary
(``results/ppo/vs_sb3.json``) holds every recorded run and the median time to the goal of each side over
its seeds (a seed that missed the goal counts as infinite).

Both are judged the same way: at the same points of *training* wall time (``EVAL_AT_S``, then every
60 s; each at the first rollout start after it) the current deterministic policy flies the same
``--eval-episodes`` held-out PyBullet episodes (test seeds 30000.., disjoint from training, selection and
the reference test seeds 20000..) through the same loop (``ltc_drones.rl.evaluate.evaluate_env``). The
training clock stops while an evaluation runs, and starts before the envs and the model are built (set-up
counts). A side stops at the first evaluation with success >= 90 % or when its budget is spent.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from ltc_drones.atomic import write_json_atomic
from ltc_drones.envs import make_env
from ltc_drones.evaluation import wilson_interval
from ltc_drones.rl.evaluate import evaluate_env
from ltc_drones.seeding import test_seeds

TASK = "fly-to-target"
GOAL = 0.9
EVAL_SEED_START = 30_000
EVAL_AT_S = (5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 90, 120, 150, 180, 210, 240, 270, 300)
WORK = Path("runs/ppo_vs_sb3")
OUT = Path("results/ppo/vs_sb3.json")


def eval_times():
    """Training wall times (s) of the evaluations: ``EVAL_AT_S``, then every 60 s."""
    yield from EVAL_AT_S
    t = EVAL_AT_S[-1]
    while True:
        t += 60
        yield t


class WallClockEval(BaseCallback):
    """Evaluates at scheduled training wall times with the clock paused; stops at the goal or the budget."""

    def __init__(self, evaluate_fn, budget_s: float, setup_s: float, name: str) -> None:
        super().__init__()
        self.evaluate_fn, self.budget_s, self.name = evaluate_fn, budget_s, name
        self.train_s, self.times = setup_s, eval_times()
        self.next_eval = next(self.times)
        self.evals: list[dict[str, Any]] = []
        self.reached = False

    def _on_training_start(self) -> None:
        self.t_last = time.perf_counter()

    def _tick(self) -> float:
        now = time.perf_counter()
        self.train_s += now - self.t_last
        self.t_last = now
        return self.train_s

    def _on_rollout_start(self) -> None:  # after each update: the weights the evaluation flies
        if self._tick() >= self.next_eval:
            self._evaluate()

    def _evaluate(self) -> None:
        t0 = time.perf_counter()
        result = self.evaluate_fn()
        eval_s = time.perf_counter() - t0
        row = {"train_wall_s": round(self.train_s, 1), "steps": int(self.model.num_timesteps),
               "success_rate": result["success_rate"], "successes": result["successes"],
               "mean_return": result["mean_return"], "eval_s": round(eval_s, 1)}
        self.evals.append(row)
        print(f"[{self.name}] {row['train_wall_s']:7.1f} s, {row['steps']:>9,} steps: "
              f"{row['successes']}/{result['episodes']} ({row['success_rate']:.2f})", flush=True)
        self.reached = result["success_rate"] >= GOAL
        while self.next_eval <= self.train_s:
            self.next_eval = next(self.times)
        self.t_last = time.perf_counter()  # the evaluation is not training time

    def _on_step(self) -> bool:
        if self.reached:
            return False
        if self._tick() < self.budget_s:
            return True
        if not self.evals or self.evals[-1]["steps"] < self.model.num_timesteps - self.training_env.num_envs:
            self._evaluate()  # the final weights, unless just evaluated (the clock is past the budget now)
        return False


class SB3Controller:
    """An SB3 model as a controller (``reset`` / ``act``): deterministic actions on raw observations."""

    def __init__(self, model) -> None:
        self.model = model

    def reset(self, num_envs: int) -> None:
        pass

    def act(self, obs: np.ndarray, episode_start: np.ndarray) -> np.ndarray:
        return self.model.predict(obs, deterministic=True)[0]


def run_ours(arch: str, budget_s: float, seeds: range, seed: int, options: dict[str, Any]) -> dict[str, Any]:
    from ltc_drones.rl import PPOConfig
    from ltc_drones.rl.runner import PPORun
    from ltc_drones.training import TrainConfig

    t0 = time.perf_counter()
    folder = WORK / f"ours__{arch}__{time.strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True)
    train = TrainConfig(task=TASK, obs="kin", act="vel", arch=arch, algo="ppo", seed=seed, out=str(WORK))
    ppo = PPOConfig(backend="vector", **options)
    run = PPORun(train, ppo, folder, progress=False)
    env = make_env(TASK, obs="kin", act="vel")
    try:
        callback = WallClockEval(lambda: evaluate_env(run.agent(), env, seeds), budget_s,
                                 time.perf_counter() - t0, f"ours {arch}")
        run.model.learn(10**10, callback=callback)
    finally:
        run.close()
        env.close()
    opts = "".join(f" --{k.replace('_', '-')} {v}" for k, v in options.items())
    command = f"ltc-drones train --algo ppo --task {TASK} --obs kin --arch {arch} --backend vector --seed {seed}{opts}"
    return _side(callback, f"RecurrentPPO + {arch} core, vector backend, {run.n_envs} drones, 1 process", command)


def run_sb3(budget_s: float, seeds: range, seed: int) -> dict[str, Any]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    t0 = time.perf_counter()
    venv = make_vec_env(partial(make_env, TASK, obs="kin", act="vel"), n_envs=2, seed=seed,
                        vec_env_cls=SubprocVecEnv)
    model = PPO("MlpPolicy", venv, seed=seed, device="cpu", verbose=0)
    env = make_env(TASK, obs="kin", act="vel")
    try:
        callback = WallClockEval(lambda: evaluate_env(SB3Controller(model), env, seeds), budget_s,
                                 time.perf_counter() - t0, "sb3 mlp")
        model.learn(10**10, callback=callback)
    finally:
        venv.close()
        env.close()
    return _side(callback, "stable-baselines3 PPO('MlpPolicy') defaults, PyBullet env, 2 SubprocVecEnv processes",
                 "PPO('MlpPolicy', make_vec_env(FlyToTarget kin/vel, n_envs=2, vec_env_cls=SubprocVecEnv)).learn(...)")


def _side(cb: WallClockEval, what: str, command: str) -> dict[str, Any]:
    hit = next((e for e in cb.evals if e["success_rate"] >= GOAL), None)
    last_steps = cb.model.num_timesteps
    return {"what": what, "command": command, "budget_s": cb.budget_s, "reached_goal": hit is not None,
            "time_to_goal_s": hit["train_wall_s"] if hit else None, "steps_to_goal": hit["steps"] if hit else None,
            "train_wall_s": round(cb.train_s, 1), "steps": int(last_steps),
            "steps_per_s": round(last_steps / cb.train_s), "evaluations": cb.evals}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["ours", "sb3", "summary"], default=None,
                        help="run one side only (summary: rewrite the summary of the recorded sides)")
    parser.add_argument("--arch", default="ltc-ncp", help="core of our recurrent PPO")
    parser.add_argument("--budget-s", type=float, default=1200.0, help="training wall-time budget of each side")
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ppo", default=None, help='PPOConfig options of our side as JSON, e.g. '
                        '\'{"envs": 64, "n_epochs": 10}\' (its key becomes ours_tuned)')
    args = parser.parse_args()
    torch.set_num_threads(1)
    from ppo_reference import provenance  # this folder's sibling script

    WORK.mkdir(parents=True, exist_ok=True)
    seeds = test_seeds(EVAL_SEED_START, args.eval_episodes)
    options = json.loads(args.ppo) if args.ppo else {}
    for side in {None: ("ours", "sb3"), "summary": ()}.get(args.only, (args.only,)):
        start = provenance()
        result = run_ours(args.arch, args.budget_s, seeds, args.seed, options) if side == "ours" else \
            run_sb3(args.budget_s, seeds, args.seed)
        script = f"python scripts/ppo_vs_sb3.py --only {side} --budget-s {args.budget_s:g} " \
                 f"--eval-episodes {args.eval_episodes} --seed {args.seed}"
        if side == "ours":
            script += f" --arch {args.arch}" + (f" --ppo '{args.ppo}'" if options else "")
        result.update(provenance_start=start, provenance_end=provenance(), script=script, seed=args.seed,
                      eval_at_train_wall_s=list(EVAL_AT_S))
        key = f"{side}{'_tuned' if side == 'ours' and options else ''}__seed{args.seed}"
        write_json_atomic(WORK / "sides" / f"{key}.json", result)
    sides = {p.stem: json.loads(p.read_text()) for p in sorted((WORK / "sides").glob("*.json"))}
    for name, side in sides.items():
        last = side["evaluations"][-1] if side["evaluations"] else None
        lo, hi = wilson_interval(last["successes"], args.eval_episodes) if last else (0.0, 1.0)
        when = f"{side['time_to_goal_s']:.0f} s ({side['steps_to_goal']:,} steps)" if side["reached_goal"] else \
            f"not reached in {side['train_wall_s']:.0f} s ({side['steps']:,} steps)"
        print(f"{name} {side['what']}: 90 % after {when}; last evaluation {last['successes'] if last else '-'}/"
              f"{args.eval_episodes} [{lo:.2f}, {hi:.2f}], {side['steps_per_s']:,} steps/s")
    summary = {"task": TASK, "goal_success": GOAL, "eval_episodes": args.eval_episodes,
               "eval_seeds": f"{EVAL_SEED_START}..{EVAL_SEED_START + args.eval_episodes - 1}",
               "eval_at_train_wall_s": f"{', '.join(map(str, EVAL_AT_S))}, then every 60 s", "sides": sides}
    summary["time_to_goal_s"] = {name: side["time_to_goal_s"] for name, side in sides.items()}
    variants: dict[str, list[float]] = {}
    for name, side in sides.items():  # median over seeds; a seed that missed the goal counts as its budget
        variants.setdefault(name.split("__")[0], []).append(side["time_to_goal_s"] or math.inf)
    summary["median_time_to_goal_s"] = {v: float(np.median(t)) for v, t in variants.items()}
    print("median time to 90 %:", ", ".join(f"{v} {t:.0f} s over {len(variants[v])} seeds"
                                            for v, t in summary["median_time_to_goal_s"].items()))
    write_json_atomic(OUT, summary)
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()
