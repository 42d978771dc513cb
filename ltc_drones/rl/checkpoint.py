"""PPO checkpoints: ordinary ``ltc_drones.checkpoint`` files (so ``load_agent`` flies them) plus the RL state.

The file is the imitation checkpoint format (:mod:`ltc_drones.agents.checkpoint`), loadable with
``torch.load(weights_only=True)``, written atomically: ``policy_config`` and ``state_dict`` are the
actor's :class:`~ltc_drones.models.Policy`; ``env`` is the env spec with the observation normalisation
(``env["obs_normalization"]``, see :func:`ltc_drones.rl.envs.normalization_spec`), which
:class:`~ltc_drones.training.Agent` applies before the policy; ``train`` holds the run's configs and
counters; ``optimizer`` and ``rng`` make the run resumable. One extra entry holds what only training
needs::

    "rl": {"algo": "ppo" | "recurrent-ppo", "critic": {name: tensor}, "log_std": tensor,
           "reward_stats": JSON str (running return statistics of reward scaling)}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..agents.checkpoint import FORMAT, SCHEMA_VERSION, CheckpointError, read_checkpoint
from ..atomic import write_atomic
from ..version import __version__


def _tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def numpy_global_state() -> list:
    """The legacy global NumPy generator's state as JSON (stable-baselines3 shuffles rollouts with it)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 - SB3's own generator
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def set_numpy_global_state(state: list) -> None:
    name, keys, pos, has_gauss, cached = state
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))  # noqa: NPY002


def save_rl_checkpoint(path: str | os.PathLike, model, env_spec: dict[str, Any], train_state: dict[str, Any],
                       reward_stats: dict[str, float], with_optimizer: bool = True) -> Path:
    """Write the actor as an agent plus the critic, log std, optimiser and random state of ``model`` (SB3)."""
    policy = model.policy
    payload: dict[str, Any] = {
        "format": FORMAT, "schema_version": SCHEMA_VERSION, "package_version": __version__,
        "policy_config": json.dumps(policy.actor.config.to_dict()), "state_dict": _tensors(policy.actor),
        "env": json.dumps(env_spec), "train": json.dumps(train_state),
        "rng": {"numpy": json.dumps(numpy_global_state()), "torch": torch.get_rng_state()},
        "rl": {"algo": algo_name(model), "critic": _tensors(policy.critic_net),
               "log_std": policy.log_std.detach().cpu().clone(), "reward_stats": json.dumps(reward_stats)},
    }
    if with_optimizer:
        payload["optimizer"] = policy.optimizer.state_dict()
    return write_atomic(Path(path), lambda tmp: torch.save(payload, tmp))


def algo_name(model) -> str:
    """``recurrent-ppo`` (sb3-contrib RecurrentPPO) or ``ppo`` (stable-baselines3 PPO)."""
    return "recurrent-ppo" if type(model).__name__ == "RecurrentPPO" else "ppo"


def read_rl_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """:func:`~ltc_drones.agents.checkpoint.read_checkpoint` of a PPO checkpoint (its ``rl`` entry decoded).

    Raises:
        CheckpointError: not a PPO checkpoint (e.g. an imitation one), or corrupt.
    """
    payload = read_checkpoint(path)
    rl = payload.get("rl")
    if not isinstance(rl, dict) or "critic" not in rl:
        raise CheckpointError(f"{path} is not a PPO checkpoint (no critic); to warm start from an imitation "
                              "agent use --init-from")
    try:
        rl["reward_stats"] = json.loads(rl["reward_stats"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is corrupt: {exc}") from exc
    return payload


def restore_model(model, payload: dict[str, Any], path: str | os.PathLike = "<checkpoint>") -> None:
    """Load the actor, critic, log std, optimiser and random state of ``payload`` into ``model``."""
    policy = model.policy
    rl = payload["rl"]
    if rl["algo"] != algo_name(model):
        raise CheckpointError(f"{path} was trained with {rl['algo']}, not {algo_name(model)}")
    try:
        policy.actor.load_state_dict(payload["state_dict"])
        policy.critic_net.load_state_dict(rl["critic"])
        with torch.no_grad():
            policy.log_std.copy_(rl["log_std"])
        if "optimizer" in payload:
            policy.optimizer.load_state_dict(payload["optimizer"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: the weights do not fit this run's networks ({exc})") from exc
    if "rng" in payload:
        set_numpy_global_state(payload["rng"]["numpy"])
        torch.set_rng_state(payload["rng"]["torch"])


def _space(spec: dict[str, Any]):
    from gymnasium import spaces

    if "shape" not in spec:
        return spaces.Dict({k: _space(v) for k, v in spec.items()})
    dtype = np.dtype(spec["dtype"])
    low, high = (0, 255) if dtype == np.uint8 else (-np.inf, np.inf)
    return spaces.Box(low, high, tuple(spec["shape"]), dtype=dtype)


def load_sb3_policy(path: str | os.PathLike):
    """The stable-baselines3 policy (actor, critic, log std) of a PPO checkpoint, for ``predict``.

    Its observations are the *normalised* ones (``env["obs_normalization"]``); :func:`ltc_drones.load_agent`
    gives the same actor as an agent that normalises raw observations itself.
    """
    from gymnasium import spaces

    from .policy import policy_class_for

    payload = read_rl_checkpoint(path)
    config = payload["policy_config"]
    obs_space = _space(payload["env"]["observation_space"])
    act_space = spaces.Box(-1.0, 1.0, (config["action_dim"],), dtype=np.float32)
    critic_hidden = payload["train"].get("ppo", {}).get("critic_hidden", (64, 64))
    policy = policy_class_for(config)(obs_space, act_space, lambda _: 0.0, policy_config=config,
                                      dt_s=1.0 / payload["env"]["ctrl_hz"], critic_hidden=critic_hidden)
    policy.actor.load_state_dict(payload["state_dict"])
    policy.critic_net.load_state_dict(payload["rl"]["critic"])
    with torch.no_grad():
        policy.log_std.copy_(payload["rl"]["log_std"])
    return policy.eval()
