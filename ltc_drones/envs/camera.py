"""Cameras: the onboard forward camera (observation) and the third-person chase view (render).

``computeProjectionMatrixFOV`` takes the *vertical* field of view and the image's own aspect
ratio, so the horizontal field of view follows from the aspect (2·atan(4/3·tan 25°) ≈ 64° at 64×48).
The default 50° vertical field of view at 64×48 makes the nominal 0.4 m target span about 5 px at the
farthest nominal start (4 m): f = 24 px / tan(25°) ≈ 51 px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet as pb

from ..sim.state import RigidBodyState

# Segmentation classes of the onboard mask (5 is ``scenery.SEG_SCENERY``).
SEG_OTHER, SEG_TARGET, SEG_DISTRACTOR, SEG_GROUND, SEG_SKY = 0, 1, 2, 3, 4
SEG_DRONE = 6
"""Other drones in a multi-agent onboard view (single-agent envs have no other drone; their drone stays 0)."""
SEG_CLASSES = {"other": SEG_OTHER, "target": SEG_TARGET, "distractor": SEG_DISTRACTOR, "ground": SEG_GROUND,
               "sky": SEG_SKY, "drone": SEG_DRONE}


class SegmentationClasses:
    """Maps a rendered segmentation mask (body ids, -1 for sky) to classes, through a table built once.

    Args:
        ground_id: the ground's body id.
        target_ids: bodies of class target.
        extra: body id -> class for the other bodies that have one (distractors, scenery); every other
            body is class ``SEG_OTHER``.
        drone_ids: bodies of class ``SEG_DRONE`` (multi-agent envs: every drone; a drone's camera sits in
            front of its own body, so it never sees itself). Single-agent envs give none.
    """

    def __init__(self, ground_id: int, target_ids: list[int], extra: dict[int, int],
                 drone_ids: tuple[int, ...] | list[int] = ()) -> None:
        classes = {ground_id: SEG_GROUND, -1: SEG_SKY}
        classes.update({b: SEG_DRONE for b in drone_ids})
        classes.update({b: SEG_TARGET for b in target_ids})
        classes.update(extra)
        self._lut = np.full(max(classes) + 2, SEG_OTHER, dtype=np.uint8)  # body id + 1 -> class
        for body, cls in classes.items():
            self._lut[body + 1] = cls

    def __call__(self, seg: np.ndarray) -> np.ndarray:
        """Classes (uint8, same shape) of a mask of body ids."""
        lut = self._lut
        return lut[np.clip(seg, -1, len(lut) - 2) + 1]


@dataclass(frozen=True)
class CameraConfig:
    """Onboard camera: image size, vertical field of view, mounting on the body."""

    width: int = 64
    height: int = 48
    vfov_deg: float = 50.0
    pitch_deg: float = 0.0
    """Downward tilt of the optical axis from body +x."""
    offset_body_m: tuple[float, float, float] = (0.04, 0.0, 0.015)
    near_m: float = 0.05
    far_m: float = 40.0

    def __post_init__(self) -> None:
        if not (16 <= self.width <= 512 and 12 <= self.height <= 512):
            raise ValueError(f"camera size must be 16..512 × 12..512 px, got {self.width}×{self.height}")
        if not 10.0 <= self.vfov_deg <= 120.0:
            raise ValueError(f"vfov_deg must lie in [10, 120], got {self.vfov_deg}")
        if not 0 < self.near_m < self.far_m:
            raise ValueError(f"need 0 < near_m < far_m, got {self.near_m}, {self.far_m}")

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.aspect * math.tan(math.radians(self.vfov_deg) / 2)))

    @property
    def focal_px(self) -> float:
        return 0.5 * self.height / math.tan(math.radians(self.vfov_deg) / 2)


class OnboardCamera:
    """Pose, matrices and visibility tests of the onboard camera."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        c = config
        self.projection = pb.computeProjectionMatrixFOV(c.vfov_deg, c.aspect, c.near_m, c.far_m)
        p = math.radians(c.pitch_deg)
        # Camera axes in the body frame: forward (optical axis), up.
        self._fwd_body = np.array([math.cos(p), 0.0, -math.sin(p)])
        self._up_body = np.array([math.sin(p), 0.0, math.cos(p)])
        self._left_body = np.cross(self._up_body, self._fwd_body)
        self._offset = np.asarray(c.offset_body_m)
        self._offset_xyz = tuple(float(v) for v in c.offset_body_m)
        self._axes = tuple(tuple(float(v) for v in axis) for axis in (self._fwd_body, self._left_body, self._up_body))
        self._tan_h = math.tan(math.radians(c.hfov_deg) / 2)
        self._tan_v = math.tan(math.radians(c.vfov_deg) / 2)

    def eye_m(self, state: RigidBodyState) -> np.ndarray:
        return state.pos_m + state.R @ self._offset

    def view_matrix(self, state: RigidBodyState):
        R = state.R
        eye = self.eye_m(state)
        return pb.computeViewMatrix(list(eye), list(eye + R @ self._fwd_body), list(R @ self._up_body))

    def project(self, state: RigidBodyState, point_world_m: np.ndarray) -> tuple[float, float, float]:
        """Normalised image coordinates ``(u, v, depth_m)``: u, v in [-1, 1] inside the image.

        ``u`` grows to the right, ``v`` upward; depth is along the optical axis.
        """
        (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = state.R.tolist()
        px, py, pz = (np.asarray(point_world_m, dtype=float) - state.pos_m).tolist()
        ox, oy, oz = self._offset_xyz
        dx = r00 * px + r10 * py + r20 * pz - ox  # Rᵀ (p − x) − offset = Rᵀ (p − eye), in Python floats (hot path)
        dy = r01 * px + r11 * py + r21 * pz - oy
        dz = r02 * px + r12 * py + r22 * pz - oz
        (fx, fy, fz), (lx, ly, lz), (ux, uy, uz) = self._axes
        depth = dx * fx + dy * fy + dz * fz
        if depth <= 1e-6:
            return math.inf, math.inf, depth
        u = -(dx * lx + dy * ly + dz * lz) / (depth * self._tan_h)
        v = (dx * ux + dy * uy + dz * uz) / (depth * self._tan_v)
        return u, v, depth

    def sees(self, state: RigidBodyState, point_world_m: np.ndarray) -> bool:
        """Whether a point projects inside the image and in front of the near plane."""
        u, v, depth = self.project(state, point_world_m)
        return depth > self.config.near_m and abs(u) <= 1.0 and abs(v) <= 1.0


def chase_view(state: RigidBodyState, look_at_m: np.ndarray | None = None, distance_m: float = 1.0):
    """View matrix of a third-person camera behind and above the drone."""
    R = state.R
    heading = np.array([R[0, 0], R[1, 0], 0.0])
    n = np.linalg.norm(heading)
    heading = heading / n if n > 1e-6 else np.array([1.0, 0.0, 0.0])
    eye = state.pos_m - distance_m * heading + np.array([0.0, 0.0, 0.45])
    target = state.pos_m + 0.8 * heading if look_at_m is None else 0.5 * (state.pos_m + np.asarray(look_at_m))
    return pb.computeViewMatrix(list(eye), list(target), [0.0, 0.0, 1.0])


CHASE_PROJECTION = pb.computeProjectionMatrixFOV(60.0, 4.0 / 3.0, 0.05, 60.0)
