"""A training run: behaviour cloning on sequences, then optional DAgger rounds; resumable.

The run folder ``runs/<task>__<arch>__<algo>__<seed>__<time>/`` (``<task>-n<num_drones>`` for a
multi-agent task) holds ``config.json`` (resolved), ``metrics.jsonl``, TensorBoard events in ``tb/``,
``best.pt`` and ``last.pt`` (atomic), and the DAgger data in ``dagger/round_XX/``. ``last.pt`` is
written at every validation and at every change of phase (behaviour cloning, DAgger collection,
fine-tuning, final evaluation), with the optimiser, the step counters, the number of metric rows and
every random generator. ``resume_run(folder)`` continues from it, from any interruption (even inside a
DAgger round: the round's finished episodes are kept), and ends exactly where an uninterrupted run
would: same weights, same metrics.
``resume_run(folder, dagger_rounds=N)`` extends a DAgger run, even a finished one, to ``N`` rounds.

A run that fails before its first checkpoint leaves no folder behind; one that fails later keeps
its folder, to be resumed.

Env seeds come from :mod:`ltc_drones.seeding`: demonstrations, DAgger rounds and the closed-loop
model selection after each round use disjoint ranges, all disjoint from the test seeds.

Multi-agent tasks train one policy shared by every drone: each drone's flight is one training
sequence, DAgger's learner flies the whole team (one recurrent state per drone), model selection
scores team success (see :mod:`ltc_drones.training.collect`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..agents import Agent, env_spec_of
from ..agents.checkpoint import read_checkpoint, save_checkpoint
from ..atomic import write_json_atomic
from ..envs.rollout import success_rate
from ..models import Policy, PolicyConfig
from ..runs import folder_name, start_run_in
from ..seeding import selection_seeds
from ..tasks import make_env, make_expert
from .augment import augment_images
from .collect import CollectSpec, collect_demonstrations
from .config import TrainConfig
from .dagger import dagger_round
from .dataset import DemoDataset
from .metrics_log import MetricsLog
from .storage import read_manifest

LTC_CORES = ("ltc", "ltc-ncp")


def build_policy(cfg: TrainConfig, dataset: DemoDataset) -> Policy:
    m = dataset.manifest
    torch.manual_seed(cfg.seed)
    core_config = dict(cfg.core_config)
    if cfg.arch in LTC_CORES:  # initial LTC dynamics for one control period per time unit (see LTCConfig)
        core_config.setdefault("time_unit_s", dataset.ctrl_dt_s)
    pc = PolicyConfig(obs_kind=cfg.obs, obs_dim=m["kin_dim"] if "kin" in cfg.obs else 0,
                      image_hw=tuple(m["image_hw"]), action_dim=4, core=cfg.arch,
                      core_config=core_config, feature_dim=cfg.feature_dim, conv_pool=cfg.conv_pool)
    return Policy(pc)


def _batch_tensors(cfg: TrainConfig, batch, rng: np.random.Generator, augment: bool):
    obs = {}
    if "kin" in batch.obs:
        obs["kin"] = torch.as_tensor(batch.obs["kin"])
    if "rgb" in batch.obs:
        if augment:
            obs["rgb"] = augment_images(batch.obs["rgb"], rng, cfg.aug_brightness, cfg.aug_contrast,
                                        cfg.aug_noise_std, cfg.aug_shift_px)
        else:
            obs["rgb"] = torch.as_tensor(batch.obs["rgb"])
    if cfg.obs != "rgb_kin":
        obs = obs[cfg.obs]
    return obs, torch.as_tensor(batch.label), torch.as_tensor(batch.episode_start), torch.as_tensor(batch.loss_mask)


def sequence_loss(cfg: TrainConfig, policy: Policy, batch, dt_s: float, rng, augment: bool) -> torch.Tensor:
    obs, label, episode_start, mask = _batch_tensors(cfg, batch, rng, augment)
    pred, _ = policy(obs, None, dt_s, episode_start)
    if cfg.loss == "mse":
        per_step = ((pred - label) ** 2).mean(-1)
    else:
        cos = torch.nn.functional.cosine_similarity(pred, label, dim=-1, eps=1e-6)
        per_step = (1 - cos) + 0.1 * ((pred - label) ** 2).mean(-1)
    return (per_step * mask).sum() / mask.sum()


class Trainer:
    """Owns the run folder, the data, the policy, the optimiser and the schedule of phases."""

    def __init__(self, cfg: TrainConfig, folder: Path, progress: bool = True) -> None:
        self.cfg, self.folder, self.progress = cfg, folder, progress
        folders = list(cfg.data) or [cfg.default_data_folder]
        self.expert_folders = [Path(f) for f in folders]
        # The default folder may hold more episodes (collected for another run): use demo_episodes of them.
        self.dataset = DemoDataset(self.expert_folders, first_episodes=None if cfg.data else cfg.demo_episodes)
        self.dataset.check_env(cfg.task, cfg.obs, cfg.act)
        self.rng = np.random.default_rng([cfg.seed, 7])
        self.train_ids, self.val_ids = self.dataset.split(cfg.val_fraction, np.random.default_rng([cfg.seed, 3]))
        self.policy = build_policy(cfg, self.dataset)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=cfg.lr)
        self.env = self._make_env()
        self.env_spec = env_spec_of(self.env, cfg.task, cfg.scenario)
        self.state: dict[str, Any] = {"phase": "bc", "phase_step": 0, "step": 0, "round": 0, "best_val": math.inf,
                                      "best_success": -1.0, "bad_evals": 0, "wall_time_s": 0.0, "rounds": []}
        self.log = MetricsLog(folder)

    def _make_env(self):
        m = self.dataset.manifest
        return make_env(self.cfg.task, obs=self.cfg.obs, act=self.cfg.act, scenario=self.cfg.scenario,
                        physics_hz=m["physics_hz"], ctrl_hz=m["ctrl_hz"],
                        num_drones=self.cfg.num_drones if self.cfg.multi else None)

    # ---- checkpoints ------------------------------------------------------------------------
    def _rng_state(self) -> dict[str, Any]:
        return {"numpy": self.rng.bit_generator.state, "torch": torch.get_rng_state()}

    def save(self, name: str) -> None:
        self.state["metric_rows"] = self.log.rows
        save_checkpoint(self.folder / name, self.policy, self.env_spec,
                        {"config": self.cfg.to_dict(), "state": self.state}, self.optimizer, self._rng_state())

    def restore(self, path: Path) -> None:
        payload = read_checkpoint(path)
        self.policy.load_state_dict(payload["state_dict"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.rng.bit_generator.state = payload["rng"]["numpy"]
        torch.set_rng_state(payload["rng"]["torch"])
        self.state = payload["train"]["state"]
        self.reopen_log(self.state.get("metric_rows"), purge_step=self.state["step"] + 1)
        for r in range(self.state["round"]):
            self.dataset_add_round(r)

    def reopen_log(self, keep_rows: int | None, purge_step: int) -> None:
        """Drop what an interrupted process logged after its checkpoint (``keep_rows`` rows stay)."""
        self.log.close()
        self.log = MetricsLog(self.folder, keep_rows, purge_step)

    def close(self) -> None:
        self.log.close()
        self.env.close()

    def dataset_add_round(self, r: int) -> None:
        folder = self.round_folder(r)
        before = len(self.dataset)
        extra = DemoDataset([folder])
        self.dataset.episodes.extend(extra.episodes)
        self.train_ids.extend(range(before, len(self.dataset)))

    def round_folder(self, r: int) -> Path:
        return self.folder / "dagger" / f"round_{r:02d}"

    # ---- phases -----------------------------------------------------------------------------
    def validate(self) -> float:
        if not self.val_ids:
            return math.nan
        rng = np.random.default_rng([self.cfg.seed, 11])  # the same validation windows every time
        with torch.no_grad():
            batch = self.dataset.sample(self.val_ids, 4 * self.cfg.batch, self.cfg.window, self.cfg.warmup, rng)
            return float(sequence_loss(self.cfg, self.policy, batch, self.dataset.ctrl_dt_s, rng, augment=False))

    def train_phase(self, limit: int, stop_at_step: int | None) -> bool:
        """Gradient steps until ``limit`` in this phase (or early stop); False if stopped by ``stop_at_step``."""
        cfg, st = self.cfg, self.state
        from tqdm import tqdm

        lr = cfg.lr if st["phase"] == "bc" or cfg.finetune_lr is None else cfg.finetune_lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        bar = tqdm(total=limit, initial=st["phase_step"], desc=f"{st['phase']} {cfg.arch}", unit="it",
                   disable=not self.progress)
        t_last = time.perf_counter()
        try:
            while st["phase_step"] < limit:
                if stop_at_step is not None and st["step"] >= stop_at_step:
                    return False
                self.policy.train()
                batch = self.dataset.sample(self.train_ids, cfg.batch, cfg.window, cfg.warmup, self.rng)
                loss = sequence_loss(cfg, self.policy, batch, self.dataset.ctrl_dt_s, self.rng, augment=True)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.grad_clip)
                self.optimizer.step()
                st["step"] += 1
                st["phase_step"] += 1
                bar.update(1)
                if st["phase_step"] % cfg.eval_every == 0 or st["phase_step"] == limit:
                    now = time.perf_counter()
                    st["wall_time_s"] += now - t_last
                    t_last = now
                    val = self.validate()
                    self.log.log(st["step"], {"losses/train": loss.item(), "losses/val": val,
                                              "losses/grad_norm": float(grad_norm), "time/wall_s": st["wall_time_s"],
                                              "phase": st["phase"]})
                    bar.set_postfix(train=f"{loss.item():.4f}", val=f"{val:.4f}")
                    if st["phase"] == "bc":
                        if val < st["best_val"] - 1e-6:
                            st["best_val"], st["bad_evals"] = val, 0
                            self.save("best.pt")
                        else:
                            st["bad_evals"] += 1
                    self.save("last.pt")
                    if st["phase"] == "bc" and st["bad_evals"] >= cfg.patience:
                        break
        finally:
            st["wall_time_s"] += time.perf_counter() - t_last
            bar.close()
        return True

    def dagger_round(self) -> None:
        cfg, st = self.cfg, self.state
        r = st["round"]
        agent = Agent(self.policy, self.env_spec)
        t0 = time.perf_counter()
        success = success_rate(self.env, agent, self.eval_seeds())
        beta = cfg.dagger_beta * 0.5**r
        manifest = {k: v for k, v in read_manifest(self.expert_folders[0]).items() if k != "episodes_requested"}
        takeover = None if cfg.takeover_lost_s is None else round(cfg.takeover_lost_s * self.env_spec["ctrl_hz"])
        stats = dagger_round(self.env, agent, make_expert(self.env), self.round_folder(r), manifest,
                          cfg.dagger_episodes, beta, cfg.seed, r, progress=self.progress, takeover_steps=takeover)
        self.dataset_add_round(r)
        st["wall_time_s"] += time.perf_counter() - t0
        st["rounds"].append({"round": r, "eval_success": success, "beta": beta, **stats})
        self.log.log(st["step"], {"eval/success_rate": success, "dagger/round": r, "dagger/beta": beta,
                                  "dagger/mixed_successes": stats["successes"], "time/wall_s": st["wall_time_s"]})
        self._track_best_success(success)
        st["round"] += 1
        st["phase"], st["phase_step"] = "finetune", 0
        self.save("last.pt")

    def _track_best_success(self, success: float) -> None:
        if success >= self.state["best_success"]:
            self.state["best_success"] = success
            self.save("best.pt")

    def eval_seeds(self) -> list[int]:
        """Model-selection episodes (the same after every round; disjoint from every other use)."""
        return list(selection_seeds(self.cfg.seed, self.cfg.eval_episodes))

    def run(self, stop_at_step: int | None = None) -> dict[str, Any]:
        """Run (or continue) the schedule; ``stop_at_step`` stops early as an interruption would."""
        cfg, st = self.cfg, self.state
        while st["phase"] != "done":
            if st["phase"] in ("bc", "finetune"):
                limit = cfg.iterations if st["phase"] == "bc" else cfg.finetune_iterations
                if not self.train_phase(limit, stop_at_step):
                    self.save("last.pt")
                    return self.summary(stopped=True)
                more_rounds = cfg.algo == "dagger" and st["round"] < cfg.dagger_rounds
                st["phase"] = "collect" if more_rounds else "final"
                st["phase_step"] = 0
                self.save("last.pt")  # else a run stopped early, then interrupted, would train this phase again
            elif st["phase"] == "collect":
                self.dagger_round()
            elif st["phase"] == "final":
                if cfg.algo == "dagger":
                    t0 = time.perf_counter()
                    success = success_rate(self.env, Agent(self.policy, self.env_spec), self.eval_seeds())
                    st["wall_time_s"] += time.perf_counter() - t0
                    st["rounds"].append({"round": st["round"], "eval_success": success, "final": True})
                    self.log.log(st["step"], {"eval/success_rate": success, "dagger/round": st["round"],
                                              "time/wall_s": st["wall_time_s"]})
                    self._track_best_success(success)
                st["phase"] = "done"
                self.save("last.pt")
        return self.summary(stopped=False)

    def summary(self, stopped: bool) -> dict[str, Any]:
        st = self.state
        return {"run": str(self.folder), "step": st["step"], "stopped": stopped, "best_val": st["best_val"],
                "best_success": st["best_success"], "rounds": st["rounds"], "wall_time_s": round(st["wall_time_s"], 1)}


def run_folder_name(cfg: TrainConfig) -> str:
    task = f"{cfg.task}-n{cfg.num_drones}" if cfg.multi else cfg.task
    return folder_name(task, cfg.arch, cfg.algo, cfg.seed)


def ensure_demonstrations(cfg: TrainConfig, progress: bool = True) -> None:
    """Collect the default expert demonstrations when no data folder was given (resuming a partial set)."""
    if cfg.data:
        return
    spec = CollectSpec(cfg.task, cfg.obs, cfg.act, cfg.scenario, base_seed=cfg.seed, num_drones=cfg.num_drones)
    collect_demonstrations(spec, cfg.demo_episodes, Path(cfg.default_data_folder), workers=cfg.workers,
                           progress=progress, folder_option="--data")


def start_run(cfg: TrainConfig, progress: bool = True, stop_at_step: int | None = None,
              folder: Path | None = None) -> dict[str, Any]:
    """Start a new run in a fresh folder under ``cfg.out`` (or in ``folder``) and train.

    If set-up or training fails before the first checkpoint, nothing of the run is left: the folder
    is removed (a ``folder`` that existed before loses only what this call wrote into it). After a
    checkpoint the folder stays, to be continued with :func:`resume_run`; the error is re-raised.
    """
    ensure_demonstrations(cfg, progress)

    def train(folder: Path) -> dict[str, Any]:
        trainer = Trainer(cfg, folder, progress)
        try:
            return trainer.run(stop_at_step)
        finally:
            trainer.close()

    return start_run_in(folder, cfg.out, run_folder_name(cfg), {"config.json": cfg.to_dict()}, train)


def run_config(folder: str | Path, dagger_rounds: int | None = None) -> TrainConfig:
    """The config of the run in ``folder``, extended to ``dagger_rounds`` DAgger rounds if given.

    Raises:
        FileNotFoundError: ``folder`` holds no ``config.json``.
        ValueError: ``dagger_rounds`` for a run that is not DAgger, or fewer rounds than the run has.
    """
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} holds no config.json: not a run folder")
    cfg = TrainConfig.from_dict(json.loads((folder / "config.json").read_text()))
    if dagger_rounds is not None:
        if cfg.algo != "dagger":
            raise ValueError(f"--dagger-rounds extends a DAgger run; {folder} is a {cfg.algo} run")
        if dagger_rounds < cfg.dagger_rounds:
            raise ValueError(f"--dagger-rounds {dagger_rounds} is fewer than the run's {cfg.dagger_rounds} rounds; "
                             "a run can only be extended")
        cfg = dataclasses.replace(cfg, dagger_rounds=dagger_rounds)
    return cfg


def resume_run(folder: str | Path, progress: bool = True, stop_at_step: int | None = None,
               dagger_rounds: int | None = None) -> dict[str, Any]:
    """Continue the run in ``folder`` from its ``last.pt`` (from the start if it has none yet).

    Args:
        dagger_rounds: extend a DAgger run to this many rounds (at least its own), even a finished one:
            the next round starts from the last weights, with the expert's share halving as before, and
            ``config.json`` records the new count. A finished run's closing evaluation stays in its log.

    Raises:
        FileNotFoundError, ValueError: see :func:`run_config`.
    """
    folder = Path(folder)
    cfg = run_config(folder, dagger_rounds)
    trainer = Trainer(cfg, folder, progress)
    try:
        if (folder / "last.pt").is_file():
            trainer.restore(folder / "last.pt")
            st = trainer.state
            if cfg.algo == "dagger" and st["phase"] in ("final", "done") and st["round"] < cfg.dagger_rounds:
                st["phase"], st["phase_step"] = "collect", 0
        else:  # killed before its first checkpoint: start again from nothing
            trainer.reopen_log(0, purge_step=0)
        if dagger_rounds is not None:
            write_json_atomic(folder / "config.json", cfg.to_dict())
        return trainer.run(stop_at_step)
    finally:
        trainer.close()
