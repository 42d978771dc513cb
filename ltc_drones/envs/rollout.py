"""Run episodes of any controller (agent, expert, scripted) in an env and summarise them.

Controllers follow :class:`ltc_drones.control.protocol.Controller`: ``reset(num_envs)`` and
``act(obs, episode_start)``. :func:`run_episode` drives one env; :class:`EpisodeStarts` gives the
``episode_start`` flags for a Gymnasium vector env with autoreset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from ..control.protocol import Controller


@dataclass
class EpisodeRecord:
    """Outcome of one episode."""

    seed: int
    success: bool
    crashed: bool
    steps: int
    time_s: float
    final_distance_m: float
    episode_return: float
    frames: list[np.ndarray] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {"seed": self.seed, "success": self.success, "crashed": self.crashed, "steps": self.steps,
                "time_s": round(self.time_s, 3), "final_distance_m": round(self.final_distance_m, 3),
                "return": round(self.episode_return, 3)}


def run_episode(env, controller: Controller, seed: int, *,
                on_step: Callable[[], None] | None = None,
                before_act: Callable[[object], None] | None = None,
                on_transition: Callable[[np.ndarray, dict], None] | None = None) -> EpisodeRecord:
    """Run one seeded episode of ``controller`` in ``env``.

    Args:
        env: a ``ltc_drones`` env.
        controller: reset for one env after ``env.reset``; its first ``act`` gets ``episode_start=[True]``.
        seed: the episode's seed.
        on_step: called after the reset and after every step (e.g. to grab a video frame).
        before_act: called with each observation before the controller acts on it.
        on_transition: called after every step with the action flown and the step's ``info``
            (before ``on_step``).
    """
    obs, info = env.reset(seed=seed)
    controller.reset(1)
    if on_step is not None:
        on_step()
    total, steps = 0.0, 0
    while True:
        if before_act is not None:
            before_act(obs)
        action = controller.act(obs, np.array([steps == 0]))
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        steps += 1
        if on_transition is not None:
            on_transition(action, info)
        if on_step is not None:
            on_step()
        if terminated or truncated:
            break
    return EpisodeRecord(seed, bool(info["is_success"]), bool(info["crashed"]), steps, float(info["time_s"]),
                         float(info["distance_m"]), total)


def success_rate(env, controller: Controller, seeds: Iterable[int]) -> float:
    """Fraction of the seeded episodes (one per seed) that ``controller`` succeeds in."""
    records = [run_episode(env, controller, int(s)) for s in seeds]
    return sum(r.success for r in records) / len(records)


class EpisodeStarts:
    """``episode_start`` flags for a Gymnasium vector env with autoreset.

    Gymnasium 1.x resets a finished sub-env on the *next* ``step`` by default (``NextStep``): that
    step ignores the sub-env's action and returns its first observation, so the controller's next
    ``act`` starts a new episode there. Under ``SameStep`` the first observation comes with the step
    that ended the episode. Use::

        starts = EpisodeStarts(venv)
        obs, _ = venv.reset(seed=seeds)
        controller.reset(venv.num_envs)
        while ...:
            obs, reward, terminated, truncated, info = venv.step(controller.act(obs, starts.flags))
            starts.update(terminated, truncated)
    """

    def __init__(self, venv) -> None:
        mode = getattr(venv, "metadata", {}).get("autoreset_mode", "NextStep")
        self.mode = str(getattr(mode, "value", mode))
        if self.mode not in ("NextStep", "SameStep"):
            raise ValueError(f"autoreset mode {self.mode!r} is not supported; use NextStep or SameStep")
        self.flags = np.ones(venv.num_envs, dtype=bool)  # after venv.reset every env starts
        self._done = np.zeros(venv.num_envs, dtype=bool)

    @property
    def resetting(self) -> np.ndarray:
        """Envs that the next ``venv.step`` resets, ignoring their action (``NextStep`` mode only)."""
        return self._done.copy()

    def update(self, terminated, truncated) -> np.ndarray:
        """Record one ``venv.step``'s outcome; returns the flags for the next ``act``."""
        done = np.logical_or(terminated, truncated)
        if self.mode == "SameStep":
            self.flags = done
        else:  # envs that ended at the previous step were reset by this one
            self.flags, self._done = self._done, done
        return self.flags
