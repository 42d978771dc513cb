"""Benchmark grids: architectures × training seeds × scenarios at severity levels, as independent cells.

A grid file (``benchmarks/<name>.yaml``)::

    name: fly-to-target-rgb
    task: fly-to-target
    obs: rgb
    archs: [ltc-ncp, cfc-ncp, lstm]
    seeds: [0, 1, 2]              # training seeds
    demo_episodes: 200            # expert demonstrations per seed, shared by every architecture of that seed
    train: {algo: dagger, iterations: 1500}   # TrainConfig overrides, the same for every architecture
    episodes: 30                  # evaluation episodes per agent and scenario (the same seeds everywhere)
    eval_seed: 0
    shifts: all                   # or a list of shift names
    levels: [1, 3, 5]             # severity levels of every shift (nominal is always included)
    diagnostics: false            # or true, or settings: {episodes: 10, intervention_episodes: 10, ...}

A multi-agent task (``task: multi-follow`` or ``multi-fly-to-target``) also needs ``num_drones`` (2-8): the
demonstrations are team episodes of that many drones, each architecture trains one policy shared by every
drone, and the evaluation cells fly teams of that size (success is then *team* success; the cells also keep
per-agent successes and collisions). Their diagnostics cells measure every agent's attention, pooled over
the agents, with the other drones as one more region; interventions move single-agent targets only.

Cells (each runs alone and writes one JSON record; a finished cell is never run again):
``data__seed<s>`` (collect the demonstrations), ``train__<arch>__seed<s>`` (needs the data),
``eval__<arch>__seed<s>__<shift>`` (needs the agent; one shift at all its levels, or ``nominal``), and
with diagnostics ``diag__<arch>__seed<s>`` (needs the agent): every scenario of the grid flown again for
``episodes`` (default 10) episodes with a diagnostics provider (attention on the target at every step,
sanity checks once per agent, causal interventions in the nominal world); the other keys of the
``diagnostics`` mapping are the provider's settings (see ``ltc_drones.diagnostics.ClosedLoopDiagnostics``).
Diagnostics add cells and never change the others: switching them on for a finished benchmark runs only
the diagnostics cells.
Everything is validated when the grid is loaded, before anything trains: an unknown key, task,
architecture, shift or level is refused naming the entry.

Reinforcement learning (``train: {algo: ppo, total_steps: 2000000, ...}``): each training cell is a PPO run
(:mod:`ltc_drones.rl`) from scratch with the same budget for every architecture, so there are no data cells
and ``demo_episodes`` is refused. The ``train`` mapping then takes :class:`~ltc_drones.rl.PPOConfig` fields
(``backend``, ``envs``, ``total_steps``, ``eval_every_steps``, ``learning_rate``, ...) and the
:class:`~ltc_drones.training.TrainConfig` fields PPO reads (:data:`PPO_TRAIN_CONFIG_KEYS`); the run's
``best.pt`` (its best model-selection evaluation) is the agent the evaluation cells fly in the PyBullet env.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIXED_TRAIN_KEYS = ("task", "obs", "act", "arch", "seed", "data", "out", "workers", "demo_episodes", "num_drones")
DIAGNOSTICS_EPISODES = 10
"""Default episodes per agent and scenario of a diagnostics cell."""
DIAGNOSTICS_KEYS = ("episodes", "methods", "target", "gradient_every", "sanity_episodes", "sanity_frames",
                    "sanity_draws", "sanity_threshold", "intervention_episodes", "intervention_scenarios",
                    "intervention_kinds")
"""Keys of a grid's ``diagnostics`` mapping: ``episodes`` and the settings of the diagnostics provider."""
PPO_TRAIN_CONFIG_KEYS = ("algo", "scenario", "core_config", "feature_dim", "conv_pool", "eval_episodes")
"""TrainConfig fields a PPO grid's ``train`` mapping may set (the rest of it is PPOConfig fields)."""
PPO_REFUSED_KEYS = ("env_id", "success_return", "init_from")
"""PPOConfig fields a grid may not set: the grid names the task, and every architecture trains from scratch."""


class GridError(ValueError):
    """A benchmark grid file is invalid."""


