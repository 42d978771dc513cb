"""Saliency of a policy's action with respect to its observation, one closed-loop step at a time.

Methods (:data:`METHODS`):

- ``visual_backprop``: VisualBackProp (Bojarski et al., "VisualBackProp: efficient visualization of CNNs
  for autonomous driving", ICRA 2018; the maps of the NCP and causal-navigation papers). Per conv layer the
  feature maps after the ReLU are averaged over channels; from the deepest layer down, the map is enlarged to
  the layer below by a transposed convolution with that layer's kernel size and stride and all-ones weights,
  and multiplied point-wise into the layer below's average, down to the input. It reads the conv head only
  (not the core, not the action head), so it is cheap and independent of the recurrent state.
- ``saliency`` (|d target / d input|, Simonyan et al. 2014), ``input_x_gradient`` (input times gradient) and
  ``integrated_gradients`` (Sundararajan et al. 2017; black image / zero vector baseline): gradient methods
  from captum, taken through the whole policy (encoder, one step of the recurrent core from the given state,
  action head), so they work for every core.

The attributed ``target`` is the norm of the action (``"norm"``) or one action component (an int).
Image maps are ``[N, H, W]``, non-negative (gradient methods: absolute attribution summed over the colour
channels); feature attributions of state vectors are signed ``[N, F]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models import Policy
from ..models.perception import PIXEL_MAX, ConvEncoder, SpatialSoftmax

GRADIENT_METHODS = ("saliency", "input_x_gradient", "integrated_gradients")
METHODS = ("visual_backprop", *GRADIENT_METHODS)
IG_STEPS = 16
"""Integration steps of integrated gradients (Riemann trapezoid in captum; 16 keeps ~8 ms per frame here)."""

# Names of the ``kin`` vector's entries, in the order of ``envs.base.BaseDroneEnv.kinematic_observation``:
# goal in the body frame, then the proprioception (body velocity, gravity direction, body rates, last action).
PROPRIO_FEATURES = ("vel_x_body", "vel_y_body", "vel_z_body", "gravity_x_body", "gravity_y_body", "gravity_z_body",
                    "rate_x_body", "rate_y_body", "rate_z_body", "last_vx", "last_vy", "last_vz", "last_yaw_rate")
KIN_FEATURES = ("goal_x_body", "goal_y_body", "goal_z_body", *PROPRIO_FEATURES)

Target = str | int


def feature_names(dim: int) -> tuple[str, ...]:
    """Names of the entries of a state vector of size ``dim`` (``kin`` 16, ``rgb_kin``'s proprioception 13)."""
    for names in (KIN_FEATURES, PROPRIO_FEATURES):
        if len(names) == dim:
            return names
    return tuple(f"x{i}" for i in range(dim))


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else a ``ValueError`` naming them."""
    if method not in METHODS:
        raise ValueError(f"unknown saliency method {method!r}; valid methods: {', '.join(METHODS)}")
    return method


@dataclass(frozen=True)
class Attribution:
    """What one method says about a batch of observations.

    Attributes:
        image: ``[N, H, W]`` non-negative saliency per pixel, or None (state-vector policies).
        features: ``[N, F]`` signed attribution per state-vector entry, or None (``rgb`` policies and
            VisualBackProp).
    """

    image: np.ndarray | None
    features: np.ndarray | None


# ---- VisualBackProp ---------------------------------------------------------------------------------------
def _layer_means(encoder: ConvEncoder, x: Tensor) -> list[tuple[nn.Conv2d, Tensor]]:
    """Each conv layer with the channel mean of its rectified output ``[N, 1, h, w]`` (forward pass of the head).

    With ``spatial`` pooling the last conv layer feeds a softmax over pixels instead of a ReLU; its map is the
    channel mean of those softmax weights (where the keypoints are read).
    """
    out: list[tuple[nn.Conv2d, Tensor]] = []
    conv = None
    for module in encoder.conv:
        if isinstance(module, SpatialSoftmax):
            assert conv is not None
            n, c, h, w = x.shape
            out.append((conv, torch.softmax(x.flatten(2), -1).view(n, c, h, w).mean(1, keepdim=True)))
            break
        if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            break
        x = module(x)
        if isinstance(module, nn.Conv2d):
            conv = module
        elif isinstance(module, nn.ReLU):
            assert conv is not None
            out.append((conv, x.mean(1, keepdim=True)))
    return out


def _enlarge(m: Tensor, conv: nn.Conv2d, size: tuple[int, int]) -> Tensor:
    """Transposed convolution of ``m`` (all-ones weights; ``conv``'s kernel size, stride, padding) to ``size``."""
    k, s, p = conv.kernel_size, conv.stride, conv.padding
    natural = [(m.shape[2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2)]
    extra = [size[i] - natural[i] for i in range(2)]
    if not all(0 <= e < s[i] for i, e in enumerate(extra)):
        raise ValueError(f"VisualBackProp cannot map a {tuple(m.shape[2:])} map to {size} through {conv}")
    ones = torch.ones(1, 1, *k, dtype=m.dtype, device=m.device)
    return F.conv_transpose2d(m, ones, stride=s, padding=p, output_padding=tuple(extra))


@torch.no_grad()
def visual_backprop(encoder: ConvEncoder, images: Tensor | np.ndarray) -> np.ndarray:
    """VisualBackProp maps of a conv head.

    Args:
        encoder: the policy's :class:`~ltc_drones.models.perception.ConvEncoder`.
        images: ``[N, H, W, 3]`` images, uint8 (or float in 0..255).

    Returns:
        ``[N, H, W]`` float32 maps scaled to a maximum of 1 per image (all zeros if no unit fires).
    """
    imgs = torch.as_tensor(np.asarray(images)) if not isinstance(images, Tensor) else images
    x = imgs.permute(0, 3, 1, 2).to(encoder.fc.weight.dtype) / PIXEL_MAX
    means = _layer_means(encoder, x)
    if not means:
        raise ValueError("VisualBackProp needs at least one conv layer followed by a ReLU or a spatial softmax")
    m = means[-1][1]
    for (conv, _), (_, below) in zip(means[:0:-1], means[-2::-1], strict=True):
        m = _enlarge(m, conv, tuple(below.shape[2:])) * below
    m = _enlarge(m, means[0][0], tuple(x.shape[2:]))[:, 0]
    peak = m.flatten(1).amax(1).clamp_min(1e-30)[:, None, None]
    return (m / peak).float().numpy()


# ---- gradient methods (captum) ----------------------------------------------------------------------------
def _captum_attr():
    try:
        import captum.attr as attr
    except ImportError as exc:
        raise ImportError("gradient saliency needs captum: pip install 'ltc_drones[diagnostics]'") from exc
    return attr


def _batched(obs, single: bool):
    def one(x):
        t = torch.as_tensor(np.asarray(x)) if not isinstance(x, Tensor) else x
        return t[None] if single else t

    return {k: one(v) for k, v in obs.items()} if isinstance(obs, dict) else one(obs)


def _input_tuple(policy: Policy, obs) -> tuple[Tensor, ...]:
    """The observation as float tensors (images stay in 0..255): ``(rgb,)``, ``(kin,)`` or ``(rgb, kin)``."""
    kind = policy.config.obs_kind
    dtype = policy.head.weight.dtype
    if kind == "rgb_kin":
        return obs["rgb"].to(dtype), obs["kin"].to(dtype)
    return (obs.to(dtype),)


def action_function(policy: Policy, dt: float, target: Target = "norm") -> Callable[..., Tensor]:
    """``f(*inputs, state) -> [N]`` (norm) or ``[N, action_dim]`` (captum picks ``target``): the action of one step.

    ``inputs`` are the float tensors of :func:`_input_tuple`; ``state`` the recurrent state before the step.
    """
    kind = policy.config.obs_kind

    def f(*args: Tensor) -> Tensor:
        *inputs, state = args
        if kind == "rgb_kin":
            feats = policy.encode(inputs[1], inputs[0])
        elif kind == "rgb":
            feats = policy.encode(None, inputs[0])
        else:
            feats = policy.encode(inputs[0], None)
        action, _, _ = policy.step_features(feats, state, dt=dt)
        return action.norm(dim=-1) if target == "norm" else action

    return f


def gradient_attribution(policy: Policy, obs, state: Tensor | None, *, dt: float, method: str,
                         target: Target = "norm", single: bool = False) -> Attribution:
    """Attribution of one step's action to the observation, through the recurrent state ``state``.

    Args:
        policy: the policy (not modified; its parameters' gradients are not touched).
        obs: observations with a leading batch dim ``[N, ...]`` (or one observation with ``single=True``):
            uint8 images, state vectors, or ``{"rgb", "kin"}`` dicts of them.
        state: the core's state before this step ``[N, state_size]`` (None: zeros, as at an episode start).
        dt: seconds per control step.
        method: one of :data:`GRADIENT_METHODS`.
        target: ``"norm"`` (the action's Euclidean norm) or an action index.
        single: ``obs`` is one observation without a batch dim.
    """
    if method not in GRADIENT_METHODS:
        raise ValueError(f"{method!r} is not a gradient method; use one of {', '.join(GRADIENT_METHODS)}")
    if not (target == "norm" or (isinstance(target, int) and 0 <= target < policy.config.action_dim)):
        raise ValueError(f"target must be 'norm' or an action index 0..{policy.config.action_dim - 1}, got {target!r}")
    attr = _captum_attr()
    inputs = _input_tuple(policy, _batched(obs, single))
    n = inputs[0].shape[0]
    state = policy.initial_state(n) if state is None else state.detach().to(policy.head.weight.dtype)
    f = action_function(policy, dt, target)
    tgt = None if target == "norm" else target
    with torch.enable_grad():
        inputs = tuple(t.detach().clone().requires_grad_(True) for t in inputs)
        if method == "saliency":
            out = attr.Saliency(f).attribute(inputs, target=tgt, abs=False, additional_forward_args=(state,))
        elif method == "input_x_gradient":
            out = attr.InputXGradient(f).attribute(inputs, target=tgt, additional_forward_args=(state,))
        else:
            out = attr.IntegratedGradients(f).attribute(inputs, target=tgt, additional_forward_args=(state,),
                                                        n_steps=IG_STEPS, baselines=tuple(0 * t for t in inputs))
    out = tuple(o.detach().float().numpy() for o in out)
    kind = policy.config.obs_kind
    image = np.abs(out[0]).sum(-1) if kind != "kin" else None
    features = out[-1] if kind != "rgb" else None
    return Attribution(image, features)


def attribute(policy: Policy, obs, state: Tensor | None, *, dt: float, method: str, target: Target = "norm",
              single: bool = False) -> Attribution:
    """Any method of :data:`METHODS` (see :func:`gradient_attribution` for the arguments)."""
    check_method(method)
    if method != "visual_backprop":
        return gradient_attribution(policy, obs, state, dt=dt, method=method, target=target, single=single)
    if policy.rgb_encoder is None:
        raise ValueError("visual_backprop needs an image policy (obs rgb or rgb_kin); use a gradient method for "
                         "kin policies")
    batch = _batched(obs, single)
    images = batch["rgb"] if isinstance(batch, dict) else batch
    return Attribution(visual_backprop(policy.rgb_encoder, images), None)


def saliency_map(policy: Policy, obs, state: Tensor | None, *, dt: float, method: str,
                 target: Target = "norm") -> np.ndarray:
    """What the sanity checks compare for one method: image maps ``[N, H, W]`` of image policies, absolute
    feature attributions ``[N, F]`` of ``kin`` policies (``obs`` batched)."""
    a = attribute(policy, obs, state, dt=dt, method=method, target=target)
    return a.image if a.image is not None else np.abs(a.features)


def methods_for(policy: Policy) -> tuple[str, ...]:
    """The methods that apply to ``policy`` (VisualBackProp needs a conv head)."""
    return METHODS if policy.rgb_encoder is not None else GRADIENT_METHODS
