"""Mixer: collective thrust and body torques to rotor speeds, attitude first when saturated, for N drones."""

from __future__ import annotations

import numpy as np

from ..sim.params import QuadrotorParams


class Mixer:
    """Allocates ``[T, tau_x, tau_y, tau_z]`` of N drones to their four rotors within ``[0, f_max]``.

    When the request cannot be met, roll/pitch torque is kept first (scaled down only if even
    the full thrust range cannot produce it), then the collective thrust is shifted to make
    room, and yaw torque is scaled down last: a saturated motor never costs attitude authority.
    Arrays are component first: thrusts (N,), torques (3, N), rotor values (4, N).
    """

    def __init__(self, params: QuadrotorParams) -> None:
        self.params = params
        inv = np.linalg.inv(params.allocation_matrix)  # (4, 4): [T, tx, ty, tz] -> f
        rp = inv.copy()
        rp[:, 3] = 0.0
        self._alloc = np.vstack([rp, inv])  # (8, 4): [T, tx, ty, tz] -> rotor thrusts without, then with yaw
        self._a, self._b, self._c = inv[:, 1:2].copy(), inv[:, 2:3].copy(), inv[:, 3:4].copy()
        self._f_max = params.max_thrust_per_rotor_n
        self._half_f_max = 0.5 * self._f_max
        self._inv_kf = 1.0 / params.kf

    def rotor_thrusts(self, thrust_n: np.ndarray, torque_body_nm: np.ndarray) -> np.ndarray:
        """Per-rotor thrusts (4, N), N, realising collective thrusts (N,) and body torques (3, N) as closely
        as the limits allow."""
        f_max, t = self._f_max, torque_body_nm
        f_rp = self._a * t[0] + self._b * t[1]
        lo, hi = np.minimum.reduce(f_rp), np.maximum.reduce(f_rp)
        spread = hi - lo
        wide = spread > f_max
        if np.count_nonzero(wide):  # roll/pitch alone exceed the thrust range: keep their ratio, shrink them
            k = np.where(wide, f_max / np.where(wide, spread, 1.0), 1.0)
            f_rp, lo, hi = f_rp * k, lo * k, hi * k
        f = f_rp + np.minimum(np.maximum(0.25 * thrust_n, -lo), f_max - hi)  # the collective part shifted into range
        # Largest s in [0, 1] with 0 <= f + s * f_yaw <= f_max (yaw gives way last); no bound where f_yaw = 0.
        f_yaw = self._c * t[2]
        ratio = np.where(f_yaw > 0.0, f_max - f, f) / np.maximum(np.abs(f_yaw), 1e-300)
        s = np.maximum(np.minimum(np.minimum.reduce(ratio), 1.0), 0.0)
        return f + s * f_yaw

    def rpm(self, thrust_n: np.ndarray, torque_body_nm: np.ndarray) -> np.ndarray:
        """Rotor speeds (4, N), rpm, for collective thrusts (N,), N, and body torques (3, N), N·m."""
        return np.sqrt(np.maximum(self.rotor_thrusts(thrust_n, torque_body_nm), 0.0) * self._inv_kf)

    def rpm_of_wrench(self, wrench: np.ndarray) -> np.ndarray:
        """:meth:`rpm` of ``wrench`` (4, N) = [collective thrust (N); body torques (N·m)].

        Where no rotor saturates (the rotor thrusts with and without the yaw torque all lie in
        ``[0, f_max]``), the priorities of :meth:`rotor_thrusts` change nothing and the thrusts are the
        plain allocation: one matrix product for all drones.
        """
        f = self._alloc @ wrench
        h = self._half_f_max
        if not np.count_nonzero(np.abs(f - h) > h):
            return np.sqrt(f[4:] * self._inv_kf)
        return self.rpm(wrench[0], wrench[1:])
