"""Composable force terms acting on a quadrotor, shared by the PyBullet and explicit backends.

Every term is a small pure function of the vehicle state; :class:`ForceModel` sums the enabled
ones into one body-frame wrench per physics step. Equations: each term's function below; coefficients:
:class:`~ltc_drones.sim.params.QuadrotorParams` (the Crazyflie model of gym-pybullet-drones: Panerati et al.,
IROS 2021; ground effect after Shi et al., "Neural Lander", ICRA 2019; downwash after the same project's empirical fit).

Downwash near the stack. In the fit ``F_z = -C1 (r / (4 Δz))² exp(-½ (d / β)²)``, ``β = C2 Δz + C3``,
``C3 < 0``: the width reaches zero at ``Δz = -C3 / C2 = 0.6875 m``, where the force used to switch off
(a drone directly below went from 0.160 N, 0.61 of its 0.265 N weight W, to nothing). Two limits keep
it continuous and bounded for every ``Δz > 0``. (1) The width never drops below
``β_min = (arm + r) / √2 = 0.0444 m``: the push is roughly the overlap of the upper drone's wake with
the lower drone's rotors, each about the disc of radius ``R = arm + r = 0.063 m`` the four rotors
span, and two such discs (per-axis variance R²/4 each) overlap like a Gaussian of variance R²/2. A
wake narrower than the vehicle that makes it is an artefact of the fit, which is used unchanged
where its own width is larger (``Δz ≥ 0.965 m``). (2) Below ``Δz_min = 0.6875 m`` the term is held
at its value there: the fit has no support below its cut-off, and its ``1 / Δz²`` factor would pass
one weight on the axis at 0.535 m and 29 W at 0.1 m, while a hovering drone's wake carries a
momentum flux of one weight, an upper bound on what it can press onto the drone below
(``Δz_min`` is the larger of the cut-off and that 0.535 m). So the on-axis push is the fit's own for
``Δz ≥ 0.6875 m``, constant below, and never above W.
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


def downwash_min_width_m(params: QuadrotorParams) -> float:
    """Smallest lateral width β of the downwash profile (m): ``(arm + r) / √2`` (module docstring)."""
    return (params.arm_m + params.prop_radius_m) / math.sqrt(2.0)


def downwash_min_separation_m(params: QuadrotorParams) -> float:
    """Vertical separation (m) below which the downwash term is held constant (module docstring).

    The larger of the fit's cut-off ``-C3 / C2`` and the separation at which the on-axis push
    equals one weight, ``(r / 4) √(C1 / W)``, so the push never exceeds the weight.
    """
    c1, c2, c3 = params.downwash_coeffs
    cutoff = -c3 / c2 if c2 > 0.0 else 0.0
    return max(cutoff, 0.25 * params.prop_radius_m * math.sqrt(c1 / params.weight_n))


def downwash_force_world_n(params: QuadrotorParams, pos_m: np.ndarray, others_pos_m: np.ndarray) -> np.ndarray:
    """Downward push (world frame, (3,)) from the drones flying above ``pos_m``.

    For a drone ``Δz > 0`` above at horizontal distance ``d``:
    ``F_z = -C1 (r / (4 Δz'))² exp(-½ (d / β)²)`` with ``Δz' = max(Δz, Δz_min)`` and
    ``β = max(C2 Δz' + C3, β_min)`` (:func:`downwash_min_separation_m`,
    :func:`downwash_min_width_m`); drones level or below push nothing.

    Args:
        params: the vehicle (all drones are the same type).
        pos_m: position (3,) of the drone feeling the push, world frame.
        others_pos_m: positions (K, 3) of the other drones, world frame.

    Returns:
        The force (3,) in newtons, world frame; only its z component is non-zero.
    """
    c1, c2, c3 = params.downwash_coeffs
    others = np.asarray(others_pos_m, dtype=float).reshape(-1, 3)
    pos = np.asarray(pos_m, dtype=float)
    dz = others[:, 2] - pos[2]
    above = dz > 0.0
    dz_eff = np.maximum(dz[above], downwash_min_separation_m(params))
    beta = np.maximum(c2 * dz_eff + c3, downwash_min_width_m(params))
    d_sq = np.sum((others[above, :2] - pos[:2]) ** 2, axis=1)
    ratio = params.prop_radius_m / (4.0 * dz_eff)
    fz = -float(np.sum(c1 * ratio * ratio * np.exp(-0.5 * d_sq / (beta * beta))))
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
        c1, self._dw_c2, self._dw_c3 = params.downwash_coeffs
        self._dw_c = c1 * (params.prop_radius_m / 4.0) ** 2
        self._dw_dz_min = downwash_min_separation_m(params)
        self._dw_beta_min = downwash_min_width_m(params)
        rotors = params.rotor_pos_body_m  # the batched form's constants, shaped for (., N) arrays
        self._rx, self._ry = rotors[:, 0:1].copy(), rotors[:, 1:2].copy()  # (4, 1)
        self._rotor_wrench = np.vstack([rotors[:, 1], -rotors[:, 0], np.ones(4)])  # [tau_x, tau_y, thrust] = A f
        self._rotor_yaw = (params.rotor_dirs * params.km)[None, :]
        self._drag = np.array([params.drag_coeff_xy, params.drag_coeff_xy, params.drag_coeff_z])[:, None] * RPM_TO_RADPS

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
        others = others_pos_m.tolist() if isinstance(others_pos_m, np.ndarray) else others_pos_m
        return self.wrench_of_floats(np.asarray(rpm, dtype=float).tolist(), np.asarray(pos_m, dtype=float).tolist(),
                                     np.asarray(R, dtype=float).reshape(9).tolist(),
                                     np.asarray(vel_world_mps, dtype=float).tolist(),
                                     None if wind_world_mps is None else np.asarray(wind_world_mps).tolist(),
                                     others or None)

    def wrench_of_floats(self, rpm: list[float], pos_m: list[float], R_rows: list[float], vel_world_mps: list[float],
                         wind_world_mps: list[float] | None, others_pos_m: list[list[float]] | None,
                         ) -> tuple[list[float], list[float]]:
        """:meth:`wrench` with every argument a list of Python floats (the simulation's hot path).

        Args:
            rpm: rotor speeds (4).
            pos_m: position (3), m, world frame.
            R_rows: the body-to-world rotation row by row (9).
            vel_world_mps: linear velocity (3), m/s, world frame.
            wind_world_mps: wind velocity (3), m/s, world frame; ``None`` for still air.
            others_pos_m: positions (K × 3), m, of the other drones, for downwash; ``None`` for none.
        """
        cfg = self.config
        w0, w1, w2, w3 = rpm
        q0, q1, q2, q3 = w0 * w0, w1 * w1, w2 * w2, w3 * w3
        kf = self._kf
        f0, f1, f2, f3 = kf * q0, kf * q1, kf * q2, kf * q3
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self._rotor_xy
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = R_rows
        if cfg.ground_effect and r22 > 0.0:
            z, c, hmin = pos_m[2], self._ge_c, self._ge_hmin
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
            vx, vy, vz = vel_world_mps
            if wind_world_mps is not None:
                vx, vy, vz = vx - wind_world_mps[0], vy - wind_world_mps[1], vz - wind_world_mps[2]
            ax = r00 * vx + r10 * vy + r20 * vz  # airspeed in the body frame: R^T v
            ay = r01 * vx + r11 * vy + r21 * vz
            az = r02 * vx + r12 * vy + r22 * vz
            s = w0 + w1 + w2 + w3
            fx, fy, fz = -self._kxy * ax * s, -self._kxy * ay * s, fz - self._kz * az * s
        if cfg.downwash and others_pos_m:
            dw = self.downwash_fz_world_n(pos_m, others_pos_m)
            fx, fy, fz = fx + r20 * dw, fy + r21 * dw, fz + r22 * dw  # R^T (0, 0, dw)
        return [fx, fy, fz], [tau_x, tau_y, tau_z]

    def wrench_batch(self, rpm: np.ndarray, pos_m: np.ndarray, R: np.ndarray, vel_world_mps: np.ndarray,
                     wind_world_mps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`wrench` of N drones in separate airspaces (no downwash), as numpy operations over the drones.

        Several times slower than :meth:`wrench` for a few drones, and many times faster for hundreds
        (the explicit backend's vector envs).

        Args:
            rpm: rotor speeds (4, N).
            pos_m: positions (3, N), world frame.
            R: body-to-world rotations (3, 3, N).
            vel_world_mps: linear velocities (3, N), world frame.
            wind_world_mps: wind velocities (3, N), world frame; ``None`` for still air.

        Returns:
            ``(force_body_n, torque_body_nm)``, each (3, N); gravity is not included.
        """
        rpm_sq = rpm * rpm
        f = self._kf * rpm_sq
        if self.config.ground_effect:
            h = np.maximum(pos_m[2] + self._rx * R[2, 0] + self._ry * R[2, 1], self._ge_hmin)
            gain = 1.0 + self._ge_c / (h * h)
            f = np.where(R[2, 2] > 0.0, f * gain, f)
        force = self._rotor_wrench @ f  # (3, N): tau_x, tau_y, thrust along body z
        torque = np.empty_like(force)
        torque[0:2] = force[0:2]
        torque[2] = (self._rotor_yaw @ rpm_sq)[0]
        force[0:2] = 0.0  # the rotors push along body z only
        if self.config.drag:
            air = vel_world_mps if wind_world_mps is None else vel_world_mps - wind_world_mps
            force -= self._drag * (R * air[:, None, :]).sum(axis=0) * rpm.sum(axis=0)  # R^T v: airspeed, body frame
        return force, torque

    def downwash_fz_world_n(self, pos_m, others_pos_m) -> float:
        """World-frame z component (N) of :func:`downwash_force_world_n`, in Python floats.

        Args:
            pos_m: position (3,) of the drone feeling the push, world frame.
            others_pos_m: positions (K, 3) of the other drones (array or nested sequence).
        """
        x, y, z = pos_m.tolist() if isinstance(pos_m, np.ndarray) else pos_m
        others = others_pos_m.tolist() if isinstance(others_pos_m, np.ndarray) else others_pos_m
        c, c2, c3, dz_min, beta_min = self._dw_c, self._dw_c2, self._dw_c3, self._dw_dz_min, self._dw_beta_min
        fz = 0.0
        for ox, oy, oz in others:
            dz = oz - z
            if dz <= 0.0:
                continue
            if dz < dz_min:
                dz = dz_min
            beta = c2 * dz + c3
            if beta < beta_min:
                beta = beta_min
            ex, ey = ox - x, oy - y
            fz -= c / (dz * dz) * math.exp(-0.5 * (ex * ex + ey * ey) / (beta * beta))
        return fz


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
