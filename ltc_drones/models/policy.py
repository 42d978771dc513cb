"""Policy = perception + recurrent core + action head bounded to [-1, 1].

Observation kinds: ``kin`` (state vector ``[.., obs_dim]``), ``rgb`` (uint8 image ``[.., H, W, 3]``),
``rgb_kin`` (a dict ``{"rgb": image, "kin": vector}``). ``..`` is ``[B, T]`` for :meth:`Policy.forward`
(training) and ``[B]`` for :meth:`Policy.act` (one closed-loop step). The recurrent state is the core's
single tensor ``[B, core.state_size]`` (see :mod:`ltc_drones.models.base`). ``dt`` is in seconds
(1/30 for the default 30 Hz control loop) and must be passed explicitly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from ltc_drones.models.base import RecurrentCore
from ltc_drones.models.perception import POOLS, ConvEncoder, KinEncoder
from ltc_drones.models.registry import CORE_NAMES, make_core

Obs = Tensor | np.ndarray | dict[str, Tensor | np.ndarray]
OBS_KINDS = ("kin", "rgb", "rgb_kin")
IMAGE_HW_MIN, IMAGE_HW_MAX = (24, 32), (192, 256)


class PolicyConfigError(ValueError):
    """Invalid policy configuration."""


@dataclass(frozen=True)
class PolicyConfig:
    """Policy architecture (everything needed to rebuild it; saved as JSON with the weights).

    Attributes:
        obs_kind: ``kin`` | ``rgb`` | ``rgb_kin``.
        obs_dim: state-vector size (``kin`` and ``rgb_kin``).
        image_hw: image (height, width) in pixels (``rgb`` and ``rgb_kin``).
        action_dim: actions, each in [-1, 1].
        core: core name (see ``CORE_NAMES``).
        core_config: keyword config of the core (see ``make_core``).
        feature_dim: perception output size = core input size.
        core_output: core output size (default ``action_dim``; the motor neurons of NCP cores).
        kin_hidden: hidden widths of the state-vector MLP.
        conv_channels: channels of the conv layers (first 5x5, then 3x3, all stride 2).
        conv_pool: ``avg`` / ``max`` adaptive pooling of the conv features, or ``spatial`` softmax keypoints.
    """

    obs_kind: Literal["kin", "rgb", "rgb_kin"] = "kin"
    obs_dim: int = 0
    image_hw: tuple[int, int] = (48, 64)
    action_dim: int = 4
    core: str = "ltc-ncp"
    core_config: dict[str, Any] = field(default_factory=dict, hash=False)
    feature_dim: int = 32
    core_output: int | None = None
    kin_hidden: tuple[int, ...] = (64,)
    conv_channels: tuple[int, ...] = (16, 32, 32)
    conv_pool: Literal["avg", "max", "spatial"] = "avg"

    def __post_init__(self) -> None:
        for name in ("image_hw", "kin_hidden", "conv_channels"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if self.obs_kind not in OBS_KINDS:
            raise PolicyConfigError(f"obs_kind={self.obs_kind!r} is invalid; use one of {list(OBS_KINDS)}")
        if self.obs_kind in ("kin", "rgb_kin") and self.obs_dim < 1:
            raise PolicyConfigError(
                f"obs_kind={self.obs_kind!r} needs obs_dim >= 1 (the state-vector size)"
            )
        h, w = self.image_hw if len(self.image_hw) == 2 else (0, 0)
        if not (IMAGE_HW_MIN[0] <= h <= IMAGE_HW_MAX[0] and IMAGE_HW_MIN[1] <= w <= IMAGE_HW_MAX[1]):
            raise PolicyConfigError(
                f"image_hw={self.image_hw} must be (H, W) within {IMAGE_HW_MIN}..{IMAGE_HW_MAX}, "
                "e.g. (48, 64)"
            )
        if self.core not in CORE_NAMES:
            raise PolicyConfigError(f"unknown core {self.core!r}; valid names: {list(CORE_NAMES)}")
        sizes = (self.action_dim, self.feature_dim, 1 if self.core_output is None else self.core_output)
        if min(sizes) < 1:
            raise PolicyConfigError("action_dim, feature_dim and core_output must be >= 1")
        if not self.conv_channels or min(self.conv_channels) < 1:
            raise PolicyConfigError("conv_channels must be a non-empty tuple of positive ints")
        if self.conv_pool not in POOLS:
            raise PolicyConfigError(f"conv_pool={self.conv_pool!r} is invalid; use one of {POOLS}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (tuples as lists)."""
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`PolicyConfigError`."""
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise PolicyConfigError(f"unknown PolicyConfig keys {unknown}; valid keys: {valid}")
        return cls(**data)


def _as_tensor(x: Tensor | np.ndarray) -> Tensor:
    return x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))


class Policy(nn.Module):
    """Perception + core + ``tanh(Linear)`` action head. Build with ``Policy(PolicyConfig(...))``."""

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.kin_encoder = KinEncoder(c.obs_dim, c.kin_hidden, c.feature_dim) if "kin" in c.obs_kind else None
        self.rgb_encoder = ConvEncoder(c.conv_channels, c.feature_dim, c.conv_pool) if "rgb" in c.obs_kind else None
        # rgb_kin: the two feature vectors are fused by a linear layer and layer-normalised, as the conv
        # head's own features are (see ConvEncoder): signed, unit-scale inputs for every core.
        self.fuse = nn.Linear(2 * c.feature_dim, c.feature_dim) if c.obs_kind == "rgb_kin" else None
        self.fuse_norm = nn.LayerNorm(c.feature_dim) if c.obs_kind == "rgb_kin" else None
        core_out = c.core_output or c.action_dim
        self.core: RecurrentCore = make_core(c.core, c.feature_dim, core_out, **c.core_config)
        self.head = nn.Linear(core_out, c.action_dim)

    # ---- perception -------------------------------------------------------------------------------
    def _split(self, obs: Obs) -> tuple[Tensor | None, Tensor | None]:
        kind = self.config.obs_kind
        if kind == "rgb_kin":
            if not isinstance(obs, dict) or set(obs) != {"rgb", "kin"}:
                raise ValueError('obs_kind "rgb_kin" expects a dict {"rgb": image, "kin": vector}')
            return _as_tensor(obs["kin"]), _as_tensor(obs["rgb"])
        if isinstance(obs, dict):
            raise ValueError(f"obs_kind {kind!r} expects a tensor, got a dict")
        return (_as_tensor(obs), None) if kind == "kin" else (None, _as_tensor(obs))

    def encode(self, kin: Tensor | None, rgb: Tensor | None) -> Tensor:
        """Features ``[N, feature_dim]`` from ``kin [N, obs_dim]`` and/or ``rgb uint8 [N, H, W, 3]``."""
        feats = []
        if self.kin_encoder is not None:
            assert kin is not None
            if kin.dim() != 2 or kin.shape[-1] != self.config.obs_dim:
                raise ValueError(
                    f"kin observation must be [.., {self.config.obs_dim}], got {list(kin.shape)}"
                )
            feats.append(self.kin_encoder(kin))
        if self.rgb_encoder is not None:
            assert rgb is not None
            h, w = self.config.image_hw
            if rgb.dim() != 4 or tuple(rgb.shape[1:]) != (h, w, 3):
                raise ValueError(f"rgb observation must be [.., {h}, {w}, 3] uint8, got {list(rgb.shape)}")
            feats.append(self.rgb_encoder(rgb))
        if self.fuse is not None and self.fuse_norm is not None:
            return self.fuse_norm(self.fuse(torch.cat(feats, -1)))
        return feats[0]

    def _encode_lead(self, obs: Obs, lead: int) -> tuple[Tensor, tuple[int, ...]]:
        """Encode observations with ``lead`` leading dims ([B] or [B, T])."""
        kin, rgb = self._split(obs)
        ref = kin if kin is not None else rgb
        assert ref is not None
        shape = tuple(ref.shape[:lead])
        flat = (None if kin is None else kin.reshape(-1, *kin.shape[lead:]),
                None if rgb is None else rgb.reshape(-1, *rgb.shape[lead:]))
        return self.encode(*flat).reshape(*shape, -1), shape

    # ---- public API -------------------------------------------------------------------------------
    def initial_state(self, batch: int) -> Tensor:
        """Zero recurrent state ``[batch, core.state_size]``."""
        return self.core.initial_state(batch)

    def forward(self, obs_seq: Obs, state: Tensor | None = None, dt: float | Tensor | None = None,
                episode_start: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Training pass over sequences.

        Args:
            obs_seq: observations with leading dims ``[B, T]``.
            state: initial state ``[B, state_size]`` (zeros if None).
            dt: seconds per step, float or ``[B, T]``.
            episode_start: bool ``[B, T]``; resets the state of that row before that step.

        Returns:
            ``(actions [B, T, action_dim] in [-1, 1], final state)``.
        """
        feats, _ = self._encode_lead(obs_seq, 2)
        y, state = self.core(feats, state, dt, episode_start)
        return torch.tanh(self.head(y)), state

    @torch.no_grad()
    def act(self, obs: Obs, state: Tensor | None = None, *, episode_start: Tensor | np.ndarray | None = None,
            dt: float | Tensor) -> tuple[Tensor, Tensor]:
        """One closed-loop step (no autograd). ``episode_start`` and ``dt`` are keywords only.

        Args:
            obs: observations with leading dim ``[B]`` (tensors or numpy arrays).
            state: ``[B, state_size]`` or None (zeros).
            episode_start: bool ``[B]``; True resets that row's state first.
            dt: seconds since the previous step (float or ``[B]``); required.

        Returns:
            ``(action [B, action_dim] in [-1, 1], next state)``.
        """
        action, state, _ = self.act_traced(obs, state, episode_start=episode_start, dt=dt)
        return action, state

    @torch.no_grad()
    def act_traced(self, obs: Obs, state: Tensor | None = None, *, episode_start: Tensor | np.ndarray | None = None,
                   dt: float | Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """:meth:`act`, also returning what the core received and gave at this step.

        Returns:
            ``(action [B, action_dim], next state [B, state_size], {"inputs": features [B, feature_dim],
            "outputs": core output [B, core_output]})``.
        """
        feats, _ = self._encode_lead(obs, 1)
        action, state, y = self.step_features(feats, state, episode_start=episode_start, dt=dt)
        return action, state, {"inputs": feats, "outputs": y}

    def step_features(self, feats: Tensor, state: Tensor | None = None, *,
                      episode_start: Tensor | np.ndarray | None = None,
                      dt: float | Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The core step and the action head on perception features (with autograd, e.g. for saliency).

        Args:
            feats: features ``[B, feature_dim]`` (from :meth:`encode`).
            state, episode_start, dt: as in :meth:`act`.

        Returns:
            ``(action [B, action_dim] in [-1, 1], next state [B, state_size], core output [B, core_output])``.
        """
        es = None if episode_start is None else _as_tensor(episode_start).to(torch.bool)
        y, state = self.core.step(feats, state, dt, es)
        return torch.tanh(self.head(y)), state, y


def trainable_parameters(policy) -> int:
    """Trainable scalars of a policy; synapses masked out by an NCP wiring are not counted."""
    core = policy.core
    rest = sum(p.numel() for name, p in policy.named_parameters() if p.requires_grad and not name.startswith("core."))
    return rest + core.num_parameters(trainable_only=True)


