"""Ship a trained agent: an agent folder ``agents/<name>/`` with its weights, its record and a model card.

An agent folder holds:

* ``agent.pt``: the run's best checkpoint without optimiser or RNG state (weights, policy config, env spec with
  a PPO agent's observation normalisation, and the training configuration);
* ``eval.json``: the full record (task, architecture, parameters, training configuration, test scores,
  scenario scores, date, package version, the commands that produced it);
* ``README.md``: the model card, the record in prose and tables.

The card's test score is the success on ``test_episodes`` nominal episodes from the test seeds
:data:`ltc_drones.seeding.TEST_SEED_START` on, never used in training or model selection, with its 95 %
Wilson interval. Scenario scores come from extra evaluations on the first of those seeds (:func:`ship_run`) or
from a benchmark's finished evaluation cells (:func:`ship_benchmark_cell`). For a multi-agent task success
is team success, and the card also gives per-drone success and the collision rate.

The folder is written atomically: everything goes into a hidden temporary folder beside it, which is then
renamed into place; an existing agent folder is replaced only with ``force``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..agents.checkpoint import policy_from_checkpoint, read_checkpoint, save_checkpoint
from ..seeding import TEST_SEED_START
from ..tasks import task_spec
from ..version import __version__
from .cards import benchmark_card, run_card

KEPT_METRICS = ("episodes", "successes", "success_ci95", "agent_success_rate", "agent_success_ci95",
                "collision_rate", "crash_rate")
"""The summary fields of an evaluation that a record keeps per scenario."""


@dataclass(frozen=True)
class ShipSource:
    """What is shipped: a checkpoint and the training configuration of its run.

    Attributes:
        checkpoint: the checkpoint file (a run's ``best.pt``).
        run: the run folder, or None for a checkpoint outside a run folder.
        config: the run's training configuration (its ``config.json``, else the checkpoint's own copy).
    """

    checkpoint: Path
    run: Path | None
    config: dict[str, Any]

    @property
    def name(self) -> str:
        """The run folder's name (the checkpoint's file name without a run folder)."""
        return (self.run or self.checkpoint).name


def resolve_source(run: str | os.PathLike) -> ShipSource:
    """The checkpoint and configuration of ``run``: a run folder (its ``best.pt`` and ``config.json``) or a
    checkpoint file (its own copy of the training configuration).

    Raises:
        FileNotFoundError: no such file or folder, or a folder without ``best.pt``.
        ValueError: a checkpoint that records no training configuration.
    """
    path = Path(run)
    if path.is_dir():
        checkpoint = path / "best.pt"
        if not checkpoint.is_file():
            raise FileNotFoundError(f"{path} holds no best.pt: give a training run folder or a checkpoint file")
    elif path.is_file():
        checkpoint = path
    else:
        raise FileNotFoundError(f"no run at {str(path)!r}: give a training run folder or a checkpoint file")
    folder = checkpoint.parent if (checkpoint.parent / "config.json").is_file() else None
    if folder is not None:
        config = json.loads((folder / "config.json").read_text())
    else:
        config = read_checkpoint(checkpoint)["train"].get("config")
        if not isinstance(config, dict):
            raise ValueError(f"{checkpoint} records no training configuration; ship a run folder instead")
    return ShipSource(checkpoint, folder, config)


def agent_folder(out: str | os.PathLike, name: str, force: bool = False) -> Path:
    """The folder ``out/name`` to ship into, checked before any work.

    Raises:
        ValueError: ``name`` is empty or not a plain folder name.
        FileExistsError: the folder exists and ``force`` is False.
    """
    if not name or name in (".", "..") or Path(name).name != name or name.startswith("."):
        raise ValueError(f"--name {name!r}: give a plain folder name such as fly-to-target__ltc-ncp__kin")
    folder = Path(out) / name
    if folder.exists() and not force:
        raise FileExistsError(f"{folder} exists; choose another --name or replace it with --force")
    return folder


def write_stripped_checkpoint(checkpoint: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Write ``checkpoint`` to ``dest`` without optimiser or RNG state: the policy, its env spec (with a PPO
    agent's observation normalisation) and the training configuration (PPO's too)."""
    payload = read_checkpoint(checkpoint)
    policy = policy_from_checkpoint(payload, checkpoint)
    train = {k: payload["train"][k] for k in ("config", "ppo") if k in payload["train"]}
    return save_checkpoint(dest, policy, payload["env"], train)


