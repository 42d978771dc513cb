"""``ltc-drones train``: every field of :class:`~ltc_drones.training.TrainConfig` is an option."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro

from ..rl.config import PPOConfig
from ..training.config import TrainConfig
from . import checks
from .command import Command, UsageError, usage_checks


@dataclass(frozen=True)
class TrainOptions:
    """Train an agent by sequence behaviour cloning on expert demonstrations, then (--algo dagger) DAgger
    rounds. Writes a run folder under --out (config.json, metrics.jsonl, best.pt, last.pt) and prints a
    summary. On a multi-agent task (--task multi-follow --num-drones 2) one policy, shared by every drone, is
    trained on each drone's flights and flies each drone with its own recurrent state. Every option below is a
    field of ltc_drones.training.TrainConfig; --config FILE sets them from a JSON or YAML file (such as a run's
    config.json), options on the command line override it. --algo ppo trains by reinforcement learning instead
    (stable-baselines3 PPO; extra [rl]) on --envs parallel envs of the vector backend or PyBullet, or on any
    Gymnasium env with --env-id; the PPO options below apply to it only."""

    train: Annotated[TrainConfig, tyro.conf.arg(name="")] = field(default_factory=TrainConfig)
    ppo: Annotated[PPOConfig, tyro.conf.arg(name="")] = field(default_factory=PPOConfig)
    resume: Annotated[Path | None, tyro.conf.arg(metavar="RUN")] = None
    """Continue the stopped run in this folder from its last.pt, with the run's own config.json (give no
    other option with it, except --dagger-rounds N: extend a DAgger run, even a finished one, to N rounds)."""


def run(options: TrainOptions) -> int:
    from ..envs import load_scenario
    from ..training import resume_run, start_run
    from ..training.runner import run_config

    if options.resume is not None:
        default_rounds = TrainConfig().dagger_rounds
        rounds = options.train.dagger_rounds
        if dataclasses.replace(options.train, dagger_rounds=default_rounds) != TrainConfig() \
                or options.ppo != PPOConfig():
            raise UsageError("--resume continues a run with the options in its config.json; give no other option "
                             "(or --config) with it, except --dagger-rounds N to extend a DAgger run to N rounds")
        folder = checks.existing("--resume", options.resume, "folder")
        checks.existing("--resume", folder / "config.json", "file")
        checks.writable_folder("--resume", folder)
        if _is_ppo_run(folder):
            if rounds != default_rounds:
                raise UsageError(f"--dagger-rounds extends a DAgger run; {folder} is a PPO run")
            summary = _ppo().resume_ppo_run(folder)
        else:
            extend = None if rounds == default_rounds else rounds
            with usage_checks():
                run_config(folder, extend)  # refuses an impossible extension before anything runs
            summary = resume_run(folder, dagger_rounds=extend)
    elif options.train.algo == "ppo":
        cfg, ppo = options.train, options.ppo
        runner = _ppo()
        with usage_checks():
            runner.check_configs(cfg, ppo)
        if ppo.init_from is not None:
            checks.existing("--init-from", ppo.init_from, "file or folder")
        checks.writable_folder("--out", cfg.out)
        summary = runner.start_ppo_run(cfg, ppo)
    else:
        if options.ppo != PPOConfig():
            raise UsageError("the PPO options (--envs, --backend, --total-steps, --env-id, --init-from, ...) apply "
                             "to --algo ppo only")
        cfg = options.train
        with usage_checks():
            load_scenario(cfg.task, cfg.scenario)
        for folder in cfg.data:
            checks.existing("--data", folder, "folder")
        if not cfg.data:  # the default demonstrations are collected into this folder when it is missing
            checks.writable_folder("--data (default)", cfg.default_data_folder)
        checks.writable_folder("--out", cfg.out)
        summary = start_run(cfg)
    print(json.dumps(summary, indent=2))
    return 0


def _is_ppo_run(folder: Path) -> bool:
    return json.loads((folder / "config.json").read_text()).get("algo") == "ppo"


def _ppo():
    """The PPO runner (stable-baselines3 and sb3-contrib are an optional extra)."""
    try:
        from ..rl import runner
    except ImportError as exc:
        raise UsageError(f"--algo ppo needs stable-baselines3 and sb3-contrib ({exc}); "
                         "install them with pip install 'ltc_drones[rl]'") from exc
    return runner


COMMAND = Command(TrainOptions, run, config="train")
