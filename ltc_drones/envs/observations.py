"""Observation vectors and image post-processing shared by the single- and multi-agent envs.

Pure functions of a drone's state: the single-agent :class:`~ltc_drones.envs.base.DroneEnv` and
each agent of a multi-agent env (:mod:`ltc_drones.envs.multi`) build their observations with them,
so a drone sees the same numbers whichever kind of env it flies in.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from ..sim.explicit import BatchState, rotate_back
from ..sim.state import RigidBodyState
from .scenario import Scenario

PROPRIO_DIM = 13
"""Proprioception: body velocity (3), gravity direction (3), body rates (3), last action (4); ``rgb_kin``'s vector."""
KIN_DIM = 3 + PROPRIO_DIM
"""The privileged ``kin`` vector: the goal in the body frame (3), then proprioception."""
KIN_SCALES = {"goal_m": 5.0, "vel_mps": 2.0, "rates_radps": 10.0}
KIN_BOUND = 10.0  # every kin entry is clipped to ±KIN_BOUND (a 50 m goal, 20 m/s, 100 rad/s)


def observation_space(obs_mode: str, height: int, width: int, kin_dim: int) -> spaces.Space:
    """One drone's observation space: ``kin`` a vector of ``kin_dim`` floats, ``rgb`` an (H, W, 3) uint8
    image, ``rgb_kin`` the image and proprioception (``PROPRIO_DIM``, never the goal) under the key ``kin``."""
    rgb = spaces.Box(0, 255, (height, width, 3), dtype=np.uint8)
    if obs_mode == "kin":
        return spaces.Box(-KIN_BOUND, KIN_BOUND, (kin_dim,), dtype=np.float32)
    if obs_mode == "rgb":
        return rgb
    return spaces.Dict({"rgb": rgb, "kin": spaces.Box(-KIN_BOUND, KIN_BOUND, (PROPRIO_DIM,), dtype=np.float32)})


def kinematic_observations(state: BatchState, idx: np.ndarray | slice, points_m: np.ndarray,
                           last_action: np.ndarray) -> np.ndarray:
    """The ``kin`` vectors of drones ``idx`` (L of them): K points in the body frame, then proprioception.

    Args:
        state: the drones' states.
        idx: which drones.
        points_m: K world points per drone (K, 3, L), m: each enters as ``Rᵀ (p − x) / 5``.
        last_action: each drone's previous action (L, 4), normalised.

    Returns:
        (L, 3K + ``PROPRIO_DIM``) float32, every entry clipped to ±``KIN_BOUND``; with K = 0, proprioception:
        body velocity ((m/s) / 2), gravity direction in the body frame (unit vector), body rates
        ((rad/s) / 10), previous action (normalised); never the goal.
    """
    R, pos = state.R[:, :, idx], state.pos_m[:, idx]
    k = 3 * points_m.shape[0]
    out = np.empty((k + PROPRIO_DIM, pos.shape[1]))
    if k:
        rel = (R[None] * (points_m - pos[None])[:, :, None, :]).sum(axis=1)  # (K, 3, L): Rᵀ (p − x)
        out[:k] = rel.reshape(k, -1) / KIN_SCALES["goal_m"]
    out[k:k + 3] = rotate_back(R, state.vel_world_mps[:, idx]) / KIN_SCALES["vel_mps"]
    out[k + 3:k + 6] = -R[2]  # gravity's direction in the body frame: −(row 2 of R)
    out[k + 6:k + 9] = state.omega_body_radps[:, idx] / KIN_SCALES["rates_radps"]
    out[k + 9:] = np.asarray(last_action).T
    return np.clip(out, -KIN_BOUND, KIN_BOUND).T.astype(np.float32)


def proprioception(state: RigidBodyState, last_action: np.ndarray) -> np.ndarray:
    """What a drone senses of itself (``PROPRIO_DIM`` = 13, float32): :func:`kinematic_observations` with no point."""
    return kinematic_observations(BatchState.of([state]), slice(None), np.zeros((0, 3, 1)),
                                  np.reshape(last_action, (1, 4)))[0]


def kinematic_observation(state: RigidBodyState, goal_pos_m: np.ndarray, last_action: np.ndarray) -> np.ndarray:
    """The privileged ``kin`` vector (``KIN_DIM`` = 16): the goal in the body frame (m / 5), then proprioception."""
    return kinematic_observations(BatchState.of([state]), slice(None), np.reshape(goal_pos_m, (1, 3, 1)),
                                  np.reshape(last_action, (1, 4)))[0]


def postprocess_image(rgb: np.ndarray, scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Apply the scenario's contrast, brightness and pixel noise (drawn from ``rng``) to a uint8 image."""
    s = scenario
    if s.contrast == 1.0 and s.brightness == 0.0 and s.camera_noise_std == 0.0:
        return rgb
    img = (rgb.astype(np.float32) - 128.0) * s.contrast + 128.0 + s.brightness
    if s.camera_noise_std:
        img += rng.normal(0.0, s.camera_noise_std, size=img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