def write_agent_folder(folder: str | os.PathLike, checkpoint: str | os.PathLike, record: dict[str, Any],
                       card: str, force: bool = False) -> Path:
    """Write ``agent.pt`` (``checkpoint`` stripped, see :func:`write_stripped_checkpoint`), ``eval.json``
    (``record``) and ``README.md`` (``card``) into ``folder`` atomically: all in a temporary folder beside it,
    then renamed into place.

    Raises:
        FileExistsError: ``folder`` exists and ``force`` is False.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    old = None
    try:
        write_stripped_checkpoint(checkpoint, tmp / "agent.pt")
        (tmp / "eval.json").write_text(json.dumps(record, indent=2) + "\n")
        (tmp / "README.md").write_text(card)
        for f in tmp.iterdir():
            os.chmod(f, 0o644)
        os.chmod(tmp, 0o755)
        if folder.exists():
            if not force:
                raise FileExistsError(f"{folder} exists; choose another --name or replace it with --force")
            old = folder.with_name(f".{folder.name}.old{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not folder.exists():
            os.replace(old, folder)  # put the previous agent back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def command_line(program: str, *args: Any, **options: Any) -> str:
    """A shell command line: ``program``, the positional ``args``, then ``--option value`` for every option that
    is not None, False or empty (True gives a bare ``--option``); values are shell-quoted."""
    parts = [program, *(shlex.quote(str(a)) for a in args)]
    for key, value in options.items():
        if value is None or value is False or value == "":
            continue
        parts.append(f"--{key.replace('_', '-')}")
        if value is not True:
            parts.append(shlex.quote(str(value)))
    return " ".join(parts)


def _machine() -> str:
    return f"{platform.machine()}, 1 torch thread"


def _kept(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k in KEPT_METRICS}


def _evaluate(checkpoint: Path, task: str, scenarios: Sequence[str], episodes: int, workers: int, out: Path,
              num_drones: int | None, progress: bool) -> dict[str, dict[str, Any]]:
    from ..evaluation import evaluate

    result = evaluate(str(checkpoint), task, list(scenarios), episodes, seed=TEST_SEED_START, workers=workers,
                      out=out, progress=progress, num_drones=num_drones)
    return {s: _kept(summary) for s, summary in result.summaries.items()}


def _work_folder(work: str | os.PathLike | None, name: str, checkpoint: Path) -> Path:
    """``work/<digest of the checkpoint>`` (default work: ``runs/ship/<name>``): a ship of the same checkpoint
    resumes its evaluations, a ship of another one never mixes its episodes with theirs."""
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:12]
    return (Path(work) if work is not None else Path("runs") / "ship" / name) / digest


def _parameters(checkpoint: Path) -> int:
    from ..models import trainable_parameters

    return trainable_parameters(policy_from_checkpoint(read_checkpoint(checkpoint), checkpoint))


def _default_train_command(config: dict[str, Any]) -> str:
    return f"ltc-drones train --config configs/{config['task']}-{config['obs']}-{config['arch']}.yaml"


def ship_run(run: str | os.PathLike, name: str, *, scenarios: Sequence[str] = (), test_episodes: int = 100,
             shift_episodes: int = 30, workers: int = 2, out: str | os.PathLike = "agents",
             work: str | os.PathLike | None = None, train_command: str | None = None, note: str = "",
             command: str | None = None, facts: dict[str, str] | None = None,
             extra: dict[str, Any] | None = None, force: bool = False, progress: bool = True) -> dict[str, Any]:
    """Ship the best checkpoint of a training run (imitation or PPO) with a model card of its test scores.

    Args:
        run: a training run folder (``best.pt`` and ``config.json``) or a checkpoint file.
        name: the agent folder's name under ``out``.
        scenarios: shifted scenarios (``"fog@3"``) measured on ``shift_episodes`` episodes each.
        test_episodes: nominal test episodes (seeds from :data:`~ltc_drones.seeding.TEST_SEED_START`).
        shift_episodes: episodes per shifted scenario (the first of the same seeds).
        workers: evaluation worker processes.
        out: the folder of agent folders.
        work: the evaluations' folder (default ``runs/ship/<name>``), one subfolder per checkpoint (named by its
            digest), so an interrupted ship resumes. The stripped checkpoint is written there first, and that
            file is what is evaluated and shipped.
        train_command: the command that trained the run (default: ``ltc-drones train --config
            configs/<task>-<obs>-<arch>.yaml``).
        note: a paragraph for the card, e.g. how the run was chosen.
        command: the command that shipped it, for the card (default: the equivalent ``ltc-drones ship``).
        facts: extra ``{metric: value}`` rows for the card (e.g. the training wall time).
        extra: extra fields of the record (``eval.json``), e.g. a reference script's own result.
        force: replace an existing agent folder.
        progress: show progress bars.

    Returns:
        The record written to ``eval.json`` (its ``"folder"`` is the agent folder).

    Raises:
        FileNotFoundError: no such run.
        FileExistsError: the agent folder exists and ``force`` is False.
    """
    source = resolve_source(run)
    folder = agent_folder(out, name, force)
    config = source.config
    task, num_drones = config["task"], config.get("num_drones")
    team = num_drones if task_spec(task).team else None
    work = _work_folder(work, name, source.checkpoint)
    shipped = write_stripped_checkpoint(source.checkpoint, work / "agent.pt")  # the scores are the shipped file's
    test = _evaluate(shipped, task, ["nominal"], test_episodes, workers, work / "test", team, progress)
    shifted = (_evaluate(shipped, task, scenarios, shift_episodes, workers, work / "shifts", team, progress)
               if scenarios else {})
    command = command or command_line("ltc-drones ship", run, name=name, scenarios=",".join(scenarios),
                                      test_episodes=test_episodes if test_episodes != 100 else None,
                                      shift_episodes=shift_episodes if scenarios and shift_episodes != 30 else None,
                                      out=None if Path(out) == Path("agents") else out,
                                      train_command=train_command, note=note)
    record = {
        "agent": name, "run": source.name, "task": task, "num_drones": num_drones, "obs": config["obs"],
        "arch": config["arch"], "parameters": _parameters(source.checkpoint), "config": config,
        "test": {"seed_start": TEST_SEED_START, **test["nominal"]}, "scenarios": shifted,
        "date": dt.date.today().isoformat(), "package_version": __version__, "machine": _machine(),
        "command": command, "train_command": train_command or _default_train_command(config), "note": note,
        "facts": dict(facts or {}), **(extra or {}),
    }
    write_agent_folder(folder, shipped, record, run_card(record, folder), force)
    return {**record, "folder": str(folder)}


def benchmark_train_cell(run: str | os.PathLike) -> tuple[str, int]:
    """The architecture and training seed of a benchmark's training run folder (``<arch>__seed<seed>``)."""
    arch, sep, seed = Path(run).name.rpartition("__seed")
    if not sep or not arch or not seed.isdigit():
        raise ValueError(f"{run}: not a benchmark training run folder (runs/benchmarks/<grid>/runs/<arch>__seed<seed>)")
    return arch, int(seed)


