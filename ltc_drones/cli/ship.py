"""``ltc-drones ship``: an agent folder (weights, record, model card) from a training run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from . import checks
from .command import Command, usage_checks


@dataclass(frozen=True)
class ShipOptions:
    """Ship the best checkpoint of a training run (imitation or PPO) as an agent folder <out>/<name>/: agent.pt (the
    checkpoint without optimiser or RNG state), eval.json (the full record) and README.md (the model card: success
    on --test-episodes nominal test episodes from seed 20000 on, never used in training or model selection, and on
    every --scenarios entry, with 95 % Wilson intervals; team success, per-drone success and collision rate for
    multi-agent tasks; parameters, training command, this command, date and package version). With --grid, RUN is a
    benchmark's training run folder (runs/benchmarks/<grid>/runs/<arch>__seed<seed>) and the card also gives the
    success under every shift and level that the benchmark's finished evaluation cells measured. The folder is
    written atomically (a temporary folder, then renamed); an existing one is replaced only with --force."""

    run: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="RUN")]
    """Training run folder (holds best.pt and config.json), or a checkpoint file."""
    name: str
    """Name of the agent folder under --out, e.g. fly-to-target__ltc-ncp__kin."""
    scenarios: str = ""
    """Comma-separated shifted scenarios for the card, levels as name@level: e.g. target-color@3,wind-gusts@3
    (not with --grid: the benchmark's evaluation cells give the shifts)."""
    test_episodes: int = 100
    """Nominal test episodes (seeds 20000.., ltc_drones.seeding.TEST_SEED_START)."""
    shift_episodes: int = 30
    """Episodes per --scenarios entry (the first of the test seeds)."""
    workers: int = 2
    """Evaluation worker processes (one torch thread each)."""
    out: Path = Path("agents")
    """Folder of agent folders."""
    work: Path | None = None
    """Folder of the evaluations' records (default: runs/ship/<name>; an interrupted ship resumes from it)."""
    train_command: str | None = None
    """The command that trained the run, for the card (default: ltc-drones train --config
    configs/<task>-<obs>-<arch>.yaml; with --grid: the benchmark command)."""
    note: str = ""
    """A paragraph for the card, e.g. how this run was chosen."""
    grid: Path | None = None
    """Benchmark grid file of the run (benchmarks/<grid>.yaml): ship a benchmark's training cell."""
    results: Path | None = None
    """With --grid: the benchmark's results folder (default: results/<grid name>)."""
    force: bool = False
    """Replace an existing agent folder of that name."""


def run(o: ShipOptions) -> int:
    from ..shipping import ship

    checks.at_least("--test-episodes", o.test_episodes, 1)
    checks.at_least("--shift-episodes", o.shift_episodes, 1)
    checks.at_least("--workers", o.workers, 1)
    checks.existing("RUN", o.run)
    scenarios = [s.strip() for s in o.scenarios.split(",") if s.strip()]
    with usage_checks():
        source = ship.resolve_source(o.run)
        ship.agent_folder(o.out, o.name, o.force)
        if o.grid is not None:
            from ..benchmark.grid import load_grid

            if scenarios or o.train_command:
                raise ValueError("--scenarios and --train-command do not apply with --grid (the benchmark's "
                                 "evaluation cells and grid give them)")
            checks.existing("--grid", o.grid, "file")
            ship.benchmark_train_cell(source.run or o.run)
            load_grid(o.grid)
        elif o.results is not None:
            raise ValueError("--results applies with --grid only")
        else:
            from ..evaluation.evaluator import make_request
            from ..tasks import task_spec

            config = source.config  # the agent fits its task, and every scenario exists
            team = config.get("num_drones") if task_spec(config["task"]).team else None
            make_request(str(source.checkpoint), config["task"], ["nominal", *scenarios], 1, 0, None,
                         num_drones=team)
    checks.writable_folder("--out", o.out)
    if o.grid is not None:
        record = ship.ship_benchmark_cell(o.run, o.grid, o.name, results=o.results, test_episodes=o.test_episodes,
                                          workers=o.workers, out=o.out, work=o.work, note=o.note, force=o.force)
    else:
        record = ship.ship_run(o.run, o.name, scenarios=scenarios, test_episodes=o.test_episodes,
                               shift_episodes=o.shift_episodes, workers=o.workers, out=o.out, work=o.work,
                               train_command=o.train_command, note=o.note, force=o.force)
    t = record["test"]
    print(f"shipped {o.name}: {t['successes']}/{t['episodes']} nominal test successes; agent folder "
          f"{record['folder']}")
    return 0


COMMAND = Command(ShipOptions, run)
