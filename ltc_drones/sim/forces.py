"""Composable force terms acting on a quadrotor, shared by the PyBullet and explicit backends.

Every term is a small pure function of the vehicle state; :class:`ForceModel` sums the enabled
ones into one body-frame wrench per physics step. Equations and coefficients: DESIGN.md §3
(the Crazyflie model of gym-pybullet-drones: Panerati et al., IROS 2021; ground effect after
Shi et al., "Neural Lander", ICRA 2019; downwash after the same project's empirical fit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .params import QuadrotorParams

RPM_TO_RADPS = 2.0 * math.pi / 60.0


@dataclass(frozen=True)
class ForceConfig:
    """Which optional force terms are on (rotor thrust and yaw torque always are)."""

    ground_effect: bool = True
    drag: bool = True
    downwash: bool = True


def rotor_thrusts_n(params: QuadrotorParams, rpm: np.ndarray) -> np.ndarray:
    """Thrust of each rotor (4,) in newtons: ``kf * rpm**2``."""
    return params.kf * rpm * rpm


def ground_effect_gain(params: QuadrotorParams, rotor_heights_m: np.ndarray) -> np.ndarray:
    """Relative extra thrust of each rotor near the ground: ``C * (r / (4 h))**2`` (4,).

    ``h`` is clipped below at :attr:`QuadrotorParams.ground_effect_min_height_m`.
    """
    h = np.maximum(rotor_heights_m, params.ground_effect_min_height_m)
    ratio = params.prop_radius_m / (4.0 * h)
    return params.ground_effect_coeff * ratio * ratio


def drag_force_body_n(params: QuadrotorParams, rpm: np.ndarray, airspeed_body_mps: np.ndarray) -> np.ndarray:
    """Rotor drag ``-k ∘ v · Σ ω_i`` (ω in rad/s) in the body frame (3,)."""
    k = np.array([params.drag_coeff_xy, params.drag_coeff_xy, params.drag_coeff_z])
    return -k * airspeed_body_mps * (RPM_TO_RADPS * float(np.sum(rpm)))


def downwash_force_world_n(params: QuadrotorParams, pos_m: np.ndarray, others_pos_m: np.ndarray) -> np.ndarray:
    """Downward push (world frame, (3,)) from the drones flying above ``pos_m``.

    For a drone ``Δz`` above at horizontal distance ``d``:
    ``F_z = -C1 (r / (4 Δz))² exp(-½ (d / β)²)`` with ``β = C2 Δz + C3``; no push where ``β <= 0``.
    """
    c1, c2, c3 = params.downwash_coeffs
    fz = 0.0
    for other in others_pos_m:
        dz = other[2] - pos_m[2]
        if dz <= 0.0:
            continue
        beta = c2 * dz + c3
        if beta <= 0.0:
            continue
        d = math.hypot(other[0] - pos_m[0], other[1] - pos_m[1])
        ratio = params.prop_radius_m / (4.0 * dz)
        fz -= c1 * ratio * ratio * math.exp(-0.5 * (d / beta) ** 2)
    return np.array([0.0, 0.0, fz])


class ForceModel:
    """Sum of the enabled force terms for one vehicle type.

    The module-level functions above are the reference form of each term; this class evaluates
    the same formulas with unrolled Python floats because, at four rotors, that is several times
    faster than numpy in the per-physics-step hot path (a test checks the two agree).

    Args:
        params: the vehicle.
        config: which optional terms are enabled.
    """

    def __init__(self, params: QuadrotorParams, config: ForceConfig | None = None) -> None:
        self.params = params
        self.config = config or ForceConfig()
        self._rotor_xy = [(float(x), float(y)) for x, y, _ in params.rotor_pos_body_m]
        self._yaw = [float(d) * params.km for d in params.rotor_dirs]
        self._kf = params.kf
        self._ge_c = params.ground_effect_coeff * (params.prop_radius_m / 4.0) ** 2
        self._ge_hmin = params.ground_effect_min_height_m
        self._kxy = params.drag_coeff_xy * RPM_TO_RADPS
        self._kz = params.drag_coeff_z * RPM_TO_RADPS

    def wrench(
        self,
        rpm: np.ndarray,
        pos_m: np.ndarray,
        R: np.ndarray,
        vel_world_mps: np.ndarray,
        wind_world_mps: np.ndarray | None = None,
        others_pos_m: np.ndarray | None = None,
    ) -> tuple[list[float], list[float]]:
        """Total force and torque on the body, both in the body frame.

        Args:
            rpm: rotor speeds (4,).
            pos_m: position of the centre of mass (3,), world frame.
            R: body-to-world rotation (3, 3).
            vel_world_mps: linear velocity (3,), world frame.
            wind_world_mps: wind velocity (3,), world frame; ``None`` for still air.
            others_pos_m: positions (K, 3) of the other drones, for downwash.

        Returns:
            ``(force_body_n, torque_body_nm)`` as lists of 3 floats; gravity is not included.
        """
        cfg = self.config
        w0, w1, w2, w3 = rpm.tolist()
        q0, q1, q2, q3 = w0 * w0, w1 * w1, w2 * w2, w3 * w3
        kf = self._kf
        f0, f1, f2, f3 = kf * q0, kf * q1, kf * q2, kf * q3
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self._rotor_xy
        (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = R.tolist()
        if cfg.ground_effect and r22 > 0.0:
            z, c, hmin = float(pos_m[2]), self._ge_c, self._ge_hmin
            h0 = max(z + x0 * r20 + y0 * r21, hmin)
            h1 = max(z + x1 * r20 + y1 * r21, hmin)
            h2 = max(z + x2 * r20 + y2 * r21, hmin)
            h3 = max(z + x3 * r20 + y3 * r21, hmin)
            f0, f1, f2, f3 = (f0 * (1.0 + c / (h0 * h0)), f1 * (1.0 + c / (h1 * h1)), f2 * (1.0 + c / (h2 * h2)),
                              f3 * (1.0 + c / (h3 * h3)))
        thrust = f0 + f1 + f2 + f3
        tau_x = y0 * f0 + y1 * f1 + y2 * f2 + y3 * f3
        tau_y = -(x0 * f0 + x1 * f1 + x2 * f2 + x3 * f3)
        k0, k1, k2, k3 = self._yaw
        tau_z = k0 * q0 + k1 * q1 + k2 * q2 + k3 * q3
        fx = fy = 0.0
        fz = thrust
        if cfg.drag:
            vx, vy, vz = (vel_world_mps if wind_world_mps is None else vel_world_mps - wind_world_mps).tolist()
            ax = r00 * vx + r10 * vy + r20 * vz  # airspeed in the body frame: R^T v
            ay = r01 * vx + r11 * vy + r21 * vz
            az = r02 * vx + r12 * vy + r22 * vz
            s = w0 + w1 + w2 + w3
            fx, fy, fz = -self._kxy * ax * s, -self._kxy * ay * s, fz - self._kz * az * s
        if cfg.downwash and others_pos_m is not None and len(others_pos_m):
            dx, dy, dz = (R.T @ downwash_force_world_n(self.params, pos_m, others_pos_m)).tolist()
            fx, fy, fz = fx + dx, fy + dy, fz + dz
        return [fx, fy, fz], [tau_x, tau_y, tau_z]


class MotorModel:
    """Optional first-order motor lag: ``d rpm / dt = (rpm_cmd - rpm) / tau``.

    With ``tau == 0`` the rotors follow the command exactly.
    """

    def __init__(self, params: QuadrotorParams, physics_dt_s: float) -> None:
        self.tau_s = params.motor_tau_s
        self._alpha = 1.0 if self.tau_s == 0 else 1.0 - math.exp(-physics_dt_s / self.tau_s)
        self._max = params.max_rpm
        self.rpm = np.full(4, params.hover_rpm)

    def reset(self, rpm: np.ndarray) -> None:
        self.rpm = np.clip(np.asarray(rpm, dtype=float), 0.0, self._max).copy()

    def update(self, rpm_cmd: np.ndarray) -> np.ndarray:
        """Advance one physics step toward the (clipped) command; returns the rotor speeds."""
        cmd = np.minimum(np.maximum(rpm_cmd, 0.0), self._max)
        if self._alpha == 1.0:
            self.rpm = cmd
        else:
            self.rpm = self.rpm + self._alpha * (cmd - self.rpm)
        return self.rpm
