"""Shared pieces of the PPO tests: tiny core configs and a short-episode env."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces

RECURRENT = ("ltc", "ltc-ncp", "cfc", "cfc-ncp", "ctrnn", "gru", "lstm")
"""Every registry core with a recurrent state (ode-rnn aside), trained with RecurrentPPO."""
SMALL = {"units": 8}
"""Core config of the tiny test networks (every recurrent core has ``units``)."""


class ShortEpisodes(gym.Env):
    """Three uniform observations per step and episodes of 2-6 steps: many episode starts inside a rollout."""

    observation_space = spaces.Box(-1.0, 1.0, (3,), dtype=np.float32)
    action_space = spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = int(self.np_random.integers(2, 7))
        return self._obs(), {}

    def step(self, action):
        self.left -= 1
        return self._obs(), float(-np.abs(action).sum()), self.left <= 0, False, {}

    def _obs(self) -> np.ndarray:
        return self.np_random.uniform(-1.0, 1.0, 3).astype(np.float32)
