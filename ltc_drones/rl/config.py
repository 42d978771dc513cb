"""The PPO options of ``ltc-drones train --algo ppo`` (written to ``ppo.json`` in the run folder).

The options shared with imitation (task, obs, act, scenario, arch, core config, feature size, seed,
evaluation episodes, output folder) stay in :class:`~ltc_drones.training.TrainConfig`; this holds what
only reinforcement learning needs. Each field's docstring is its ``--help`` text. Importing this module
does not import stable-baselines3.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

BACKENDS = ("auto", "vector", "pybullet")
DEFAULT_ENVS = {"vector": 256, "pybullet": 2, "gym": 2}
"""Parallel envs when ``envs`` is None: drones of the vector backend, or worker processes."""
MAX_PROCESS_ENVS = 64
"""More PyBullet/Gymnasium worker processes than this is refused (each is a whole simulator)."""


@dataclass(frozen=True)
class PPOConfig:
    """Reinforcement-learning options; the defaults suit the vector backend's ``kin`` tasks."""

    envs: int | None = None
    """Parallel envs: drones stepped together on the vector backend (default 256), or worker processes on
    pybullet and --env-id (default 2; one process for 1)."""
    backend: Literal["auto", "vector", "pybullet"] = "auto"
    """Simulator of the training envs: vector (batched explicit dynamics, kin only, fast), pybullet (the
    PyBullet env, every observation mode) or auto (vector for kin, else pybullet). Evaluation uses the same."""
    total_steps: int = 1_000_000
    """Env steps to train for, summed over the parallel envs."""
    env_id: str | None = None
    """Train on this registered Gymnasium env (e.g. Pendulum-v1) instead of a drone task: 1-D Box observations,
    a bounded Box action space (rescaled to [-1, 1]; the agent acts in [-1, 1])."""
    init_from: str | None = None
    """Warm start the actor (perception, core and action head) from this agent or run folder, trained by
    behaviour cloning (or PPO) with the same --arch, --obs and --act; its architecture is used."""
    n_steps: int = 64
    """Steps per env in each rollout (the recurrent sequences are at most this long)."""
    minibatches: int = 4
    """Minibatches per epoch over a rollout of envs x n_steps steps."""
    n_epochs: int = 4
    """Passes over each rollout."""
    learning_rate: float = 3e-4
    """Adam learning rate of PPO (--lr is behaviour cloning's)."""
    gamma: float = 0.99
    """Discount factor per control step, in (0, 1]."""
    gae_lambda: float = 0.95
    """GAE lambda, in [0, 1]."""
    clip_range: float = 0.2
    """PPO clipping of the probability ratio, > 0."""
    ent_coef: float = 0.0
    """Entropy bonus coefficient, >= 0."""
    vf_coef: float = 0.5
    """Value-loss coefficient, > 0."""
    max_grad_norm: float = 0.5
    """Maximum global gradient norm of a PPO update."""
    target_kl: float | None = None
    """Stop an update's epochs early when the approximate KL divergence exceeds 1.5 x this (None: never)."""
    log_std_init: float = -0.5
    """Initial log standard deviation of the Gaussian actions (in [-1, 1] units)."""
    critic_hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the value network (it reads its own features and the actor core's output)."""
    norm_obs: bool = True
    """Normalise observation vectors by running mean and variance (VecNormalize, clipped at +-10); the
    statistics are saved with the agent and applied when it flies. With --init-from, the statistics of that agent
    are used, frozen (an imitation agent has none: observations stay raw)."""
    norm_reward: bool = True
    """Scale rewards by the running standard deviation of the discounted return (training only)."""
    eval_every_steps: int = 100_000
    """Closed-loop evaluation (--eval-episodes held-out episodes) and checkpoint interval, in env steps."""
    success_return: float | None = None
    """With --env-id: an episode whose return reaches this counts as a success (else the env's
    info["is_success"] where it has one; else only the return is reported)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "critic_hidden", tuple(self.critic_hidden))
        if self.envs is not None:
            _check_int("envs", self.envs, 1)
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; valid backends: {', '.join(BACKENDS)} "
                             "(option --backend)")
        for name in ("total_steps", "n_steps", "minibatches", "n_epochs", "eval_every_steps"):
            _check_int(name, getattr(self, name), 1)
        if not self.critic_hidden or not all(isinstance(w, int) and w >= 1 for w in self.critic_hidden):
            _fail("critic_hidden", self.critic_hidden, "one or more widths >= 1")
        _check_float("learning_rate", self.learning_rate, lambda x: x > 0, "> 0")
        _check_float("gamma", self.gamma, lambda x: 0 < x <= 1, "in (0, 1]")
        _check_float("gae_lambda", self.gae_lambda, lambda x: 0 <= x <= 1, "in [0, 1]")
        _check_float("clip_range", self.clip_range, lambda x: x > 0, "> 0")
        _check_float("ent_coef", self.ent_coef, lambda x: x >= 0, ">= 0")
        _check_float("vf_coef", self.vf_coef, lambda x: x > 0, "> 0")
        _check_float("max_grad_norm", self.max_grad_norm, lambda x: x > 0, "> 0")
        _check_float("log_std_init", self.log_std_init, lambda x: -5 <= x <= 2, "in [-5, 2]")
        if self.target_kl is not None:
            _check_float("target_kl", self.target_kl, lambda x: x > 0, "> 0, or None")
        if self.success_return is not None:
            _check_float("success_return", self.success_return, lambda x: True, "a finite number, or None")
        if self.success_return is not None and self.env_id is None:
            raise ValueError("--success-return applies to --env-id runs; a drone task's success is its own rule")
        if self.env_id is not None and self.backend != "auto":
            raise ValueError(f"--backend {self.backend} applies to drone tasks; --env-id {self.env_id} runs that "
                             "env through gymnasium.make (leave --backend at auto)")

    def resolved_backend(self, obs: str) -> str:
        """``vector``, ``pybullet`` or ``gym`` (an --env-id run)."""
        if self.env_id is not None:
            return "gym"
        if self.backend == "auto":
            return "vector" if obs == "kin" else "pybullet"
        return self.backend

    def num_envs(self, obs: str) -> int:
        """Parallel envs (the default of the backend when ``envs`` is None)."""
        backend = self.resolved_backend(obs)
        n = DEFAULT_ENVS[backend] if self.envs is None else self.envs
        if backend != "vector" and n > MAX_PROCESS_ENVS:
            raise ValueError(f"--envs {n} would start {n} simulator processes; use at most {MAX_PROCESS_ENVS} "
                             "(or the vector backend, whose envs are batched drones)")
        return n

    def batch_size(self, obs: str) -> int:
        """Steps per minibatch: envs x n_steps / minibatches (at least 1)."""
        return max(1, self.num_envs(obs) * self.n_steps // self.minibatches)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["critic_hidden"] = list(self.critic_hidden)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PPOConfig:
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - valid)
        if unknown:
            raise ValueError(f"unknown PPO config key(s) {unknown}; valid keys: {', '.join(sorted(valid))}")
        return cls(**d)


def _fail(name: str, value, valid: str) -> None:
    raise ValueError(f"{name}={value!r} is invalid: must be {valid} (option --{name.replace('_', '-')})")


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(name, value, f"an int >= {minimum}")


def _check_float(name: str, value, ok, valid: str) -> None:
    good = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and ok(value)
    if not good:
        _fail(name, value, valid)
