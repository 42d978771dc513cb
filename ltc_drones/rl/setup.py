"""What a PPO run is set up from: option checks, the env it trains for, the actor's architecture, warm starts.

Env seeds: a PPO run's training envs start from :func:`training_env_seed` (a range of its own, beside the
ranges of :mod:`ltc_drones.seeding`: ``4 * 10**12 + s * 10**6 + segment * 10**4``, where ``segment``
counts the resumptions, so a resumed run flies new worlds); its closed-loop evaluations fly the
model-selection seeds :func:`ltc_drones.seeding.selection_seeds` (disjoint from the test seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gymnasium import spaces

from ..models import PolicyConfig
from ..seeding import PER_ROUND, PER_SEED, RL_BASE, check_training_seed
from ..training.config import TrainConfig
from .config import PPOConfig

RL_SEED_BASE = RL_BASE
"""First env seed of the PPO training range (after the test, demonstration, DAgger and selection ranges)."""
IMITATION_ONLY = ("data", "demo_episodes", "workers", "window", "warmup", "batch", "lr", "grad_clip", "loss",
                  "iterations", "eval_every", "val_fraction", "patience", "aug_brightness", "aug_contrast",
                  "aug_noise_std", "aug_shift_px", "dagger_rounds", "dagger_episodes", "dagger_beta",
                  "finetune_iterations", "finetune_lr", "takeover_lost_s", "num_drones")
"""TrainConfig fields that only behaviour cloning and DAgger read: refused (when changed) with --algo ppo."""
LTC_CORES = ("ltc", "ltc-ncp")


def training_env_seed(training_seed: int, segment: int) -> int:
    """Seed of the training envs of run segment ``segment`` (0, then one more per resumption)."""
    check_training_seed(training_seed)
    if not 0 <= segment < PER_SEED // PER_ROUND:
        raise ValueError(f"a PPO run can be resumed at most {PER_SEED // PER_ROUND - 1} times, got segment {segment}")
    return RL_SEED_BASE + training_seed * PER_SEED + segment * PER_ROUND


def check_configs(train: TrainConfig, ppo: PPOConfig) -> None:
    """Raise ``ValueError`` (naming the option) for combinations a PPO run cannot train."""
    if train.algo != "ppo":
        raise ValueError(f"PPO options need --algo ppo (got --algo {train.algo})")
    if train.multi:
        raise ValueError(f"--algo ppo trains single-agent tasks; {train.task!r} is multi-agent (train it with "
                         "--algo bc or dagger)")
    defaults = TrainConfig()
    changed = [f"--{name.replace('_', '-')}" for name in IMITATION_ONLY
               if getattr(train, name) != getattr(defaults, name)]
    if changed:
        raise ValueError(f"{', '.join(changed)}: imitation options (--algo bc/dagger), unused by --algo ppo; PPO's "
                         "own are --learning-rate, --n-steps, --minibatches, --n-epochs, --max-grad-norm, ... "
                         "(see ltc-drones train --help)")
    if ppo.env_id is not None:
        fixed = {"task": train.task, "obs": train.obs, "act": train.act, "scenario": train.scenario}
        moved = [f"--{k}" for k, v in fixed.items() if v != getattr(defaults, k)]
        if moved:
            raise ValueError(f"{', '.join(moved)}: drone-task options; --env-id {ppo.env_id} trains that env instead")
        return
    backend = ppo.resolved_backend(train.obs)
    if backend == "vector":
        from ..envs import load_scenario
        from ..tasks import VECTOR_TASKS

        if train.obs != "kin":
            raise ValueError(f"--backend vector has no camera; --obs {train.obs} needs --backend pybullet")
        if train.task not in VECTOR_TASKS:
            raise ValueError(f"--backend vector has no task {train.task!r}; valid: {', '.join(VECTOR_TASKS)}")
        if load_scenario(train.task, train.scenario).occluders:
            raise ValueError(f"--scenario {train.scenario} has occluders, which --backend vector does not model; "
                             "use --backend pybullet")
    ppo.num_envs(train.obs)


@dataclass
class EnvInfo:
    """The env a run trains for: the agent's env spec, one env's spaces and the control period."""

    spec: dict[str, Any]
    observation_space: spaces.Space
    action_space: spaces.Space
    dt_s: float


def describe_env(train: TrainConfig, ppo: PPOConfig):
    """``(EnvInfo, env)``: the spec an agent records and one single env (PyBullet, or the --env-id env),
    which the caller keeps for evaluation or closes."""
    from ..agents import env_spec_of, observation_spec

    if ppo.env_id is not None:
        from .envs import gym_env_dt_s, make_gym_env

        env = make_gym_env(ppo.env_id)
        spec = {"task": None, "env_id": ppo.env_id, "obs": "kin", "act": "box", "scenario": None,
                "ctrl_hz": 1.0 / gym_env_dt_s(env), "physics_hz": None,
                "observation_space": observation_spec(env.observation_space), "action_rescaled_to": [-1.0, 1.0]}
        # dt as the agent computes it from the spec (1 / ctrl_hz), so training and flying agree to the bit
        return EnvInfo(spec, env.observation_space, env.action_space, 1.0 / spec["ctrl_hz"]), env
    from ..envs import make_env

    env = make_env(train.task, obs=train.obs, act=train.act, scenario=train.scenario)
    spec = env_spec_of(env, train.task, train.scenario)
    return EnvInfo(spec, env.observation_space, env.action_space, 1.0 / env.unwrapped.clock.ctrl_hz), env


def actor_config(train: TrainConfig, info: EnvInfo) -> PolicyConfig:
    """The actor of a fresh run: ``--arch`` with ``--core-config`` and ``--feature-dim`` for this env."""
    space = info.observation_space
    kin = space["kin"] if isinstance(space, spaces.Dict) else space
    rgb = space["rgb"] if isinstance(space, spaces.Dict) else space
    core_config = dict(train.core_config)
    if train.arch in LTC_CORES:  # initial LTC dynamics for one control period per time unit (see LTCConfig)
        core_config.setdefault("time_unit_s", info.dt_s)
    return PolicyConfig(obs_kind=train.obs, obs_dim=kin.shape[0] if "kin" in train.obs else 0,
                        image_hw=tuple(rgb.shape[:2]) if "rgb" in train.obs else (48, 64),
                        action_dim=info.action_space.shape[0], core=train.arch, core_config=core_config,
                        feature_dim=train.feature_dim, conv_pool=train.conv_pool)


def warm_start_source(train: TrainConfig, ppo: PPOConfig, info: EnvInfo):
    """The agent named by ``--init-from`` (checked against this run), or None.

    Raises:
        ValueError: another architecture, observation or action mode, control rate or observation space
            (or an architecture option given that differs from the agent's).
    """
    if ppo.init_from is None:
        return None
    from ..agents import load_agent
    from ..tasks import task_spec

    agent = load_agent(ppo.init_from)
    have, want = agent.env_spec, info.spec
    config = agent.policy.config
    problems = []
    if config.core != train.arch:
        problems.append(f"its core is {config.core!r}, not --arch {train.arch}")
    if task_spec(have.get("task")).team:
        problems.append(f"it was trained on the multi-agent task {have.get('task')!r}")
    for key, option in (("obs", "--obs"), ("act", "--act"), ("env_id", "--task or --env-id")):
        if have.get(key) != want.get(key):
            problems.append(f"its {key} is {have.get(key)!r}, this run's {want.get(key)!r} ({option})")
    if have.get("ctrl_hz") != want.get("ctrl_hz"):
        problems.append(f"it runs at {have.get('ctrl_hz')} Hz, this env at {want.get('ctrl_hz')} Hz")
    elif have.get("observation_space") != want.get("observation_space"):
        problems.append(f"it expects observations {have.get('observation_space')}, the env gives "
                        f"{want.get('observation_space')}")
    defaults = TrainConfig()
    if train.feature_dim != defaults.feature_dim and train.feature_dim != config.feature_dim:
        problems.append(f"its feature size is {config.feature_dim}, not --feature-dim {train.feature_dim}")
    if train.core_config and train.core_config != {k: config.core_config.get(k) for k in train.core_config}:
        problems.append(f"its core config is {config.core_config}, not --core-config {train.core_config}")
    if problems:
        raise ValueError(f"--init-from {ppo.init_from}: cannot warm start this run: {'; '.join(problems)}")
    return agent
