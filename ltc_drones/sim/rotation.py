"""Small rotation helpers (quaternions are ``quat_xyzw``, matrices map body to world)."""

from __future__ import annotations

import math

import numpy as np


def quat_to_rot(q_xyzw) -> np.ndarray:
    """Rotation matrix (3, 3) of a unit quaternion (x, y, z, w); columns are body axes in world."""
    x, y, z, w = q_xyzw
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz, wx, wy, wz = x * y, x * z, y * z, w * x, w * y, w * z
    return np.array([
        [1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy)],
        [2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx)],
        [2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)],
    ])


def rot_to_quat(R: np.ndarray) -> np.ndarray:
    """Unit quaternion (x, y, z, w) of a rotation matrix (Shepperd's method)."""
    tr = R[0, 0] + R[1, 1] + R[2, 2]
    if tr > 0:
        s = 2.0 * math.sqrt(tr + 1.0)
        q = [(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, 0.25 * s]
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = 2.0 * math.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        q = [0.25 * s, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s, (R[2, 1] - R[1, 2]) / s]
    elif R[1, 1] > R[2, 2]:
        s = 2.0 * math.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        q = [(R[0, 1] + R[1, 0]) / s, 0.25 * s, (R[1, 2] + R[2, 1]) / s, (R[0, 2] - R[2, 0]) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        q = [(R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, 0.25 * s, (R[1, 0] - R[0, 1]) / s]
    q = np.array(q)
    return q / np.linalg.norm(q)


def euler_to_quat(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Quaternion (x, y, z, w) of intrinsic z-y-x (yaw, pitch, roll) angles in radians."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return np.array([
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    ])


def yaw_of(R: np.ndarray) -> float:
    """Heading (rad) of the body x axis projected on the horizontal plane."""
    return math.atan2(R[1, 0], R[0, 0])


def tilt_of(R: np.ndarray) -> float:
    """Angle (rad) between body z and world z."""
    return math.acos(max(-1.0, min(1.0, R[2, 2])))


def quat_integrate(q_xyzw: np.ndarray, omega_body_radps: np.ndarray, dt_s: float) -> np.ndarray:
    """Rotate ``q`` by the body-frame rotation vector ``omega * dt`` (exact exponential map)."""
    angle = float(np.linalg.norm(omega_body_radps)) * dt_s
    if angle < 1e-12:
        return q_xyzw
    axis = omega_body_radps / np.linalg.norm(omega_body_radps)
    s = math.sin(angle / 2)
    dq = np.array([axis[0] * s, axis[1] * s, axis[2] * s, math.cos(angle / 2)])
    x1, y1, z1, w1 = q_xyzw
    x2, y2, z2, w2 = dq
    q = np.array([
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
    ])
    return q / np.linalg.norm(q)


def cross3(a, b) -> np.ndarray:
    """Cross product of two 3-vectors (several times faster than ``np.cross`` at this size)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])
