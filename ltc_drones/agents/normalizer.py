"""The observation normalisation a PPO agent was trained behind, applied by the agent itself."""

from __future__ import annotations

from typing import Any

import numpy as np


class ObservationNormalizer:
    """``clip((x - mean) / sqrt(var + epsilon), -clip, clip)`` as float32 on state vectors, exactly as the
    ``VecNormalize`` a PPO agent was trained behind (its statistics are ``env_spec["obs_normalization"]``,
    written by :func:`ltc_drones.rl.envs.normalization_spec`; ``keys`` names the ``kin`` vector or dict entry)."""

    def __init__(self, stats: dict[str, tuple[np.ndarray, np.ndarray]], epsilon: float, clip: float) -> None:
        self.stats, self.epsilon, self.clip = stats, epsilon, clip

    @classmethod
    def from_spec(cls, spec: dict[str, Any] | None) -> ObservationNormalizer | None:
        if spec is None:
            return None
        stats = {k: (np.asarray(v["mean"], dtype=float), np.asarray(v["var"], dtype=float))
                 for k, v in spec["keys"].items()}
        return cls(stats, float(spec["epsilon"]), float(spec["clip"]))

    def _one(self, x, key: str) -> np.ndarray:
        mean, var = self.stats[key]
        return np.clip((np.asarray(x) - mean) / np.sqrt(var + self.epsilon), -self.clip, self.clip).astype(np.float32)

    def __call__(self, obs):
        if isinstance(obs, dict):
            return {k: self._one(v, k) if k in self.stats else v for k, v in obs.items()}
        return self._one(obs, "kin")
