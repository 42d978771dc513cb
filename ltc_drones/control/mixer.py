"""Mixer: collective thrust and body torques to rotor speeds, attitude first when saturated."""

from __future__ import annotations

import numpy as np

from ..sim.params import QuadrotorParams


class Mixer:
    """Allocates ``[T, tau_x, tau_y, tau_z]`` to four rotors within ``[0, f_max]``.

    When the request cannot be met, roll/pitch torque is kept first (scaled down only if even
    the full thrust range cannot produce it), then the collective thrust is shifted to make
    room, and yaw torque is scaled down last: a saturated motor never costs attitude authority.
    """

    def __init__(self, params: QuadrotorParams) -> None:
        self.params = params
        inv = np.linalg.inv(params.allocation_matrix)  # (4, 4): [T, tx, ty, tz] -> f
        self._rp = np.ascontiguousarray(inv[:, 1:3])
        self._yaw = np.ascontiguousarray(inv[:, 3])
        self._f_max = params.max_thrust_per_rotor_n
        self._inv_kf = 1.0 / params.kf

    def rotor_thrusts(self, thrust_n: float, torque_body_nm: np.ndarray) -> np.ndarray:
        """Per-rotor thrusts (4,) realising the request as closely as the limits allow."""
        f_max = self._f_max
        f_rp = self._rp @ torque_body_nm[:2]
        spread = f_rp.max() - f_rp.min()
        if spread > f_max:
            f_rp *= f_max / spread
        lo, hi = -f_rp.min(), f_max - f_rp.max()
        base = min(max(0.25 * thrust_n, lo), hi)
        f = f_rp + base
        f_yaw = self._yaw * torque_body_nm[2]
        # Largest s in [0, 1] with 0 <= f + s * f_yaw <= f_max.
        s = 1.0
        for fi, dyi in zip(f, f_yaw, strict=True):
            if dyi > 0.0:
                s = min(s, (f_max - fi) / dyi)
            elif dyi < 0.0:
                s = min(s, -fi / dyi)
        return f + max(s, 0.0) * f_yaw

    def rpm(self, thrust_n: float, torque_body_nm: np.ndarray) -> np.ndarray:
        """Rotor speeds (4,) in rpm."""
        f = self.rotor_thrusts(thrust_n, torque_body_nm)
        return np.sqrt(np.maximum(f, 0.0) * self._inv_kf)
