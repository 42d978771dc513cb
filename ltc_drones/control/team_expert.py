"""Privileged team experts for the multi-agent tasks, with simple collision avoidance.

:class:`TeamExpert` flies every agent of a :class:`~ltc_drones.envs.multi.base.MultiDroneEnv` at
once: ``reset(num_envs=env.num_drones)`` after ``env.reset`` and ``act(obs=None, episode_start=None)
-> (num_drones, 4)`` actions in agent order (rows of agents that are done are zeros). Each agent's
guidance law is the single-agent expert's, read from its :class:`~ltc_drones.envs.multi.base.DroneAgent`
view:

* MultiFollow: fly to the agent's formation slot with the leader's velocity fed forward, facing the leader;
* MultiFlyToTarget: fly straight at the agent's own target, facing it.

Collision avoidance first scales down the part of the guidance velocity that heads toward any other
flying drone closer than ``avoid_radius_m`` (fully at contact), then adds, for each such drone, a velocity
away from it that grows linearly as the gap closes (gaps shortened by the distance the two close in
``lookahead_s``, so a fast head-on approach reacts early) (``avoid_gain`` m/s at contact), turned
``avoid_turn_deg`` to the right so that two drones meeting head-on pass each other rather than
stall, and a vertical term that moves the higher drone up and the lower one down (so no drone
lingers in another's downwash).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..sim.rotation import yaw_of
from ..sim.state import RigidBodyState
from .cascade import clip_velocity, world_to_body_yaw
from .experts import Expert, ExpertConfig


@dataclass(frozen=True)
class AvoidanceConfig:
    """Gains of the repulsive collision-avoidance term."""

    avoid_radius_m: float = 0.6
    avoid_gain: float = 1.5
    """Repulsive speed (m/s) when two drones touch; zero at ``avoid_radius_m``."""
    lookahead_s: float = 0.4
    """Gaps count as shorter by the distance two drones close in this time (so fast approaches react early)."""
    avoid_turn_deg: float = 45.0
    vertical_gain: float = 0.6
    """Vertical separation speed (m/s) when two drones touch, for drones above or below each other."""
    post_clearance_m: float = 0.5
    """Solid posts (the ``occluders`` shift) turn a drone aside within this distance of their surface."""


def effective_gaps_m(here_m: np.ndarray, others_m: np.ndarray, here_vel_mps: np.ndarray | None,
                     others_vel_mps: np.ndarray | None, lookahead_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (K, 3) from each other drone to this one, and the gaps (K,) shortened by the
    distance closed in ``lookahead_s`` at the current closing speed (no shortening when velocities
    are not given or the drones separate)."""
    d = here_m - np.asarray(others_m).reshape(-1, 3)
    dist = np.linalg.norm(d, axis=1)
    u = d / np.maximum(dist, 1e-9)[:, None]
    if here_vel_mps is None or others_vel_mps is None:
        return u, dist
    closing = -np.einsum("kj,kj->k", u, here_vel_mps - np.asarray(others_vel_mps).reshape(-1, 3))
    return u, dist - lookahead_s * np.maximum(closing, 0.0)


def yield_velocity(v_world: np.ndarray, here_m: np.ndarray, others_m: np.ndarray, config: AvoidanceConfig,
                   here_vel_mps: np.ndarray | None = None, others_vel_mps: np.ndarray | None = None) -> np.ndarray:
    """``v_world`` with its component toward each drone within ``avoid_radius_m`` (effective gap, see
    :func:`effective_gaps_m`) scaled down, fully at contact: a drone gives way instead of pressing on."""
    v = np.array(v_world, dtype=float)
    r = config.avoid_radius_m
    u, gap = effective_gaps_m(here_m, others_m, here_vel_mps, others_vel_mps, config.lookahead_s)
    for k in range(len(gap)):
        if gap[k] >= r:
            continue
        toward = float(v @ u[k])
        if toward < 0.0:
            v -= min(1.0, (r - gap[k]) / r) * toward * u[k]
    return v


def avoidance_velocity(here_m: np.ndarray, others_m: np.ndarray, config: AvoidanceConfig,
                       here_vel_mps: np.ndarray | None = None, others_vel_mps: np.ndarray | None = None) -> np.ndarray:
    """World-frame velocity (3,) that pushes a drone at ``here_m`` away from the drones at ``others_m`` (K, 3).

    With velocities given, gaps are effective gaps (:func:`effective_gaps_m`); the push saturates at
    ``avoid_gain`` (m/s) per drone.
    """
    v = np.zeros(3)
    r = config.avoid_radius_m
    turn = math.radians(config.avoid_turn_deg)
    c, s = math.cos(-turn), math.sin(-turn)
    u, gap = effective_gaps_m(here_m, others_m, here_vel_mps, others_vel_mps, config.lookahead_s)
    others = np.asarray(others_m).reshape(-1, 3)
    for k in range(len(gap)):
        if gap[k] >= r:
            continue
        push = min(1.0, (r - gap[k]) / r)
        d = here_m - others[k]
        horiz = math.hypot(d[0], d[1])
        ux, uy = (d[0] / horiz, d[1] / horiz) if horiz > 1e-6 else (1.0, 0.0)
        ux, uy = c * ux - s * uy, s * ux + c * uy  # turned to the right
        v[0] += config.avoid_gain * push * ux
        v[1] += config.avoid_gain * push * uy
        v[2] += config.vertical_gain * push * float(np.sign(d[2]))
    return v


