"""A PPO training run (``ltc-drones train --algo ppo``): vectorised envs, closed-loop evaluation, checkpoints.

The run folder ``runs/<task or env id>__<arch>__ppo__<seed>__<time>/`` holds ``config.json`` (the
resolved :class:`~ltc_drones.training.TrainConfig`), ``ppo.json`` (the resolved
:class:`~ltc_drones.rl.PPOConfig`), ``metrics.jsonl`` (one row per evaluation), TensorBoard events in
``tb/`` (stable-baselines3's ``rollout/`` and ``train/`` scalars, and ``eval/``), and ``best.pt`` (the
best evaluation so far) and ``last.pt`` (written atomically at every evaluation): agents that
:func:`ltc_drones.load_agent` flies, see :mod:`ltc_drones.rl.checkpoint`.

Recurrent cores train with sb3-contrib's ``RecurrentPPO`` and :class:`~ltc_drones.rl.policy.CoreRecurrentPolicy`;
the ``mlp`` core with stable-baselines3's ``PPO`` and :class:`~ltc_drones.rl.policy.CoreFeedForwardPolicy`.

Resuming (:func:`resume_ppo_run`) restores the weights, the optimiser, the normalisation statistics, the
step count and the random generators of ``last.pt`` and starts fresh episodes on new training seeds
(env states are not saved), so a resumed run is not bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from ..agents import Agent
from ..runs import folder_name, start_run_in
from ..seeding import selection_seeds
from ..training.config import TrainConfig
from ..training.metrics_log import MetricsLog
from .checkpoint import read_rl_checkpoint, restore_model, save_rl_checkpoint
from .config import PPOConfig
from .envs import (
    make_vec_env,
    normalization_spec,
    normalize,
    reward_stats,
    set_observation_stats,
    set_reward_stats,
)
from .evaluate import evaluate_env, evaluate_vector
from .policy import policy_class_for
from .setup import actor_config, check_configs, describe_env, training_env_seed, warm_start_source


class PPORun:
    """Owns a run's envs, model, metrics and checkpoints; :meth:`train` runs (or continues) it."""

    def __init__(self, train: TrainConfig, ppo: PPOConfig, folder: Path, progress: bool = True,
                 resume: dict[str, Any] | None = None) -> None:
        from sb3_contrib import RecurrentPPO
        from stable_baselines3 import PPO
        from stable_baselines3.common.utils import set_random_seed

        check_configs(train, ppo)
        self.train_cfg, self.ppo, self.folder, self.progress = train, ppo, folder, progress
        self.backend = ppo.resolved_backend(train.obs)
        self.n_envs = ppo.num_envs(train.obs)
        self.state: dict[str, Any] = {"timesteps": 0, "segment": 0, "evals": [], "best_score": None,
                                      "wall_time_s": 0.0, "done": False}
        if resume is not None:
            self.state = resume["train"]["state"]
            self.state["segment"] += 1
        self.info, self.eval_env = describe_env(train, ppo)
        if self.backend == "vector":  # evaluation flies vector drones; the PyBullet env gave the spec only
            self.eval_env.close()
            self.eval_env = None
        source = None if resume is not None else warm_start_source(train, ppo, self.info)
        if resume is not None:
            policy_config = resume["policy_config"]
        elif source is not None:
            policy_config = source.policy.config.to_dict()
        else:
            policy_config = actor_config(train, self.info).to_dict()
        self.frozen_obs = ppo.init_from is not None
        set_random_seed(train.seed)
        venv = make_vec_env(self.backend, self.n_envs, task=train.task, obs=train.obs, act=train.act,
                            scenario=train.scenario, env_id=ppo.env_id,
                            seed=training_env_seed(train.seed, self.state["segment"]))
        self.venv = normalize(venv, norm_obs=ppo.norm_obs and not self.frozen_obs, norm_reward=ppo.norm_reward,
                              gamma=ppo.gamma, obs_mode=train.obs)
        algo = PPO if policy_config["core"] == "mlp" else RecurrentPPO
        self.model = algo(policy_class_for(policy_config), self.venv, learning_rate=ppo.learning_rate,
                          n_steps=ppo.n_steps, batch_size=ppo.batch_size(train.obs), n_epochs=ppo.n_epochs,
                          gamma=ppo.gamma, gae_lambda=ppo.gae_lambda, clip_range=ppo.clip_range,
                          ent_coef=ppo.ent_coef, vf_coef=ppo.vf_coef, max_grad_norm=ppo.max_grad_norm,
                          target_kl=ppo.target_kl, device="cpu", verbose=0,
                          policy_kwargs={"policy_config": policy_config, "dt_s": self.info.dt_s,
                                         "critic_hidden": ppo.critic_hidden, "log_std_init": ppo.log_std_init})
        if source is not None:  # warm start: the actor, and the observation statistics it was trained with
            self.model.policy.actor.load_state_dict(source.policy.state_dict())
            set_observation_stats(self.venv, source.env_spec.get("obs_normalization"), frozen=True)
        if resume is not None:
            restore_model(self.model, resume, folder / "last.pt")
            set_observation_stats(self.venv, resume["env"].get("obs_normalization"), frozen=self.frozen_obs)
            set_reward_stats(self.venv, resume["rl"]["reward_stats"])
            self.model.num_timesteps = self.state["timesteps"]
        self._set_logger()
        rows = 0 if resume is None else self.state.get("metric_rows", 0)
        self.log = MetricsLog(folder, rows, None if resume is None else self.state["timesteps"] + 1)

    def _set_logger(self) -> None:
        from stable_baselines3.common.logger import configure

        try:
            import torch.utils.tensorboard  # noqa: F401

            formats = ["tensorboard"]
        except ImportError:  # pragma: no cover - the dev extra installs tensorboard
            formats = []
        self.model.set_logger(configure(str(self.folder / "tb"), formats))

    # ---- agent, evaluation, checkpoints ------------------------------------------------------
    def agent_env_spec(self) -> dict[str, Any]:
        """The env spec saved with the agent: the env's, plus the current observation normalisation."""
        norm = normalization_spec(self.venv)
        return {**self.info.spec, **({"obs_normalization": norm} if norm is not None else {})}

    def agent(self) -> Agent:
        """The actor as it stands, as the agent that is saved (deterministic, normalised observations)."""
        return Agent(self.model.policy.actor, self.agent_env_spec(), source=str(self.folder))

    def evaluate(self) -> dict[str, Any]:
        """Closed-loop evaluation on the model-selection seeds (see :mod:`ltc_drones.rl.evaluate`)."""
        t = self.train_cfg
        seeds = selection_seeds(t.seed, t.eval_episodes)
        if self.backend == "vector":
            return evaluate_vector(self.agent(), t.task, t.act, t.scenario, seeds)
        return evaluate_env(self.agent(), self.eval_env, seeds, self.ppo.success_return)

    def save(self, name: str, with_optimizer: bool = True) -> None:
        self.state["metric_rows"] = self.log.rows
        train_state = {"config": self.train_cfg.to_dict(), "ppo": self.ppo.to_dict(), "state": self.state}
        save_rl_checkpoint(self.folder / name, self.model, self.agent_env_spec(), train_state,
                           reward_stats(self.venv), with_optimizer)

    def evaluate_and_save(self, timesteps: int) -> dict[str, Any]:
        """Evaluate, log, and write ``best.pt`` (when the score is the best so far) and ``last.pt``."""
        self.state["timesteps"] = timesteps
        result = {"step": timesteps, **self.evaluate()}
        self.state["evals"].append(result)
        score = _score(result)
        self.log.log(timesteps, {"eval/success_rate": _nan_if_none(result["success_rate"]),
                                 "eval/mean_return": result["mean_return"], "time/wall_s": self._wall_time()})
        best = self.state["best_score"]
        if best is None or score >= tuple(best):
            self.state["best_score"] = score
            self.save("best.pt", with_optimizer=False)
        self.save("last.pt")
        return result

    def _wall_time(self) -> float:
        now = time.perf_counter()
        self.state["wall_time_s"] += now - self._t_last
        self._t_last = now
        return round(self.state["wall_time_s"], 2)

    # ---- the run ------------------------------------------------------------------------------
    def train(self, stop_at_step: int | None = None) -> dict[str, Any]:
        """Train to ``total_steps`` (``stop_at_step`` stops earlier, as an interruption would)."""
        self._t_last = time.perf_counter()
        if not self.state["done"]:
            callback = _RunCallback(self, stop_at_step)
            remaining = self.ppo.total_steps - self.model.num_timesteps
            if remaining > 0:
                self.model.learn(remaining, callback=callback, reset_num_timesteps=False)
            if callback.stopped:
                self.state["timesteps"] = callback.updated_at
                self._wall_time()
                self.save("last.pt")
                return self.summary(stopped=True)
            if not self.state["evals"] or self.state["evals"][-1]["step"] != self.model.num_timesteps:
                self.evaluate_and_save(self.model.num_timesteps)
            self.state["done"] = True
            self._wall_time()
            self.save("last.pt")
        return self.summary(stopped=False)

    def summary(self, stopped: bool) -> dict[str, Any]:
        st, evals = self.state, self.state["evals"]
        best = max(reversed(evals), key=_score, default=None)  # the latest of equals, as best.pt
        return {"run": str(self.folder), "algo": "ppo", "arch": self.model.policy.actor.config.core,
                "env": self.ppo.env_id or self.train_cfg.task, "backend": self.backend, "envs": self.n_envs,
                "steps": st["timesteps"], "stopped": stopped, "wall_time_s": round(st["wall_time_s"], 1),
                "steps_per_s": round(st["timesteps"] / st["wall_time_s"]) if st["wall_time_s"] > 0 else None,
                "final": evals[-1] if evals else None, "best": best, "evaluations": len(evals)}

    def close(self) -> None:
        self.log.close()
        self.venv.close()
        if self.eval_env is not None:
            self.eval_env.close()


