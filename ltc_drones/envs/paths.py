"""A random smooth path for a moving target: FollowTarget's target and MultiFollow's leader.

The heading turns with a smoothly varying turn rate (an Ornstein–Uhlenbeck process), the speed is
constant, the height follows a slow sinusoid within a band, and near the bounds the path turns
back toward the centre. Every random number comes from the generator passed in (the episode's
``target`` stream).
"""

from __future__ import annotations

import math

import numpy as np


class SmoothPath:
    """State of one moving point along a random smooth path.

    Args:
        turn_rate_std_radps: stationary standard deviation of the turn rate (rad/s).
        turn_rate_tau_s: correlation time of the turn rate (s).
    """

    def __init__(self, turn_rate_std_radps: float = 0.4, turn_rate_tau_s: float = 2.0) -> None:
        self.turn_rate_std_radps = turn_rate_std_radps
        self.turn_rate_tau_s = turn_rate_tau_s
        self.pos_m = np.zeros(3)
        self.vel_mps = np.zeros(3)

    def reset(self, rng: np.random.Generator, pos_m: np.ndarray, away_from_m: np.ndarray,
              speed_range_mps: tuple[float, float], height_range_m: tuple[float, float]) -> None:
        """Start at ``pos_m`` heading roughly away from ``away_from_m`` (±0.5 rad), at a drawn speed."""
        self.pos_m = np.array(pos_m, dtype=np.float64)
        away = self.pos_m[:2] - np.asarray(away_from_m)[:2]
        self.heading_rad = math.atan2(away[1], away[0]) + rng.uniform(-0.5, 0.5)
        self.speed_mps = rng.uniform(*speed_range_mps)
        self._turn_rate = 0.0
        self._z_mid = 0.5 * sum(height_range_m)
        self._z_amp = 0.5 * (height_range_m[1] - height_range_m[0])
        rel = (self.pos_m[2] - self._z_mid) / max(self._z_amp, 1e-9)
        self._z_phase = math.asin(max(-1.0, min(1.0, rel)))
        self._z_omega = rng.uniform(0.15, 0.4)
        self.vel_mps = self._velocity()

    def _velocity(self) -> np.ndarray:
        vz = self._z_amp * self._z_omega * math.cos(self._z_phase)
        return np.array([self.speed_mps * math.cos(self.heading_rad), self.speed_mps * math.sin(self.heading_rad), vz])

    def advance(self, dt_s: float, rng: np.random.Generator, bounds_xy_m: float) -> None:
        """Move on by ``dt_s``; beyond 60 % of ``bounds_xy_m`` the path turns back toward the centre."""
        a = math.exp(-dt_s / self.turn_rate_tau_s)
        noise = rng.normal(0.0, self.turn_rate_std_radps * math.sqrt(1 - a * a))
        self._turn_rate = a * self._turn_rate + noise
        p = self.pos_m
        if max(abs(p[0]), abs(p[1])) > 0.6 * bounds_xy_m:
            to_centre = math.atan2(-p[1], -p[0])
            self._turn_rate = 0.6 * math.remainder(to_centre - self.heading_rad, 2 * math.pi)
        self.heading_rad += self._turn_rate * dt_s
        self._z_phase += self._z_omega * dt_s
        self.vel_mps = self._velocity()
        self.pos_m = np.array([p[0] + self.vel_mps[0] * dt_s, p[1] + self.vel_mps[1] * dt_s,
                               self._z_mid + self._z_amp * math.sin(self._z_phase)])
