"""The acting protocol shared by trained agents, privileged experts and scripted controllers.

A :class:`Controller` is reset once for ``num_envs`` parallel episodes and then asked for an action
at every control step. ``episode_start`` (one bool per env) marks the envs whose episode begins with
this observation: the controller clears that env's memory (recurrent state, integrators) before
acting, so one controller drives a Gymnasium vector env with autoreset. Importable without torch.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Controller(Protocol):
    """Anything that flies an env: ``reset(num_envs)``, then ``act(obs, episode_start)`` every step.

    ``act`` returns one action ``(4,)`` for one observation, or ``(num_envs, 4)`` for a batch, in the
    env's action space (normalised to [-1, 1]).
    """

    def reset(self, num_envs: int = 1) -> None:
        """Forget everything about previous episodes; prepare for ``num_envs`` parallel envs."""

    def act(self, obs: Any, episode_start: Any = None) -> np.ndarray:
        """The action(s) for ``obs``; envs flagged in ``episode_start`` start a new episode first."""


def check_one_env(num_envs: int, who: str) -> None:
    """Raise ``ValueError`` unless ``num_envs == 1`` (for controllers that read one env's true state)."""
    if num_envs != 1:
        raise ValueError(
            f"{who} reads the true state of one env and cannot act for num_envs={num_envs}; "
            "make one per env (e.g. one per worker process) and call reset() with num_envs=1"
        )


def starts_episode(episode_start: Any) -> bool:
    """``episode_start`` of a one-env controller (None, a bool, or one bool in an array) as a bool."""
    if episode_start is None:
        return False
    flags = np.asarray(episode_start, dtype=bool).reshape(-1)
    if flags.shape != (1,):
        raise ValueError(f"episode_start must hold one bool for one env, got shape {np.shape(episode_start)}")
    return bool(flags[0])
