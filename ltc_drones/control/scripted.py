"""Scripted baseline controllers: behaviours that never solve a task, to rank rewards and agents against.

All follow the :class:`~ltc_drones.control.protocol.Controller` protocol. :class:`ConstantAction`
repeats one action and drives any number of envs. :class:`HoverInPlace`, :class:`SpinInPlace` and
:class:`FlyAway` command a velocity and share the experts' translation of velocity commands into
the env's action mode (``vel``, ``ctbr`` or ``rpm``), so they read one env's true state and act on one
env, like the experts. ``make_scripted(name, env)`` builds one by name (see :data:`SCRIPTED`).
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.rotation import yaw_of
from ..sim.state import RigidBodyState
from .cascade import clip_velocity, world_to_body_yaw
from .experts import Expert


class ConstantAction:
    """The same normalised action at every step, for every env (``(4,)`` for one env, else ``(n, 4)``).

    Args:
        action: four numbers in [-1, 1] (``vel`` mode: zeros hover in place).
    """

    def __init__(self, action=(0.0, 0.0, 0.0, 0.0)) -> None:
        a = np.asarray(action, dtype=np.float32)
        if a.shape != (4,) or not np.all(np.abs(a) <= 1.0):
            raise ValueError(f"action must be four numbers in [-1, 1], got {action!r}")
        self.action = a
        self.num_envs = 1

    def reset(self, num_envs: int = 1) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.num_envs = num_envs

    def act(self, obs=None, episode_start=None) -> np.ndarray:
        if self.num_envs == 1:
            return self.action.copy()
        return np.tile(self.action, (self.num_envs, 1))


class HoverInPlace(Expert):
    """Commands zero velocity: holds its start point and never approaches a goal."""

    def velocity_command(self, state: RigidBodyState) -> np.ndarray:
        return np.zeros(4)


class SpinInPlace(Expert):
    """Holds its position and yaws at ``fraction`` of the yaw-rate limit (the goal sweeps through view)."""

    def __init__(self, env, fraction: float = 1.0) -> None:
        super().__init__(env)
        if not 0.0 < abs(fraction) <= 1.0:
            raise ValueError(f"fraction must be in [-1, 1] and non-zero, got {fraction}")
        self.fraction = fraction

    def velocity_command(self, state: RigidBodyState) -> np.ndarray:
        return np.array([0.0, 0.0, 0.0, self.fraction * self.limits.yaw_rate_radps])


class FlyAway(Expert):
    """Flies horizontally straight away from the goal at the speed limit, keeping its heading."""

    def velocity_command(self, state: RigidBodyState) -> np.ndarray:
        d = state.pos_m - self.env.goal_pos_m
        horiz = math.hypot(d[0], d[1])
        yaw = yaw_of(state.R)
        # Goal straight above or below: fly backwards.
        u = np.array([d[0], d[1], 0.0]) / horiz if horiz > 1e-6 else -np.array([math.cos(yaw), math.sin(yaw), 0.0])
        v_body = clip_velocity(world_to_body_yaw(self.limits.vxy_mps * u, yaw), self.limits)
        return np.append(v_body, 0.0)


SCRIPTED = {"hover-in-place": HoverInPlace, "spin-in-place": SpinInPlace, "fly-away": FlyAway}
"""Name -> class of the scripted controllers that read one env (``make_scripted(name, env)``)."""


def make_scripted(name: str, env) -> Expert:
    """The scripted controller ``name`` (a key of :data:`SCRIPTED`) for ``env``."""
    if name not in SCRIPTED:
        raise ValueError(f"unknown scripted controller {name!r}; valid names: {', '.join(SCRIPTED)}")
    return SCRIPTED[name](env)
