"""Explicit quadrotor dynamics batched over N drones in numpy (float64), with ground contact.

The one explicit (non-PyBullet) backend: the vector envs fly it, and the tests use it as the oracle
for the PyBullet world (N = 1 is one drone). The force terms are :meth:`ForceModel.wrench_batch`
(rotor thrust and yaw torque, ground effect, rotor drag on the airspeed relative to the wind; no
downwash: the drones of a vector env fly in separate worlds); the integration matches PyBullet's:
semi-implicit Euler (velocity first, then the position with the new velocity), Euler's equations
with the gyroscopic term ``ω × Jω``, and the body-frame rotation vector ``ω dt`` applied to the
quaternion through the exact exponential map. Arrays are structure-of-arrays, component first
(positions ``(3, N)``, rotation matrices ``(3, 3, N)``), so each line below is one numpy call over
all drones; :class:`BatchState` is also the state the batched controller reads.

Ground contact, as PyBullet reports it (measured with pybullet 3.2.7, see
``tests/envs/test_vector_env.py``): the ground plane's surface is at ``z = -0.001 m``; Bullet rounds
the drone's collision cylinder (radius ``r``, half height ``η``) by its collision margin
``m = 0.001 m`` (a cylinder of radius ``r − m`` and half height ``η − m`` swept by a sphere of
radius ``m``); and it reports a contact once the shapes are closer than its contact-breaking
threshold, ``0.02 · |(r, r, η)|`` (0.02 times the cylinder's bounding radius, 1.7 mm), judged on the
state *before* the physics step. So a drone is in contact when
``z − (η − m)|R₂₂| − (r − m)·√(1 − R₂₂²) − m − z_ground < 0.02 · √(2r² + η²)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .forces import ForceConfig, ForceModel
from .params import QuadrotorParams
from .state import RigidBodyState

GROUND_SURFACE_Z_M = -0.001
"""Top of PyBullet's ground plane (:class:`ltc_drones.sim.world.PyBulletWorld` places it 1 mm low)."""
BULLET_COLLISION_MARGIN_M = 0.001
"""PyBullet's default collision margin of shapes made by ``createCollisionShape``."""
BULLET_CONTACT_THRESHOLD_FACTOR = 0.02
BULLET_MAX_VELOCITY = 100.0
"""PyBullet clamps each world-frame component of a body's linear (m/s) and angular (rad/s) velocity to ±100
after the velocity update (btMultiBody's maximum coordinate velocity; measured): a drone spun up in ``rpm``
mode stops accelerating its yaw at 100 rad/s."""
"""Bullet's ``gContactBreakingThreshold``: times a shape's bounding radius, the distance contacts are kept below."""


