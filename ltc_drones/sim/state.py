"""Named rigid-body state of one vehicle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rotation import quat_to_rot


@dataclass
class RigidBodyState:
    """Kinematic state of a rigid body (world frame unless the name says otherwise)."""

    pos_m: np.ndarray
    quat_xyzw: np.ndarray
    vel_world_mps: np.ndarray
    omega_world_radps: np.ndarray
    R: np.ndarray | None = None
    """Body-to-world rotation matrix; filled from ``quat_xyzw`` when omitted."""

    def __post_init__(self) -> None:
        if self.R is None:
            self.R = quat_to_rot(self.quat_xyzw)

    @property
    def omega_body_radps(self) -> np.ndarray:
        return self.R.T @ self.omega_world_radps

    @property
    def vel_body_mps(self) -> np.ndarray:
        return self.R.T @ self.vel_world_mps

    @staticmethod
    def at_rest(pos_m, quat_xyzw=(0.0, 0.0, 0.0, 1.0)) -> RigidBodyState:
        return RigidBodyState(
            np.asarray(pos_m, dtype=float).copy(), np.asarray(quat_xyzw, dtype=float).copy(), np.zeros(3), np.zeros(3)
        )
