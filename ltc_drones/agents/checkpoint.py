"""Training checkpoints and shipped agents: weights, configs, env spec, optimiser and RNG state.

One file, written atomically, loadable with ``torch.load(weights_only=True)`` (no pickled
objects)::

    {"format": "ltc_drones.checkpoint", "schema_version": 1, "package_version": str,
     "policy_config": JSON str, "state_dict": {name: tensor}, "env": JSON str (task, obs, act,
     scenario, rates, observation space), "train": JSON str (resolved config, step, metrics),
     "optimizer": optimiser state dict or absent, "rng": {"numpy": JSON str, "torch": tensor}}

``ltc_drones.models.load_policy`` reads the policy out of these files too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..atomic import write_atomic
from ..models import Policy, PolicyFileError
from ..models.policy_io import CHECKPOINT_FORMAT, CHECKPOINT_SCHEMA_VERSION, policy_from_weights
from ..version import __version__

FORMAT = CHECKPOINT_FORMAT
SCHEMA_VERSION = CHECKPOINT_SCHEMA_VERSION


class CheckpointError(PolicyFileError):
    """A checkpoint is missing, corrupt, of another schema version, or does not fit the env."""


def save_checkpoint(path: str | os.PathLike, policy: Policy, env_spec: dict[str, Any],
                    train_state: dict[str, Any] | None = None, optimizer: torch.optim.Optimizer | None = None,
                    rng_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically; ``optimizer`` and ``rng_state`` make a run resumable."""
    payload: dict[str, Any] = {
        "format": FORMAT, "schema_version": SCHEMA_VERSION, "package_version": __version__,
        "policy_config": json.dumps(policy.config.to_dict()),
        "state_dict": {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()},
        "env": json.dumps(env_spec), "train": json.dumps(train_state or {}),
    }
    if optimizer is not None:
        payload["optimizer"] = optimizer.state_dict()
    if rng_state is not None:
        payload["rng"] = {"numpy": json.dumps(rng_state["numpy"]), "torch": rng_state["torch"]}
    path = Path(path)
    return write_atomic(path, lambda tmp: torch.save(payload, tmp))


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a checkpoint; returns the raw payload with JSON fields decoded."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an {FORMAT} file (format={payload.get('format')!r})"
                              if isinstance(payload, dict) else f"{path} is not an {FORMAT} file")
    if payload.get("schema_version") != SCHEMA_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint schema version {payload.get('schema_version')} (package "
            f"{payload.get('package_version')}), but this ltc_drones {__version__} reads version {SCHEMA_VERSION}"
        )
    try:
        for key in ("policy_config", "env", "train"):
            payload[key] = json.loads(payload[key])
        if "rng" in payload:
            payload["rng"] = {"numpy": json.loads(payload["rng"]["numpy"]), "torch": payload["rng"]["torch"]}
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is corrupt: {exc}") from exc
    return payload


def policy_from_checkpoint(payload: dict[str, Any], path: str | os.PathLike = "<checkpoint>") -> Policy:
    """The policy of a payload returned by :func:`read_checkpoint`."""
    try:
        return policy_from_weights(payload["policy_config"], payload["state_dict"], path)
    except (KeyError, PolicyFileError) as exc:
        raise CheckpointError(f"{path}: the weights do not fit the stored policy config ({exc})") from exc
