"""FollowTarget: keep a moving target close and in view."""

from __future__ import annotations

import math

import numpy as np

from ..sim.state import RigidBodyState
from .base import DroneEnv


class FollowTargetEnv(DroneEnv):
    """Follow a target moving along a random smooth path.

    ## Description
    The target (nominal: a red 0.4 m sphere) starts 1.0–1.5 m ahead in view and moves at a constant
    speed drawn from 0.3–1.0 m/s. Its heading turns with a smoothly varying turn rate (an
    Ornstein–Uhlenbeck process, std 0.4 rad/s, 2 s correlation), its height follows a slow sinusoid
    within ``target_height_m``, and it turns back toward the centre near the bounds. The drone must
    keep the distance within ``follow_distance_m`` ([0.4, 2.0] m) with the target in view; the target
    counts as lost while either fails. Success: 20 s without losing it for more than ``max_lost_s`` (2 s).

    ## Action space / Observation space
    As :class:`~ltc_drones.envs.fly_to_target.FlyToTargetEnv`; the target vector points at the moving target.

    ## Rewards
    ``r = −w_progress · |d − d_mid| · dt + w_heading · cos(bearing) − w_crash · [crash] + w_success · [success]``
    with ``d_mid`` the middle of the distance band.

    ## Episode end
    * truncated at 20 s, ``info["is_success"]`` True (the target was never lost for too long);
    * terminated, failure: the target lost for more than 2 s, contact, tilt > 80°, out of bounds.

    ## Arguments
    As FlyToTarget.

    ## Version history
    * v0: initial version.
    """

    TASK = "follow-target"
    SUCCESS_TERMINATES = False
    TURN_RATE_STD_RADPS = 0.4
    TURN_RATE_TAU_S = 2.0

    def _build_task(self) -> None:
        s = self.scenario
        self.target_id = self.sim.world.add_visual_body(s.target_shape, s.target_size_m, s.target_color)
        self.target_ids = [self.target_id]

    def _task_reset(self, rng: np.random.Generator) -> RigidBodyState:
        s = self.scenario
        start = self._start_state(rng)
        self.target_pos_m = self._point_in_view(rng, start, s.start_distance_range_m)
        away = self.target_pos_m[:2] - start.pos_m[:2]
        self._heading = math.atan2(away[1], away[0]) + rng.uniform(-0.5, 0.5)
        self._speed = rng.uniform(*s.target_speed_mps)
        self._turn_rate = 0.0
        self._z_mid = 0.5 * sum(s.target_height_m)
        self._z_amp = 0.5 * (s.target_height_m[1] - s.target_height_m[0])
        self._z_phase = math.asin(max(-1.0, min(1.0, (self.target_pos_m[2] - self._z_mid) / max(self._z_amp, 1e-9))))
        self._z_omega = rng.uniform(0.15, 0.4)
        self._rng = rng
        self._lost_s = 0.0
        self.target_vel_mps = self._velocity()
        self.sim.world.move_body(self.target_id, self.target_pos_m)
        return start

    def _velocity(self) -> np.ndarray:
        vz = self._z_amp * self._z_omega * math.cos(self._z_phase)
        return np.array([self._speed * math.cos(self._heading), self._speed * math.sin(self._heading), vz])

    def _task_advance(self, dt_s: float) -> None:
        a = math.exp(-dt_s / self.TURN_RATE_TAU_S)
        self._turn_rate = a * self._turn_rate + self._rng.normal(0.0, self.TURN_RATE_STD_RADPS * math.sqrt(1 - a * a))
        # Near the bounds, turn back toward the centre.
        p = self.target_pos_m
        limit = 0.6 * self.scenario.bounds_xy_m
        if max(abs(p[0]), abs(p[1])) > limit:
            to_centre = math.atan2(-p[1], -p[0])
            self._turn_rate = 0.6 * math.remainder(to_centre - self._heading, 2 * math.pi)
        self._heading += self._turn_rate * dt_s
        self._z_phase += self._z_omega * dt_s
        self.target_vel_mps = self._velocity()
        self.target_pos_m = np.array([p[0] + self.target_vel_mps[0] * dt_s, p[1] + self.target_vel_mps[1] * dt_s,
                                      self._z_mid + self._z_amp * math.sin(self._z_phase)])
        self.sim.world.move_body(self.target_id, self.target_pos_m)

    @property
    def goal_pos_m(self) -> np.ndarray:
        return self.target_pos_m

    def _task_outcome(self) -> tuple[bool, bool]:
        s = self.scenario
        lo, hi = s.follow_distance_m
        tracking = lo <= self._distance_m <= hi and self.target_in_view()
        self._lost_s = 0.0 if tracking else self._lost_s + self.clock.ctrl_dt_s
        failed = self._lost_s > s.max_lost_s + 1e-9
        at_end = self.time_s >= s.episode_len_s - 1e-9
        return at_end and not failed, failed

    def _task_reward_terms(self) -> dict[str, float]:
        terms = super()._task_reward_terms()
        mid = 0.5 * sum(self.scenario.follow_distance_m)
        terms["progress"] = -self.reward_weights["progress"] * abs(self._distance_m - mid) * self.clock.ctrl_dt_s
        return terms