def _score(result: dict[str, Any]) -> tuple[float, float]:
    """Evaluations rank by success rate, then mean return (success undefined ranks below any rate)."""
    rate = result["success_rate"]
    return (-math.inf if rate is None else rate, result["mean_return"])


def _nan_if_none(x: float | None) -> float:
    return math.nan if x is None else x


class _RunCallback(BaseCallback):
    """Progress bar, evaluation and checkpoint every ``eval_every_steps`` (after an update), early stop."""

    def __init__(self, run: PPORun, stop_at_step: int | None) -> None:
        super().__init__()
        self.run, self.stop_at_step = run, stop_at_step
        self.stopped = False
        self.updated_at = run.state["timesteps"]
        every = run.ppo.eval_every_steps
        self.next_eval = (self.updated_at // every + 1) * every

    def _on_training_start(self) -> None:
        from tqdm import tqdm

        start, rollout = self.model.num_timesteps, self.training_env.num_envs * self.model.n_steps
        total = start + math.ceil(max(self.run.ppo.total_steps - start, 0) / rollout) * rollout  # whole rollouts
        self.bar = tqdm(total=total, initial=start, unit="step",
                        desc=f"ppo {self.run.model.policy.actor.config.core}", disable=not self.run.progress,
                        dynamic_ncols=True)

    def _on_rollout_start(self) -> None:
        # Called after each update (and once before the first rollout): weights and step count agree here.
        self.updated_at = steps = self.model.num_timesteps
        if steps >= self.next_eval:
            result = self.run.evaluate_and_save(steps)
            every = self.run.ppo.eval_every_steps
            self.next_eval = (steps // every + 1) * every
            rate = result["success_rate"]
            self.bar.set_postfix(success="-" if rate is None else f"{rate:.2f}", ret=f"{result['mean_return']:.1f}")

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        if self.stop_at_step is not None and self.model.num_timesteps >= self.stop_at_step:
            self.stopped = True
            return False
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


def run_folder_name(train: TrainConfig, ppo: PPOConfig) -> str:
    env = ppo.env_id.replace("/", "_") if ppo.env_id else train.task
    return folder_name(env, train.arch, "ppo", train.seed)


def start_ppo_run(train: TrainConfig, ppo: PPOConfig, progress: bool = True, stop_at_step: int | None = None,
                  folder: Path | None = None) -> dict[str, Any]:
    """Start a PPO run in a fresh folder under ``train.out`` (or in ``folder``) and train.

    A run that fails before its first checkpoint leaves nothing behind; a later failure keeps the folder,
    to be continued with :func:`resume_ppo_run`.
    """
    check_configs(train, ppo)

    def train_in(folder: Path) -> dict[str, Any]:
        run = PPORun(train, ppo, folder, progress)
        try:
            return run.train(stop_at_step)
        finally:
            run.close()

    return start_run_in(folder, train.out, run_folder_name(train, ppo),
                        {"config.json": train.to_dict(), "ppo.json": ppo.to_dict()}, train_in)


def resume_ppo_run(folder: str | Path, progress: bool = True, stop_at_step: int | None = None) -> dict[str, Any]:
    """Continue the PPO run in ``folder`` from its ``last.pt`` (from the start if it has none yet)."""
    folder = Path(folder)
    for name in ("config.json", "ppo.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder} holds no {name}: not a PPO run folder")
    train = TrainConfig.from_dict(json.loads((folder / "config.json").read_text()))
    ppo = PPOConfig.from_dict(json.loads((folder / "ppo.json").read_text()))
    payload = read_rl_checkpoint(folder / "last.pt") if (folder / "last.pt").is_file() else None
    run = PPORun(train, ppo, folder, progress, resume=payload)
    try:
        return run.train(stop_at_step)
    finally:
        run.close()


def train_ppo_in(folder: str | Path, train: TrainConfig, ppo: PPOConfig, progress: bool = True) -> dict[str, Any]:
    """Train the PPO run of ``folder`` to its end: start it there, or continue it from its ``last.pt``.

    Used by the benchmark's training cells, which must survive interruption. Returns the runner summary.
    """
    folder = Path(folder)
    if (folder / "last.pt").is_file():
        return resume_ppo_run(folder, progress=progress)
    return start_ppo_run(train, ppo, progress=progress, folder=folder)