@dataclass
class BatchState:
    """Kinematic state of N rigid bodies (world frame unless the name says otherwise).

    Attributes:
        pos_m: positions (3, N).
        quat_xyzw: orientations (4, N), unit quaternions.
        vel_world_mps: linear velocities (3, N).
        omega_body_radps: angular velocities in the body frame (3, N).
        R: body-to-world rotation matrices (3, 3, N), ``R[:, :, i]`` for drone i.
    """

    pos_m: np.ndarray
    quat_xyzw: np.ndarray
    vel_world_mps: np.ndarray
    omega_body_radps: np.ndarray
    R: np.ndarray

    @classmethod
    def at_rest(cls, n: int, z_m: float = 1.0) -> BatchState:
        pos = np.zeros((3, n))
        pos[2] = z_m
        quat = np.zeros((4, n))
        quat[3] = 1.0
        return cls(pos, quat, np.zeros((3, n)), np.zeros((3, n)), quat_to_rot(quat))

    @classmethod
    def of(cls, states: list[RigidBodyState]) -> BatchState:
        """The batch (N = ``len(states)``) of single-drone states."""
        pos = np.array([s.pos_m for s in states], dtype=float).T
        quat = np.array([s.quat_xyzw for s in states], dtype=float).T
        vel = np.array([s.vel_world_mps for s in states], dtype=float).T
        R = np.stack([s.R for s in states], axis=2)
        omega = np.array([s.omega_world_radps for s in states], dtype=float).T
        return cls(pos, quat, vel, rotate_back(R, omega), R)

    def drone(self, i: int) -> RigidBodyState:
        """Drone ``i``'s state as a :class:`RigidBodyState` (copies)."""
        return RigidBodyState(self.pos_m[:, i].copy(), self.quat_xyzw[:, i].copy(), self.vel_world_mps[:, i].copy(),
                              self.R[:, :, i] @ self.omega_body_radps[:, i], self.R[:, :, i].copy())

    @property
    def omega_world_radps(self) -> np.ndarray:
        """Angular velocities in the world frame (3, N)."""
        return rotate(self.R, self.omega_body_radps)

    def copy_rows(self, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        """The state of drones ``idx`` as copies (to put back later with :meth:`set_rows`)."""
        return (self.pos_m[:, idx], self.quat_xyzw[:, idx], self.vel_world_mps[:, idx],
                self.omega_body_radps[:, idx], self.R[:, :, idx])

    def set_rows(self, idx: np.ndarray, rows: tuple[np.ndarray, ...]) -> None:
        pos, quat, vel, omega_b, R = rows
        self.pos_m[:, idx], self.quat_xyzw[:, idx], self.vel_world_mps[:, idx] = pos, quat, vel
        self.omega_body_radps[:, idx], self.R[:, :, idx] = omega_b, R


_QUAT_PAIRS = np.array([[0, 0, 0, 0, 1, 1, 1, 2, 2, 3], [0, 1, 2, 3, 1, 2, 3, 2, 3, 3]])
"""The ten products of quaternion components: xx xy xz xw yy yz yw zz zw ww."""
_ROT_OF_PAIRS = np.array([  # row-major R entries as combinations of the products above
    [0, 0, 0, 0, -2, 0, 0, -2, 0, 0], [0, 2, 0, 0, 0, 0, 0, 0, -2, 0], [0, 0, 2, 0, 0, 0, 2, 0, 0, 0],
    [0, 2, 0, 0, 0, 0, 0, 0, 2, 0], [-2, 0, 0, 0, 0, 0, 0, -2, 0, 0], [0, 0, 0, -2, 0, 2, 0, 0, 0, 0],
    [0, 0, 2, 0, 0, 0, -2, 0, 0, 0], [0, 0, 0, 2, 0, 2, 0, 0, 0, 0], [-2, 0, 0, 0, -2, 0, 0, 0, 0, 0],
], dtype=float)
_ROT_IDENTITY = np.eye(3).reshape(9, 1)


def quat_to_rot(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (3, 3, N) of unit quaternions (4, N), (x, y, z, w) order (as ``sim.rotation.quat_to_rot``).

    ``R = I + 2 (...)`` of the ten component products, as one matrix product (several times fewer numpy calls).
    """
    products = q[_QUAT_PAIRS[0]] * q[_QUAT_PAIRS[1]]
    return (_ROT_OF_PAIRS @ products + _ROT_IDENTITY).reshape(3, 3, q.shape[1])


def yaw_quat(yaw_rad: np.ndarray) -> np.ndarray:
    """Quaternions (4, N) of pure headings (as ``sim.rotation.euler_to_quat(0, 0, yaw)``)."""
    half = 0.5 * np.asarray(yaw_rad, dtype=float)
    zero = np.zeros_like(half)
    return np.stack([zero, zero, np.sin(half), np.cos(half)])


def rotate(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``R v`` per drone: body-frame vectors (3, N) into the world frame."""
    return (R * v[None, :, :]).sum(axis=1)


def rotate_back(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Rᵀ v`` per drone: world-frame vectors (3, N) into the body frame."""
    return np.add.reduce(R * v[:, None, :], axis=0)


def yaw_of(R: np.ndarray) -> np.ndarray:
    """Headings (N,) in radians (as :func:`sim.rotation.yaw_of`)."""
    return np.arctan2(R[1, 0], R[0, 0])


def heading_cos_sin(R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cos`` and ``sin`` (N,) of each heading :func:`yaw_of` (1, 0 when the body x axis is vertical)."""
    norm = np.sqrt(R[0, 0] * R[0, 0] + R[1, 0] * R[1, 0])
    level = norm > 0.0
    safe = np.where(level, norm, 1.0)
    return np.where(level, R[0, 0] / safe, 1.0), R[1, 0] / safe


_SIN_TAYLOR = [(-1.0) ** k / math.factorial(2 * k + 1) for k in range(8)]  # sin x = x Σ c_k x^2k, to x^15
SMALL_ANGLE_RAD = 0.75
"""Below this |x|, :func:`sin_cos` uses its series (error < 1e-16); numpy's own sin and cos take several
times longer than the rest of a physics step's element-wise operations."""


def sin_cos(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sin x`` and ``cos x``: a Taylor series and ``cos = √(1 − sin²)`` where ``|x| < 0.75``, numpy elsewhere."""
    x2 = x * x
    acc = x2 * _SIN_TAYLOR[-1]  # Horner's scheme in x²
    acc += _SIN_TAYLOR[-2]
    for c in _SIN_TAYLOR[-3::-1]:
        acc *= x2
        acc += c
    s = x * acc
    c = np.sqrt(1.0 - s * s)
    big = np.abs(x) >= SMALL_ANGLE_RAD
    if np.count_nonzero(big):
        s[big], c[big] = np.sin(x[big]), np.cos(x[big])
    return s, c


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross products of (3, N) arrays, column by column."""
    out = np.empty_like(a)
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]
    return out


def quat_integrate(q: np.ndarray, omega_body: np.ndarray, dt_s: float, norm: np.ndarray | None = None) -> np.ndarray:
    """Rotate each quaternion (4, N) by its body-frame rotation vector ``ω dt`` (as ``sim.rotation.quat_integrate``).

    ``norm`` (N,), when given, is ``|ω|``.
    """
    if norm is None:
        norm = np.sqrt((omega_body * omega_body).sum(axis=0))
    still = norm * dt_s < 1e-12
    safe = np.where(still, 1.0, norm)
    s, w2 = sin_cos(0.5 * (norm * dt_s))
    x2, y2, z2 = omega_body * (s / safe)
    x1, y1, z1, w1 = q
    out = np.empty_like(q)
    out[0] = w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2
    out[1] = w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2
    out[2] = w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2
    out[3] = w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2
    out /= np.sqrt((out * out).sum(axis=0))
    if np.count_nonzero(still):
        out[:, still] = q[:, still]
    return out


class BatchQuadrotor:
    """N quadrotors of one type integrated together.

    Args:
        params: the vehicle.
        physics_dt_s: integration step (s).
        forces: which optional force terms are on (downwash is ignored: one drone per world).
        num_drones: N.
    """

    def __init__(self, params: QuadrotorParams, physics_dt_s: float, forces: ForceConfig | None, num_drones: int):
        if not physics_dt_s > 0:
            raise ValueError(f"physics_dt_s must be positive, got {physics_dt_s}")
        self.params = params
        self.config = forces or ForceConfig()
        self.dt_s = physics_dt_s
        self.n = num_drones
        self.force_model = ForceModel(params, self.config)
        self._J = params.inertia_diag[:, None]
        self._max_rpm = params.max_rpm
        self._alpha = 1.0 if params.motor_tau_s == 0 else 1.0 - math.exp(-physics_dt_s / params.motor_tau_s)
        m = BULLET_COLLISION_MARGIN_M
        r, eta = params.collision_radius_m, 0.5 * params.collision_height_m
        self._contact_axial, self._contact_radial = eta - m, r - m
        self._contact_offset = m + GROUND_SURFACE_Z_M
        self._contact_threshold = BULLET_CONTACT_THRESHOLD_FACTOR * math.sqrt(2 * r * r + eta * eta)
        self.state = BatchState.at_rest(num_drones)
        self.rpm = np.full((4, num_drones), params.hover_rpm)

    def reset(self, idx: np.ndarray, pos_m: np.ndarray, quat_xyzw: np.ndarray, vel_world_mps: np.ndarray,
              omega_world_radps: np.ndarray) -> None:
        """Put drones ``idx`` at the given states (each (3, B) or (4, B)); rotors at hover speed."""
        s = self.state
        quat = np.asarray(quat_xyzw, dtype=float)
        R = quat_to_rot(quat)
        s.pos_m[:, idx] = pos_m
        s.quat_xyzw[:, idx] = quat
        s.vel_world_mps[:, idx] = vel_world_mps
        s.omega_body_radps[:, idx] = rotate_back(R, np.asarray(omega_world_radps, dtype=float))
        s.R[:, :, idx] = R
        self.rpm[:, idx] = self.params.hover_rpm

    def ground_gap_m(self) -> np.ndarray:
        """Distance (N,) from the rounded collision cylinder's lowest point to the ground surface (Bullet's measure)."""
        R = self.state.R
        c = np.abs(R[2, 2])
        s = np.sqrt(np.maximum(1.0 - c * c, 0.0))
        return self.state.pos_m[2] - self._contact_axial * c - self._contact_radial * s - self._contact_offset

    def in_contact(self) -> np.ndarray:
        """Whether each drone touches the ground (N,), as PyBullet would report after the next physics step."""
        return self.ground_gap_m() < self._contact_threshold

    def step(self, rpm_cmd: np.ndarray, wind_world_mps: np.ndarray | None = None) -> None:
        """Advance one physics step with rotor commands (4, N) in rpm; wind (3, N) or ``None`` for still air."""
        cmd = np.minimum(np.maximum(rpm_cmd, 0.0), self._max_rpm)
        if self._alpha == 1.0:
            self.rpm = cmd
        else:
            self.rpm = self.rpm + self._alpha * (cmd - self.rpm)
        s = self.state
        R, w_b = s.R, s.omega_body_radps
        rpm = self.rpm
        force, torque = self.force_model.wrench_batch(rpm, s.pos_m, R, s.vel_world_mps, wind_world_mps)
        acc = rotate(R, force) / self.params.mass_kg
        acc[2] -= self.params.gravity_mps2
        J = self._J
        w_dot = (torque - cross(w_b, J * w_b)) / J
        vel = s.vel_world_mps
        vel += acc * self.dt_s
        if np.count_nonzero(np.abs(vel) > BULLET_MAX_VELOCITY):
            np.clip(vel, -BULLET_MAX_VELOCITY, BULLET_MAX_VELOCITY, out=vel)
        s.pos_m += vel * self.dt_s
        w_b += w_dot * self.dt_s
        norm = np.sqrt((w_b * w_b).sum(axis=0))
        fast = norm > BULLET_MAX_VELOCITY  # only then can a world-frame component exceed the limit
        if np.count_nonzero(fast):
            idx = np.flatnonzero(fast)
            R_fast = R[:, :, idx]
            omega = np.clip(rotate(R_fast, w_b[:, idx]), -BULLET_MAX_VELOCITY, BULLET_MAX_VELOCITY)
            w_b[:, idx] = rotate_back(R_fast, omega)
            norm[idx] = np.sqrt((w_b[:, idx] ** 2).sum(axis=0))
        s.quat_xyzw = quat_integrate(s.quat_xyzw, w_b, self.dt_s, norm)
        s.R = quat_to_rot(s.quat_xyzw)
