"""``ltc-drones train``: every field of :class:`~ltc_drones.training.TrainConfig` is an option."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro

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
    config.json), options on the command line override it."""

    train: Annotated[TrainConfig, tyro.conf.arg(name="")] = field(default_factory=TrainConfig)
    resume: Annotated[Path | None, tyro.conf.arg(metavar="RUN")] = None
    """Continue the stopped run in this folder from its last.pt, with the run's own config.json (give no
    other option with it)."""


def run(options: TrainOptions) -> int:
    from ..envs import load_scenario
    from ..training import resume_run, start_run

    if options.resume is not None:
        if options.train != TrainConfig():
            raise UsageError("--resume continues a run with the options in its config.json; give no other option "
                             "(or --config) with it")
        folder = checks.existing("--resume", options.resume, "folder")
        checks.existing("--resume", folder / "config.json", "file")
        checks.writable_folder("--resume", folder)
        summary = resume_run(folder)
    else:
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


COMMAND = Command(TrainOptions, run, config="train")
