"""Saving, loading and TorchScript export of policies.

File format (one file, written atomically): ``torch.save`` of a dict holding only strings, ints and
tensors, so it loads with ``weights_only=True``::

    {"format": "ltc_drones.policy", "schema_version": 1, "config": <PolicyConfig JSON>,
     "dtype": "float32", "state_dict": {name: tensor}}

:func:`load_policy` also reads the policy out of a training checkpoint or a shipped agent
(``ltc_drones.checkpoint``, see :mod:`ltc_drones.agents.checkpoint`), so any file the package
writes gives its network back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ltc_drones.atomic import write_atomic
from ltc_drones.models.policy import Policy, PolicyConfig

FORMAT = "ltc_drones.policy"
SCHEMA_VERSION = 1
CHECKPOINT_FORMAT = "ltc_drones.checkpoint"
"""Training checkpoints and shipped agents (written by :mod:`ltc_drones.agents.checkpoint`)."""
CHECKPOINT_SCHEMA_VERSION = 1
_CONFIG_KEY = {FORMAT: "config", CHECKPOINT_FORMAT: "policy_config"}
_VERSION = {FORMAT: SCHEMA_VERSION, CHECKPOINT_FORMAT: CHECKPOINT_SCHEMA_VERSION}


class PolicyFileError(ValueError):
    """A policy file is missing, corrupt, of another format/version, or does not match its config."""


def save_policy(path: str | os.PathLike[str], policy: Policy) -> None:
    """Write ``policy`` to ``path`` (temp file + ``os.replace``, so readers never see half a file)."""
    path = Path(path)
    dtype = next(policy.parameters()).dtype
    payload = {
        "format": FORMAT, "schema_version": SCHEMA_VERSION, "config": json.dumps(policy.config.to_dict()),
        "dtype": str(dtype).removeprefix("torch."),
        "state_dict": {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()},
    }
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def policy_from_weights(config: dict, state_dict: dict[str, Tensor], path: str | os.PathLike[str] = "<policy>",
                        dtype: torch.dtype | None = None) -> Policy:
    """Build a policy from its config dict and weights (in ``dtype``; default: that of the weights).

    Raises:
        PolicyFileError: the config is invalid or the weights do not fit it.
    """
    try:
        if dtype is None:
            dtype = next((v.dtype for v in state_dict.values() if v.is_floating_point()), torch.float32)
        policy = Policy(PolicyConfig.from_dict(config)).to(dtype)
        policy.load_state_dict(state_dict, strict=True)
    except (KeyError, ValueError, RuntimeError, AttributeError, TypeError) as exc:
        raise PolicyFileError(f"{path}: the weights do not match the stored config ({exc})") from exc
    return policy.eval()


def load_policy(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> Policy:
    """Rebuild a policy saved by :func:`save_policy`, or the policy of a checkpoint or shipped agent.

    Raises:
        PolicyFileError: unreadable/corrupt file, wrong format or schema version, or weights that do
            not fit the stored config.
    """
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises many types for corrupt files
        raise PolicyFileError(f"{path}: not a readable policy file ({type(exc).__name__}: {exc})") from exc
    fmt = payload.get("format") if isinstance(payload, dict) else None
    if fmt not in _CONFIG_KEY:
        raise PolicyFileError(f"{path}: not an {FORMAT} file, nor an {CHECKPOINT_FORMAT} file (checkpoint or agent)")
    if payload.get("schema_version") != _VERSION[fmt]:
        raise PolicyFileError(
            f"{path}: {fmt} schema version {payload.get('schema_version')} but this code reads {_VERSION[fmt]}"
        )
    try:
        config = json.loads(payload[_CONFIG_KEY[fmt]])
        dtype = getattr(torch, payload["dtype"]) if "dtype" in payload else None
        state_dict = payload["state_dict"]
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise PolicyFileError(f"{path}: corrupt {fmt} file ({exc})") from exc
    return policy_from_weights(config, state_dict, path, dtype).to(map_location)


class _ActModule(nn.Module):
    """Scriptable one-step policy: fixed tensor signature, plain torch paths only."""

    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, kin: Tensor, rgb: Tensor, state: Tensor, episode_start: Tensor,
                dt: Tensor) -> tuple[Tensor, Tensor]:
        p = self.policy
        feats = p.encode(kin if p.kin_encoder is not None else None,
                         rgb if p.rgb_encoder is not None else None)
        state = state * (1.0 - episode_start.to(state.dtype)).unsqueeze(-1)
        y, state = p.core._step(feats, state, dt)
        return torch.tanh(p.head(y)), state


def export_torchscript(policy: Policy, path: str | os.PathLike[str] | None = None) -> torch.jit.ScriptModule:
    """TorchScript (traced) one-step policy.

    The module's signature is ``(kin [B, obs_dim], rgb uint8 [B, H, W, 3], state [B, S],
    episode_start [B] bool, dt [B] seconds) -> (action [B, A], state)``; pass an empty tensor for the
    observation part the policy does not use. Cores trace through their plain torch path (the LTC's
    compiled kernel cannot be scripted). Saved with ``torch.jit.save`` when ``path`` is given.
    """
    c = policy.config
    dtype = next(policy.parameters()).dtype
    batch = 2
    kin = torch.zeros(batch, max(c.obs_dim, 1), dtype=dtype)
    rgb = torch.zeros(batch, *c.image_hw, 3, dtype=torch.uint8)
    example = (kin, rgb, policy.initial_state(batch), torch.zeros(batch, dtype=torch.bool),
               torch.full((batch,), 1.0 / 30.0, dtype=dtype))
    was_training = policy.training
    policy.eval()
    try:
        with torch.no_grad():
            traced = torch.jit.trace(_ActModule(policy), example, check_trace=False)
    finally:
        policy.train(was_training)
    if path is not None:
        torch.jit.save(traced, os.fspath(path))
    return traced
