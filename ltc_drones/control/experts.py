"""Privileged experts: they read the true target state and fly each task with velocity commands.

They are the demonstrators for imitation learning. :func:`ltc_drones.tasks.make_expert` returns a
:class:`~ltc_drones.control.protocol.Controller` for that one env: ``reset(num_envs=1)`` after
``env.reset`` and ``act(obs=None, episode_start=None) -> action`` in the env's own action space. The
observation is ignored (experts read the true state). The action is the normalised velocity command
for ``act="vel"``; for ``ctbr`` and ``rpm`` the command is passed through the same cascaded
controller the ``vel`` mode uses (attitude loop at the control rate, so ``rpm`` is the least precise),
which keeps integrator state: query it once per control step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..sim.explicit import BatchState
from ..sim.rotation import yaw_of
from ..sim.state import RigidBodyState
from .cascade import (
    CascadedController,
    ControllerGains,
    VelocityLimits,
    clip_velocity,
    position_to_velocity_command,
    world_to_body_yaw,
)
from .protocol import check_one_env, starts_episode


@dataclass(frozen=True)
class ExpertConfig:
    """Gains of the experts' guidance laws."""

    pos_gain: float = 1.5
    """Velocity per metre of position error (1/s)."""
    cruise_mps: float = 1.2
    """Speed toward a static target when far from it."""
    follow_distance_m: float = 1.0
    yaw_gain: float = 2.5
    """Yaw rate per radian of bearing error (1/s)."""


class Expert:
    """Base expert: turns a physical velocity command into an action of the env's mode."""

    def __init__(self, env, config: ExpertConfig | None = None) -> None:
        self.env = env.unwrapped
        self.config = config or ExpertConfig()
        self.limits: VelocityLimits = self.env.velocity_limits
        self._ctbr_ctl = None
        if self.env.act_mode in ("ctbr", "rpm"):
            self._ctbr_ctl = CascadedController(self.env.params, self.env.clock.ctrl_dt_s, ControllerGains())

    def reset(self, num_envs: int = 1) -> None:
        """Clear the controller state for the env's new episode (call after ``env.reset``; one env only)."""
        check_one_env(num_envs, type(self).__name__)
        if self._ctbr_ctl is not None:
            self._ctbr_ctl.reset(yaw_rad=yaw_of(self.env.state.R))

    def velocity_command(self, state: RigidBodyState) -> np.ndarray:
        """Physical command ``[vx, vy, vz (body-yaw frame, m/s), yaw rate (rad/s)]``."""
        raise NotImplementedError

    def _yaw_rate_toward(self, state: RigidBodyState, point: np.ndarray) -> float:
        d = point - state.pos_m
        if math.hypot(d[0], d[1]) < 0.3:
            return 0.0
        err = math.remainder(math.atan2(d[1], d[0]) - yaw_of(state.R), 2 * math.pi)
        return float(np.clip(self.config.yaw_gain * err, -self.limits.yaw_rate_radps, self.limits.yaw_rate_radps))

    def act(self, obs=None, episode_start=None) -> np.ndarray:
        """The action for the env's current true state (``obs`` is ignored); ``episode_start`` resets first."""
        if starts_episode(episode_start):
            self.reset()
        state = self.env.state
        cmd = self.velocity_command(state)
        mode = self.env.act_mode
        if mode == "vel":
            return np.clip(cmd / self.limits.scale, -1.0, 1.0).astype(np.float32)
        ctl = self._ctbr_ctl
        batch = BatchState.of([state])
        ctl.set_velocity_command(batch, cmd[:, None])
        params = self.env.params
        if mode == "rpm":
            rpm = ctl.rpm(batch)[:, 0]
            return np.clip(2.0 * rpm / params.max_rpm - 1.0, -1.0, 1.0).astype(np.float32)
        # ctbr: collective thrust along the current body z, body rates from the attitude error.
        u = ctl.thrust_and_rates(batch)[:, 0]
        thrust, rates = u[0], u[1:]
        max_rates = np.asarray(ctl.gains.max_rate_radps)
        t_norm = 2.0 * thrust / (4 * params.max_thrust_per_rotor_n) - 1.0
        return np.clip(np.concatenate([[t_norm], rates / max_rates]), -1.0, 1.0).astype(np.float32)


class HoverExpert(Expert):
    def velocity_command(self, state: RigidBodyState) -> np.ndarray:
        return position_to_velocity_command(state, self.env.goal_pos_m, self.config.pos_gain, self.limits)


class ReachExpert(Expert):
    """Flies straight at the current goal (FlyToTarget's target, Hiking's current marker), facing it."""

    def velocity_command(self, state: RigidBodyState) -> np.ndarray:
        goal = self.env.goal_pos_m
        d = goal - state.pos_m
        dist = float(np.linalg.norm(d))
        speed = min(self.config.cruise_mps, self.config.pos_gain * dist)
        v_world = d / max(dist, 1e-9) * speed
        cmd = clip_velocity(world_to_body_yaw(v_world, yaw_of(state.R)), self.limits)
        return np.append(cmd, self._yaw_rate_toward(state, goal))


class FollowExpert(Expert):
    """Holds ``follow_distance_m`` behind the target with its velocity fed forward, facing it."""

    def velocity_command(self, state: RigidBodyState) -> np.ndarray:
        target = self.env.target_pos_m
        d = target - state.pos_m
        horiz = math.hypot(d[0], d[1])
        u = np.array([d[0], d[1], 0.0]) / max(horiz, 1e-9)
        desired = target - self.config.follow_distance_m * u
        desired[2] = target[2]
        v_world = self.env.target_vel_mps + self.config.pos_gain * (desired - state.pos_m)
        cmd = clip_velocity(world_to_body_yaw(v_world, yaw_of(state.R)), self.limits)
        return np.append(cmd, self._yaw_rate_toward(state, target))
