"""Wind: a constant mean plus gusts (an Ornstein-Uhlenbeck process per axis).

Wind enters the dynamics through the rotor-drag term as relative airspeed (``v - wind``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindConfig:
    """Mean wind and gust statistics (world frame, m/s)."""

    mean_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gust_std_mps: float = 0.0
    gust_tau_s: float = 1.0

    def __post_init__(self) -> None:
        if len(self.mean_mps) != 3:
            raise ValueError(f"wind mean_mps needs 3 components (x, y, z), got {self.mean_mps}")
        if self.gust_std_mps < 0:
            raise ValueError(f"gust_std_mps must be >= 0, got {self.gust_std_mps}")
        if self.gust_tau_s <= 0:
            raise ValueError(f"gust_tau_s must be > 0, got {self.gust_tau_s}")

    @property
    def is_still(self) -> bool:
        return self.gust_std_mps == 0 and not any(self.mean_mps)


class WindField:
    """Uniform wind whose gust component follows a stationary OU process.

    Args:
        config: wind statistics.
    """

    def __init__(self, config: WindConfig) -> None:
        self.config = config
        self._mean = np.asarray(config.mean_mps, dtype=float)
        self._gust = np.zeros(3)
        self._rng: np.random.Generator | None = None

    def reset(self, rng: np.random.Generator) -> None:
        """Draw the initial gust from the stationary distribution using ``rng``."""
        self._rng = rng
        self._gust = rng.normal(0.0, self.config.gust_std_mps, size=3) if self.config.gust_std_mps else np.zeros(3)

    def advance(self, dt_s: float) -> None:
        """Advance the gust process by ``dt_s`` (exact discretisation of the OU process)."""
        if not self.config.gust_std_mps:
            return
        if self._rng is None:
            raise RuntimeError("WindField.reset(rng) must be called before advance()")
        a = math.exp(-dt_s / self.config.gust_tau_s)
        noise = self._rng.normal(0.0, self.config.gust_std_mps * math.sqrt(1.0 - a * a), size=3)
        self._gust = a * self._gust + noise

    @property
    def velocity_world_mps(self) -> np.ndarray:
        return self._mean + self._gust