def ship_benchmark_cell(run: str | os.PathLike, grid_file: str | os.PathLike, name: str, *,
                        results: str | os.PathLike | None = None, test_episodes: int = 100, workers: int = 2,
                        out: str | os.PathLike = "agents", work: str | os.PathLike | None = None,
                        note: str = "", command: str | None = None, force: bool = False,
                        progress: bool = True) -> dict[str, Any]:
    """Ship the agent of a benchmark's training cell with a model card of its test and shift scores.

    The test score is measured here (``test_episodes`` nominal episodes from the test seeds); the score under
    every shift and level comes from the benchmark's finished evaluation cells (``results/cells``).

    Args:
        run: the cell's training run folder, ``runs/benchmarks/<grid>/runs/<arch>__seed<seed>``.
        grid_file: the benchmark's grid file (``benchmarks/<grid>.yaml``).
        name: the agent folder's name under ``out``.
        results: the benchmark's results folder (default ``results/<grid name>``).
        test_episodes, workers, out, work, note, command, force, progress: as for :func:`ship_run`.

    Returns:
        The record written to ``eval.json`` (its ``"folder"`` is the agent folder).

    Raises:
        FileNotFoundError: no such run or grid file.
        FileExistsError: the agent folder exists and ``force`` is False.
        ValueError: an invalid grid, or a run folder that is not one of the grid's training cells.
    """
    from ..benchmark.grid import load_grid

    source = resolve_source(run)
    arch, seed = benchmark_train_cell(source.run or run)
    grid = load_grid(grid_file)
    if arch not in grid.archs or seed not in grid.seeds:
        raise ValueError(f"{run}: {arch} with training seed {seed} is not a cell of the grid {grid_file}")
    folder = agent_folder(out, name, force)
    results = Path(results) if results is not None else Path("results") / grid.name
    work = _work_folder(work, name, source.checkpoint)
    shipped = write_stripped_checkpoint(source.checkpoint, work / "agent.pt")  # the score is the shipped file's
    test = _evaluate(shipped, grid.task, ["nominal"], test_episodes, workers, work / "test", grid.num_drones,
                     progress)["nominal"]
    shifts: dict[str, Any] = {}
    for shard in grid.shards:
        path = results / "cells" / f"eval__{arch}__seed{seed}__{shard}.json"
        if path.is_file():
            for scenario, v in json.loads(path.read_text())["scenarios"].items():
                shifts[scenario] = {k: v["summary"][k] for k in ("successes", "episodes", "success_ci95")}
    command = command or command_line("ltc-drones ship", run, name=name, grid=grid_file,
                                      results=results if results != Path("results") / grid.name else None,
                                      test_episodes=test_episodes if test_episodes != 100 else None,
                                      out=None if Path(out) == Path("agents") else out, note=note)
    record = {
        "agent": name, "grid": Path(grid_file).as_posix(), "arch": arch, "training_seed": seed,
        "parameters": _parameters(source.checkpoint), "train": grid.train, "demo_episodes": grid.demo_episodes,
        "test": {"episodes": test["episodes"], "successes": test["successes"],
                 "wilson95": [round(x, 3) for x in test["success_ci95"]], "seed_start": TEST_SEED_START},
        "scenarios": shifts, "date": dt.date.today().isoformat(), "package_version": __version__,
        "machine": _machine(), "command": command, "note": note,
    }
    write_agent_folder(folder, shipped, record, benchmark_card(record, grid, folder), force)
    return {**record, "folder": str(folder)}
