"""The resolved configuration of a training run (written to ``config.json`` in the run folder)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

ALGOS = ("bc", "dagger")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; ``ltc-drones train`` fills it from its flags."""

    task: str = "fly-to-target"
    """Task key (hover, fly-to-target, follow-target, hiking)."""
    obs: str = "kin"
    """Observation mode of the env and policy: kin, rgb or rgb_kin."""
    act: str = "vel"
    scenario: str = "nominal"
    arch: str = "ltc-ncp"
    """Core name from ``ltc_drones.models.CORE_NAMES``."""
    algo: Literal["bc", "dagger"] = "bc"
    seed: int = 0
    data: tuple[str, ...] = ()
    """Demonstration folders; empty: ``data/<task>__<obs>__<scenario>__expert`` (collected if missing)."""
    demo_episodes: int = 100
    """Expert episodes to collect when the demonstration folder is missing."""
    workers: int = 2
    core_config: dict[str, Any] = field(default_factory=dict)
    feature_dim: int = 32
    conv_pool: str = "avg"
    """Pooling of the conv head (``avg`` or ``max``) for image observations."""
    window: int = 32
    """Steps per training window that carry a loss."""
    warmup: int = 8
    """Steps before each window that only warm the recurrent state up."""
    batch: int = 16
    lr: float = 3e-3
    grad_clip: float = 1.0
    loss: Literal["mse", "cosine"] = "mse"
    iterations: int = 1500
    """Behaviour-cloning iterations (gradient steps)."""
    eval_every: int = 100
    """Validation (and checkpoint) interval in iterations."""
    val_fraction: float = 0.1
    patience: int = 8
    """Stop behaviour cloning after this many validations without improvement."""
    aug_brightness: float = 20.0
    """Max brightness offset (8-bit levels) for image augmentation."""
    aug_contrast: float = 0.2
    """Max relative contrast change."""
    aug_noise_std: float = 4.0
    aug_shift_px: int = 2
    dagger_rounds: int = 4
    dagger_episodes: int = 20
    """Learner-flown episodes per DAgger round."""
    dagger_beta: float = 0.5
    """Probability that the expert's action is flown in round 1; halves every round."""
    finetune_iterations: int = 300
    finetune_lr: float | None = None
    """Learning rate of the DAgger fine-tuning phases (default: ``lr``)."""
    takeover_lost_s: float | None = None
    """Expert takeover during DAgger rounds (after HG-DAgger, Kelly et al., ICRA 2019): once the goal has
    been out of the onboard camera's view for this long, the expert flies until it is back in view.
    ``None``: the learner keeps control."""
    eval_episodes: int = 20
    """Closed-loop evaluation episodes after each DAgger round."""
    out: str = "runs"

    def __post_init__(self) -> None:
        from ..envs.registration import ENV_IDS
        from ..models import CORE_NAMES

        if self.task not in ENV_IDS:
            raise ValueError(f"unknown task {self.task!r}; valid tasks: {', '.join(ENV_IDS)}")
        if self.arch not in CORE_NAMES:
            raise ValueError(f"unknown arch {self.arch!r}; valid architectures: {', '.join(CORE_NAMES)}")
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; valid algorithms: {', '.join(ALGOS)}")
        if self.obs not in ("kin", "rgb", "rgb_kin"):
            raise ValueError(f"unknown obs {self.obs!r}; valid: kin, rgb, rgb_kin")
        if self.loss not in ("mse", "cosine"):
            raise ValueError(f"unknown loss {self.loss!r}; valid: mse, cosine")
        for name in ("window", "batch", "iterations", "eval_every", "workers", "demo_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.warmup < 0 or not 0 <= self.val_fraction < 1 or not 0 <= self.dagger_beta <= 1:
            raise ValueError("warmup must be >= 0, val_fraction in [0, 1), dagger_beta in [0, 1]")

    @property
    def default_data_folder(self) -> str:
        return f"data/{self.task}__{self.obs}__{self.scenario}__expert"

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