@dataclass(frozen=True)
class Cell:
    """One unit of work: ``kind`` data/train/eval, with the cells it needs first."""

    id: str
    kind: str
    seed: int
    arch: str = ""
    shard: str = ""
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grid:
    """A validated benchmark grid (see the module docstring for the file format)."""

    name: str
    task: str
    obs: str
    archs: tuple[str, ...]
    seeds: tuple[int, ...]
    act: str = "vel"
    demo_episodes: int = 200
    train: dict[str, Any] = field(default_factory=dict, hash=False)
    episodes: int = 30
    eval_seed: int = 0
    shifts: tuple[str, ...] = ()
    levels: tuple[int, ...] = (1, 3, 5)
    description: str = ""
    diagnostics: dict[str, Any] | None = field(default=None, hash=False)
    """None (off), or ``{"episodes": n, **provider settings}``."""
    num_drones: int | None = None
    """Drones of a multi-agent task (None for single-agent tasks)."""

    @property
    def rl(self) -> bool:
        """Whether the training cells are PPO runs (``train: {algo: ppo}``; no demonstrations)."""
        return self.train.get("algo") == "ppo"

    @property
    def team(self) -> dict[str, int]:
        """``{"num_drones": n}`` for a multi-agent grid, else empty (keyword arguments of collection, training
        and evaluation)."""
        return {} if self.num_drones is None else {"num_drones": self.num_drones}

    # ---- derived ----------------------------------------------------------------------------------------
    def shard_scenarios(self, shard: str) -> list[str]:
        """The scenarios of an evaluation shard: ``nominal``, or one shift at every level."""
        return ["nominal"] if shard == "nominal" else [f"{shard}@{lv}" for lv in self.levels]

    @property
    def shards(self) -> list[str]:
        return ["nominal", *self.shifts]

    @property
    def scenarios(self) -> list[str]:
        return [s for shard in self.shards for s in self.shard_scenarios(shard)]

    def cells(self) -> list[Cell]:
        out: list[Cell] = []
        for s in self.seeds:
            needs: tuple[str, ...] = ()
            if not self.rl:
                data = Cell(f"data__seed{s}", "data", s)
                out.append(data)
                needs = (data.id,)
            for a in self.archs:
                train = Cell(f"train__{a}__seed{s}", "train", s, a, needs=needs)
                out.append(train)
                out.extend(Cell(f"eval__{a}__seed{s}__{sh}", "eval", s, a, sh, needs=(train.id,))
                           for sh in self.shards)
                if self.diagnostics is not None:
                    out.append(Cell(f"diag__{a}__seed{s}", "diag", s, a, needs=(train.id,)))
        return out

    @property
    def provider_settings(self) -> dict[str, Any]:
        """The diagnostics provider's settings (the ``diagnostics`` mapping without ``episodes``)."""
        return {k: v for k, v in (self.diagnostics or {}).items() if k != "episodes"}

    def to_dict(self) -> dict[str, Any]:
        """The grid as plain data; ``diagnostics`` and ``num_drones`` appear only when set (see :meth:`identity`),
        ``demo_episodes`` only for imitation."""
        d = dataclasses.asdict(self)
        for key in ("diagnostics", "num_drones"):
            if d[key] is None:
                del d[key]
        if self.rl:
            del d["demo_episodes"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def identity(self) -> dict[str, Any]:
        """What the results of the evaluation cells depend on (``grid.json``): everything but ``diagnostics``,
        which only adds cells."""
        return {k: v for k, v in self.to_dict().items() if k != "diagnostics"}


def _all_shifts() -> list[str]:
    from ..envs import scenario as sc

    if hasattr(sc, "available_shifts"):
        return sorted(sc.available_shifts())
    return [s for s in sc.available_scenarios() if s != "nominal"]


def grid_from_dict(data: dict[str, Any], source: str = "<grid>") -> Grid:
    """Validate a grid mapping (all entries checked before anything runs)."""
    from ..envs import load_scenario
    from ..models import CORE_NAMES
    from ..tasks import task_spec
    from ..training import TrainConfig

    fields = {f.name for f in dataclasses.fields(Grid)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise GridError(f"{source}: unknown key(s) {unknown}; valid keys: {', '.join(sorted(fields))}")
    for key in ("name", "task", "obs", "archs", "seeds"):
        if key not in data:
            raise GridError(f"{source}: missing key {key!r}")
    d = dict(data)
    try:
        team = task_spec(d["task"]).team
    except ValueError as exc:
        raise GridError(f"{source}: {exc}") from None
    _team(d, team, source)
    d["archs"] = tuple(d["archs"])
    for a in d["archs"]:
        if a not in CORE_NAMES:
            raise GridError(f"{source}: unknown architecture {a!r}; valid: {', '.join(CORE_NAMES)}")
    if len(set(d["archs"])) != len(d["archs"]) or not d["archs"]:
        raise GridError(f"{source}: archs must be a non-empty list without repeats, got {list(d['archs'])}")
    d["seeds"] = tuple(int(s) for s in d["seeds"])
    if not d["seeds"] or len(set(d["seeds"])) != len(d["seeds"]) or min(d["seeds"]) < 0:
        raise GridError(f"{source}: seeds must be distinct non-negative integers, got {list(d['seeds'])}")
    shifts = d.get("shifts", "all")
    valid_shifts = _all_shifts()
    d["shifts"] = tuple(valid_shifts if shifts == "all" else shifts or ())
    for s in d["shifts"]:
        if s not in valid_shifts:
            raise GridError(f"{source}: unknown shift {s!r}; valid shifts: {', '.join(valid_shifts)}")
    d["levels"] = tuple(int(v) for v in d.get("levels", (1, 3, 5)))
    train = dict(d.get("train") or {})
    fixed = sorted(set(train) & set(FIXED_TRAIN_KEYS))
    if fixed:
        raise GridError(f"{source}: train may not set {fixed}; the grid sets them (use the grid's own keys)")
    d["train"] = train
    for key in ("episodes", "demo_episodes"):
        if int(d.get(key, 1)) < 1:
            raise GridError(f"{source}: {key} must be >= 1, got {d[key]}")
    d["diagnostics"] = _diagnostics(d.get("diagnostics"), source)
    grid = Grid(**d)
    if grid.rl:
        _check_ppo(grid, data, source)
    try:  # the training config of every architecture must be valid
        for a in grid.archs:
            if grid.rl:
                from ..rl.setup import check_configs

                check_configs(*ppo_configs(grid, a, grid.seeds[0], "runs"))
            else:
                TrainConfig(**train_config_kwargs(grid, a, grid.seeds[0], "data", "runs"))
    except (TypeError, ValueError) as exc:
        raise GridError(f"{source}: invalid train settings: {exc}") from exc
    for scenario in grid.scenarios:  # unknown levels raise here, naming the entry
        try:
            load_scenario(grid.task, scenario)
        except ValueError as exc:
            raise GridError(f"{source}: scenario {scenario!r}: {exc}") from exc
    return grid


def _team(d: dict[str, Any], multi: bool, source: str) -> None:
    """Check ``num_drones`` (in place): required by multi-agent tasks, refused by the others."""
    from ..tasks import MAX_DRONES, MIN_DRONES, check_num_drones

    n = d.get("num_drones")
    if multi and n is None:
        raise GridError(f"{source}: task {d['task']} is multi-agent: give num_drones ({MIN_DRONES}-{MAX_DRONES})")
    try:
        check_num_drones(d["task"], n)
    except ValueError as exc:
        raise GridError(f"{source}: {exc}") from None


def _diagnostics(value: Any, source: str) -> dict[str, Any] | None:
    """The ``diagnostics`` entry: false/None (off), true (defaults) or a mapping of :data:`DIAGNOSTICS_KEYS`."""
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise GridError(f"{source}: diagnostics must be true, false or a mapping of settings, got {value!r}")
    unknown = sorted(set(value) - set(DIAGNOSTICS_KEYS))
    if unknown:
        raise GridError(f"{source}: unknown diagnostics key(s) {unknown}; valid keys: {', '.join(DIAGNOSTICS_KEYS)}")
    out = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
    out["episodes"] = out.get("episodes", DIAGNOSTICS_EPISODES)
    if isinstance(out["episodes"], bool) or not isinstance(out["episodes"], int) or out["episodes"] < 1:
        raise GridError(f"{source}: diagnostics episodes must be an integer >= 1, got {out['episodes']!r}")
    return out


def _check_ppo(grid: Grid, data: dict[str, Any], source: str) -> None:
    """Refuse what a PPO grid cannot use: demonstrations, multi-agent tasks, imitation or unknown train keys."""
    from ..rl import PPOConfig

    if "demo_episodes" in data:
        raise GridError(f"{source}: demo_episodes applies to imitation (algo bc/dagger); PPO trains without "
                        "demonstrations: remove it")
    if grid.num_drones is not None:
        raise GridError(f"{source}: algo ppo trains single-agent tasks; {grid.task} is multi-agent (use algo bc "
                        "or dagger)")
    ppo_keys = {f.name for f in dataclasses.fields(PPOConfig)} - set(PPO_REFUSED_KEYS)
    valid = sorted(ppo_keys | set(PPO_TRAIN_CONFIG_KEYS))
    unknown = sorted(set(grid.train) - set(valid))
    if unknown:
        raise GridError(f"{source}: train key(s) {unknown} are not PPO settings; with algo: ppo the train mapping "
                        f"takes {', '.join(valid)} (imitation keys such as iterations belong to algo bc/dagger)")


def ppo_configs(grid: Grid, arch: str, seed: int, out: str):
    """``(TrainConfig, PPOConfig)`` of a PPO grid's training run of ``arch`` and ``seed`` (see :func:`_check_ppo`)."""
    from ..rl import PPOConfig
    from ..training import TrainConfig

    train = {k: v for k, v in grid.train.items() if k in PPO_TRAIN_CONFIG_KEYS}
    ppo = {k: v for k, v in grid.train.items() if k not in PPO_TRAIN_CONFIG_KEYS}
    return (TrainConfig(**train, task=grid.task, obs=grid.obs, act=grid.act, arch=arch, seed=seed, out=out),
            PPOConfig(**ppo))


def train_config_kwargs(grid: Grid, arch: str, seed: int, data: str, out: str) -> dict[str, Any]:
    return {**grid.train, "task": grid.task, "obs": grid.obs, "act": grid.act, "arch": arch, "seed": seed,
            "data": (data,), "out": out, "workers": 1, "demo_episodes": grid.demo_episodes, **grid.team}


def load_grid(path: str | os.PathLike) -> Grid:
    """Read and validate ``benchmarks/<name>.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise GridError(f"no grid file at {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GridError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise GridError(f"{path} must hold a mapping")
    return grid_from_dict(data, str(path))
