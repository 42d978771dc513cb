"""The resolved configuration of a training run (written to ``config.json`` in the run folder).

Each field's docstring is its ``--help`` text in ``ltc-drones train`` (the CLI reads them with tyro),
and every field is checked on construction, with an error naming the option and what is valid.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from ..seeding import check_training_seed, dagger_seeds, demo_seeds, selection_seeds

ALGOS = ("bc", "dagger", "ppo")
LOSSES = ("mse", "cosine")
MAX_SHIFT_PX = 16


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; ``ltc-drones train`` fills it from its options."""

    task: str = "fly-to-target"
    """Task: hover, fly-to-target, follow-target, hiking, or a multi-agent task (multi-follow,
    multi-fly-to-target) where one shared policy flies each of --num-drones drones."""
    num_drones: int = 2
    """Drones of a multi-agent task, 2-8 (ignored by single-agent tasks). Demonstrations and DAgger rounds fly
    teams of this size; each drone's flight is one training sequence."""
    obs: str = "kin"
    """Observation mode of the env and the policy: kin (privileged state vector), rgb (onboard camera) or
    rgb_kin (camera plus proprioception)."""
    act: str = "vel"
    """Action mode: vel (velocity and yaw-rate commands), rpm (rotor speeds) or ctbr (collective thrust and
    body rates)."""
    scenario: str = "nominal"
    """Scenario of the training env and demonstrations: nominal, a shift name, name@level or a YAML file."""
    arch: str = "ltc-ncp"
    """Recurrent core of the policy (one of ltc_drones.models.CORE_NAMES: ltc-ncp, ltc, cfc, cfc-ncp, ctrnn,
    lstm, gru, mlp, ode-rnn)."""
    algo: Literal["bc", "dagger", "ppo"] = "bc"
    """Training algorithm: bc (behaviour cloning only), dagger (behaviour cloning, then DAgger rounds) or ppo
    (reinforcement learning, ltc_drones.rl; its options are listed with the PPO section)."""
    seed: int = 0
    """Training seed in [0, 1000000): weights, data split, sampling, demonstration and DAgger env seeds
    (ranges in ltc_drones.seeding)."""
    data: tuple[str, ...] = ()
    """Demonstration folders. Empty: data/<task>__<obs>__<act>__<scenario>__seed<seed>__expert (multi-agent
    tasks: data/<task>__n<num_drones>__...), collected (or completed) with demo_episodes expert episodes."""
    demo_episodes: int = 100
    """Expert episodes in the default demonstration folder (collected when missing; ignored with --data); for a
    multi-agent task, team episodes (one sequence per drone)."""
    workers: int = 2
    """Worker processes for collecting demonstrations."""
    core_config: dict[str, Any] = field(default_factory=dict)
    """Keyword config of the core, e.g. {"units": 19, "unfolds": 6} (see ltc_drones.models.make_core)."""
    feature_dim: int = 32
    """Size of the perception features fed to the core."""
    conv_pool: str = "avg"
    """Pooling of the conv head for image observations: avg, max or spatial (softmax keypoints)."""
    window: int = 32
    """Steps per training window that carry a loss (truncated BPTT)."""
    warmup: int = 8
    """Steps before each window that only warm the recurrent state up (no loss)."""
    batch: int = 16
    """Windows per gradient step."""
    lr: float = 3e-3
    """Adam learning rate of behaviour cloning."""
    grad_clip: float = 1.0
    """Maximum global gradient norm."""
    loss: Literal["mse", "cosine"] = "mse"
    """Action loss: mse, or cosine (direction, plus 0.1 x mse)."""
    iterations: int = 1500
    """Behaviour-cloning iterations (gradient steps)."""
    eval_every: int = 100
    """Validation (and checkpoint) interval in iterations."""
    val_fraction: float = 0.1
    """Fraction of the demonstration episodes held out for validation, in [0, 1)."""
    patience: int = 8
    """Stop behaviour cloning after this many validations without improvement."""
    aug_brightness: float = 20.0
    """Max brightness offset (8-bit levels) of image augmentation."""
    aug_contrast: float = 0.2
    """Max relative contrast change of image augmentation, in [0, 1)."""
    aug_noise_std: float = 4.0
    """Standard deviation (8-bit levels) of the pixel noise of image augmentation."""
    aug_shift_px: int = 2
    """Max image shift (pixels) of image augmentation; borders are filled with the edge pixels."""
    dagger_rounds: int = 4
    """DAgger rounds after behaviour cloning (with --algo dagger)."""
    dagger_episodes: int = 20
    """Learner-flown episodes per DAgger round (team episodes for a multi-agent task)."""
    dagger_beta: float = 0.5
    """Probability that the expert's action is flown in round 1, in [0, 1]; halves every round."""
    finetune_iterations: int = 300
    """Gradient steps on the aggregated data after each DAgger round."""
    finetune_lr: float | None = None
    """Learning rate of the DAgger fine-tuning phases (default: lr)."""
    takeover_lost_s: float | None = None
    """Expert takeover during DAgger rounds (after HG-DAgger, Kelly et al., ICRA 2019): once the goal has
    been out of the onboard camera's view for this long (seconds), the expert flies until it is back in
    view. None: the learner keeps control."""
    eval_episodes: int = 20
    """Closed-loop model-selection episodes after each DAgger round, or at each PPO evaluation (seeds disjoint
    from test seeds); for a multi-agent task the score is the team success rate (every drone succeeded)."""
    out: str = "runs"
    """Folder that receives the run folder <task>__<arch>__<algo>__<seed>__<time>."""

    def __post_init__(self) -> None:
        from ..envs.actions import ACT_MODES
        from ..models import CORE_NAMES
        from ..models.perception import POOLS
        from ..tasks import OBS_MODES, TASKS, check_num_drones

        for name, what, valid in (("task", "tasks", TASKS), ("obs", "observation modes", OBS_MODES),
                                  ("act", "action modes", ACT_MODES), ("arch", "architectures", CORE_NAMES),
                                  ("algo", "algorithms", ALGOS), ("loss", "losses", LOSSES),
                                  ("conv_pool", "poolings", POOLS)):
            if getattr(self, name) not in valid:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; valid {what}: {', '.join(valid)} "
                                 f"(option --{name.replace('_', '-')})")
        object.__setattr__(self, "data", tuple(str(d) for d in self.data))
        if self.multi:
            check_num_drones(self.task, self.num_drones, "--num-drones")
        else:
            _check_int("num_drones", self.num_drones, 1)
        try:
            check_training_seed(self.seed)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{exc} (option --seed)") from None
        for name in ("demo_episodes", "workers", "feature_dim", "window", "batch", "iterations", "eval_every",
                     "patience", "dagger_episodes", "eval_episodes"):
            _check_int(name, getattr(self, name), 1)
        for name in ("warmup", "dagger_rounds", "finetune_iterations", "aug_shift_px"):
            _check_int(name, getattr(self, name), 0)
        _check("aug_shift_px", self.aug_shift_px <= MAX_SHIFT_PX, self.aug_shift_px, f"at most {MAX_SHIFT_PX}")
        for name in ("lr", "grad_clip"):
            _check(name, _finite(getattr(self, name)) and getattr(self, name) > 0, getattr(self, name), "> 0")
        for name in ("aug_brightness", "aug_noise_std"):
            _check(name, _finite(getattr(self, name)) and getattr(self, name) >= 0, getattr(self, name), ">= 0")
        _check("aug_contrast", _finite(self.aug_contrast) and 0 <= self.aug_contrast < 1, self.aug_contrast,
               "in [0, 1)")
        _check("val_fraction", _finite(self.val_fraction) and 0 <= self.val_fraction < 1, self.val_fraction,
               "in [0, 1)")
        _check("dagger_beta", _finite(self.dagger_beta) and 0 <= self.dagger_beta <= 1, self.dagger_beta, "in [0, 1]")
        _check("finetune_lr", self.finetune_lr is None or (_finite(self.finetune_lr) and self.finetune_lr > 0),
               self.finetune_lr, "> 0, or None for lr")
        _check("takeover_lost_s", self.takeover_lost_s is None
               or (_finite(self.takeover_lost_s) and self.takeover_lost_s >= 0), self.takeover_lost_s,
               ">= 0 seconds, or None for no takeover")
        _check("core_config", isinstance(self.core_config, dict), self.core_config, "a dict of core settings")
        try:  # the seed ranges hold this many episodes
            demo_seeds(self.seed, self.demo_episodes)
            selection_seeds(self.seed, self.eval_episodes)
            dagger_seeds(self.seed, max(self.dagger_rounds - 1, 0), self.dagger_episodes)
        except ValueError as exc:
            raise ValueError(f"{exc} (options --demo-episodes, --eval-episodes, --dagger-rounds, "
                             "--dagger-episodes)") from None
        self._check_core()
        self._check_scenario()

    def _check_core(self) -> None:
        from ..models import make_core
        from ..models.base import CoreConfigError

        try:
            make_core(self.arch, self.feature_dim, 4, **self.core_config)
        except (CoreConfigError, TypeError, ValueError) as exc:
            raise ValueError(f"core_config={self.core_config!r} does not build a {self.arch!r} core: {exc} "
                             "(option --core-config)") from None

    def _check_scenario(self) -> None:
        from ..envs import ScenarioError, load_scenario

        try:
            load_scenario(self.task, self.scenario)
        except ScenarioError as exc:
            raise ValueError(f"scenario={self.scenario!r}: {exc} (option --scenario)") from None

    @property
    def multi(self) -> bool:
        """Whether the task is a multi-agent task (one shared policy flies ``num_drones`` drones)."""
        from ..tasks import task_spec

        return task_spec(self.task).team

    @property
    def default_data_folder(self) -> str:
        """Where the demonstrations go when ``data`` is empty; one folder per env (and team size) and seed."""
        env = f"{self.task}__n{self.num_drones}" if self.multi else self.task
        return f"data/{env}__{self.obs}__{self.act}__{self.scenario}__seed{self.seed}__expert"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["data"] = list(self.data)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - valid)
        if unknown:
            raise ValueError(f"unknown training config key(s) {unknown}; valid keys: {', '.join(sorted(valid))}")
        d = dict(d)
        d["data"] = tuple(d.get("data", ()))
        return cls(**d)


def _finite(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _check(name: str, ok: bool, value, valid: str) -> None:
    if not ok:
        raise ValueError(f"{name}={value!r} is invalid: must be {valid} (option --{name.replace('_', '-')})")


def _check_int(name: str, value, minimum: int) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    _check(name, ok, value, f"an int >= {minimum}")
