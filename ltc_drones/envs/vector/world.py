"""The physics of a vector env for one control period: N drones, their controllers and the physical shifts.

The batched counterpart of what ``DroneEnv.step`` does between receiving an action and reading the
new state: the scenario's latency delays the action (:class:`ltc_drones.envs.effects.ActionDelay`),
the action mode sets its command, then at every physics step the attitude and rate loops give rotor
speeds, a weak motor caps its rotor (:class:`~ltc_drones.envs.effects.MotorWeakness`) and the
dynamics advance under the current wind; the gusts advance once per control period. A drone that
touches the ground stops where the PyBullet env stops it: after the physics step that found the
contact.
"""

from __future__ import annotations

import math

import numpy as np

from ...control.cascade import ControllerGains, VelocityLimits
from ...sim.explicit import BatchQuadrotor
from ...sim.forces import ForceConfig
from ...sim.params import QuadrotorParams, SimClock
from ..actions import hover_action, make_action_mode
from ..scenario import Scenario


class BatchWorld:
    """N drones of one type in N separate worlds, stepped one control period at a time.

    Args:
        params: the vehicle.
        clock: physics and control rates.
        forces: which optional force terms are on.
        act: action mode (``"vel"``, ``"ctbr"``, ``"rpm"``).
        limits: what a normalised ``vel`` action maps to.
        gains: controller gains.
        scenario: wind, latency and motor weakness.
        num_drones: N.
        episode_steps: control steps in an episode (the length of the pre-drawn gust noise).
    """

    def __init__(self, params: QuadrotorParams, clock: SimClock, forces: ForceConfig | None, act: str,
                 limits: VelocityLimits, gains: ControllerGains, scenario: Scenario, num_drones: int,
                 episode_steps: int) -> None:
        n, dt, s = num_drones, clock.ctrl_dt_s, scenario
        self.clock, self.n, self.episode_steps = clock, n, episode_steps
        self.quad = BatchQuadrotor(params, clock.physics_dt_s, forces, n)
        self.action_mode = make_action_mode(act, params, clock, limits, gains, n)
        self._wind_mean = np.asarray(s.wind_mean_mps, dtype=float)[:, None]
        self._still_air = s.wind_gust_std_mps == 0 and not any(s.wind_mean_mps)
        self.gust_mps = np.zeros((3, n))
        self.gust_noise = np.zeros((n, episode_steps, 3)) if s.wind_gust_std_mps else None
        """Standard normals (N, steps, 3) driving each episode's gusts; ``None`` without gusts."""
        a = math.exp(-dt / s.wind_gust_tau_s)
        self._gust_a, self._gust_scale = a, s.wind_gust_std_mps * math.sqrt(1.0 - a * a)
        self._latency = s.latency_steps
        self._hover_action = hover_action(act, params).astype(np.float64)[:, None]
        self._delay = np.repeat(self._hover_action[None], self._latency, axis=0).repeat(n, axis=2)
        self._delay_ptr = 0
        self._weak_cap_rpm = math.sqrt(1.0 - s.motor_weakness) * params.max_rpm if s.motor_weakness else None
        self.weak_rotor = np.zeros(n, dtype=np.intp)
        self._all = np.arange(n)

    def start(self, idx: np.ndarray) -> None:
        """New episodes for drones ``idx`` whose states are set: controllers and action queues cleared."""
        self.action_mode.reset(idx, self.quad.state)
        if self._latency:
            self._delay[:, :, idx] = self._hover_action[None]

    def fly(self, action: np.ndarray) -> np.ndarray:
        """One control period with normalised actions (4, N); returns which drones touched the ground (N,)."""
        quad, mode = self.quad, self.action_mode
        mode.set(self._delayed(action), quad.state)
        wind = None if self._still_air else self._wind_mean + self.gust_mps
        contact = np.zeros(self.n, dtype=bool)
        stopped: list[tuple[np.ndarray, tuple[np.ndarray, ...]]] = []
        for _ in range(self.clock.substeps):
            new = quad.in_contact() & ~contact  # Bullet finds contacts at the start of the step
            rpm = mode.rpm(quad.state)
            if self._weak_cap_rpm is not None:
                rpm = rpm.copy()
                rpm[self.weak_rotor, self._all] = np.minimum(rpm[self.weak_rotor, self._all], self._weak_cap_rpm)
            quad.step(rpm, wind)
            if np.count_nonzero(new):  # the PyBullet env ends its physics loop after the step that found the contact
                contact |= new
                idx = np.flatnonzero(new)
                stopped.append((idx, quad.state.copy_rows(idx)))
        for idx, rows in stopped:
            quad.state.set_rows(idx, rows)
        return contact

    def advance_wind(self, step_index: np.ndarray) -> None:
        """Advance the gusts by one control period; ``step_index`` (N,) counts the steps flown so far."""
        if self.gust_noise is None:
            return
        k = np.minimum(step_index, self.episode_steps - 1)
        self.gust_mps = self._gust_a * self.gust_mps + self._gust_scale * self.gust_noise[self._all, k].T

    def _delayed(self, action: np.ndarray) -> np.ndarray:
        """The actions (4, N) that take effect now (the scenario's latency)."""
        if not self._latency:
            return action
        out = self._delay[self._delay_ptr].copy()
        self._delay[self._delay_ptr] = action
        self._delay_ptr = (self._delay_ptr + 1) % self._latency
        return out