def around_obstacle_velocity(v_world: np.ndarray, here_m: np.ndarray, centre_xy_m: np.ndarray, radius_m: float,
                             config: AvoidanceConfig) -> np.ndarray:
    """``v_world`` steered around an upright cylinder (centre ``centre_xy_m``, radius ``radius_m``).

    Within ``post_clearance_m`` of its surface the horizontal component toward the axis is removed
    (fully at the surface) and replaced by motion along the surface, on the side the drone is already
    heading for, so the drone slides around the obstacle instead of stalling in front of it.
    """
    v = np.array(v_world, dtype=float)
    dx, dy = here_m[0] - centre_xy_m[0], here_m[1] - centre_xy_m[1]
    dist = math.hypot(dx, dy)
    reach = radius_m + config.post_clearance_m
    if dist >= reach or dist < 1e-9:
        return v
    ux, uy = dx / dist, dy / dist
    toward = v[0] * ux + v[1] * uy
    if toward >= 0.0:
        return v
    w = min(1.0, (reach - dist) / config.post_clearance_m)
    side = 1.0 if (v[0] * -uy + v[1] * ux) >= 0.0 else -1.0  # tangent (-uy, ux) or its opposite
    v[0] += -w * toward * ux + w * side * abs(toward) * -uy
    v[1] += -w * toward * uy + w * side * abs(toward) * ux
    return v


class AgentExpert(Expert):
    """One agent's guidance law (slot following or reaching) plus collision avoidance."""

    def __init__(self, view, config: ExpertConfig | None = None, avoidance: AvoidanceConfig | None = None) -> None:
        super().__init__(view, config)
        self.avoidance = avoidance or AvoidanceConfig()
        self.follows = view.TASK == "follow-target"

    def velocity_command(self, state: RigidBodyState) -> np.ndarray:
        view, cfg = self.env, self.config
        d = view.goal_pos_m - state.pos_m
        if self.follows:
            v_world = view.target_vel_mps + cfg.pos_gain * d
        else:
            dist = float(np.linalg.norm(d))
            v_world = d / max(dist, 1e-9) * min(cfg.cruise_mps, cfg.pos_gain * dist)
        others, others_vel = self._others(view)
        here_vel = state.vel_world_mps
        v_world = yield_velocity(v_world, state.pos_m, others, self.avoidance, here_vel, others_vel)
        v_world = self._around_posts(view, state, v_world)
        v_world = v_world + avoidance_velocity(state.pos_m, others, self.avoidance, here_vel, others_vel)
        cmd = clip_velocity(world_to_body_yaw(v_world, yaw_of(state.R)), self.limits)
        return np.append(cmd, self._yaw_rate_toward(state, view.look_at_m))


    def _around_posts(self, view, state: RigidBodyState, v_world: np.ndarray) -> np.ndarray:
        """Steer around the occluder posts (one cylinder enclosing them all), except around this agent's own
        goal: there they stand inside its success radius, off the straight path, as in the single-agent task."""
        occluders = view.env.scene.occluders
        if not occluders.body_ids:
            return v_world
        posts = np.array(occluders.positions_m())[:, :2]
        centre = posts.mean(axis=0)
        if np.linalg.norm(centre - view.goal_pos_m[:2]) <= view.scenario.success_radius_m:
            return v_world
        radius = float(np.max(np.linalg.norm(posts - centre, axis=1))) + view.scenario.occluder_radius_m
        return around_obstacle_velocity(v_world, state.pos_m, centre, radius, self.avoidance)

    @staticmethod
    def _others(view) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities (K, 3) of the other flying drones (privileged: read from the env)."""
        env = view.env
        flying = [j for j, name in enumerate(env.possible_agents) if j != view.index and name in env.agents]
        states = env.sim.states
        pos = np.array([states[j].pos_m for j in flying]).reshape(-1, 3)
        return pos, np.array([states[j].vel_world_mps for j in flying]).reshape(-1, 3)


class PerAgent:
    """Single-env controllers, one per agent of a multi-agent env, acting as one batch.

    For controllers that read one drone's true state (experts, scripted controllers): each is built on the agent's
    :class:`~ltc_drones.envs.multi.base.DroneAgent` view. ``act`` returns ``(num_drones, 4)``; rows of agents
    that are done are zeros.

    Args:
        env: a :class:`~ltc_drones.envs.multi.base.MultiDroneEnv`.
        make_one: ``make_one(view) -> controller`` for one agent's view.
    """

    def __init__(self, env, make_one: Callable[[Any], Any]) -> None:
        self.views = [env.agent_views[a] for a in env.possible_agents]
        self.controllers = [make_one(v) for v in self.views]

    def reset(self, num_envs: int | None = None) -> None:
        n = len(self.controllers)
        if num_envs is not None and num_envs != n:
            raise ValueError(f"{type(self).__name__} flies the env's {n} agents; reset it with num_envs={n}, "
                             f"got {num_envs}")
        for c in self.controllers:
            c.reset(1)

    def act(self, obs=None, episode_start=None) -> np.ndarray:
        n = len(self.controllers)
        starts = np.zeros(n, bool) if episode_start is None else np.asarray(episode_start, bool).reshape(n)
        out = np.zeros((n, 4), dtype=np.float32)
        for i, (view, c) in enumerate(zip(self.views, self.controllers, strict=True)):
            if view.active:
                out[i] = c.act(None, starts[i: i + 1])
        return out


class TeamExpert(PerAgent):
    """The privileged expert of every agent of a multi-agent env (see the module docstring): an
    :class:`AgentExpert` per agent, acting as one batch (:class:`PerAgent`).

    Args:
        env: a :class:`~ltc_drones.envs.multi.base.MultiDroneEnv`.
        config: guidance gains shared with the single-agent experts.
        avoidance: collision-avoidance gains.
    """

    def __init__(self, env, config: ExpertConfig | None = None, avoidance: AvoidanceConfig | None = None) -> None:
        super().__init__(env, lambda view: AgentExpert(view, config, avoidance))
        self.env = env
