"""What every PyBullet drone env shares, one drone or a team: setup, argument checks, per-drone rules.

:class:`FlightCore` is the base of the single-drone :class:`~ltc_drones.envs.base.DroneEnv` (N = 1) and
of the team :class:`~ltc_drones.envs.multi.base.MultiDroneEnv` (N drones). It checks the arguments,
loads the scenario, and builds the simulation, the onboard camera, one batched action mode for the
N drones, each drone's physical shifts (latency, a weak motor), the scene and the reward weights.
Per drone ``i`` it answers the rules both kinds of env apply alike: whether the drone tipped over
or left the bounds, the cosine of a point's bearing off its heading, and the reward terms of a step
(potential-based shaping, task terms, success and crash).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..control.cascade import ControllerGains, VelocityLimits
from ..sim.forces import ForceConfig
from ..sim.params import QuadrotorParams, SimClock
from ..sim.simulation import Simulation
from ..sim.wind import WindConfig
from ..tasks import IMAGE_OBS_MODES, OBS_MODES, check_obs  # noqa: F401 - the modes re-exported
from .actions import ACT_MODES, make_action_mode
from .camera import CameraConfig, OnboardCamera
from .effects import PhysicalShifts
from .scenario import Scenario, load_scenario
from .scene import Scene

CRASH_TILT_RAD = math.radians(80.0)
"""A drone tilted further than this (body z from world z) has crashed."""


class FlightCore:
    """The simulation, camera, action mode, shifts, scene and rules of ``num_drones`` drones of one task.

    Args:
        num_drones: N.
        obs: observation mode (one the task allows, see :func:`ltc_drones.tasks.check_obs`).
        act: action mode (``ACT_MODES``).
        scenario: a scenario name of the task or a :class:`Scenario`.
        render_mode: ``None`` or ``"rgb_array"``.
        physics_hz: physics rate (Hz).
        ctrl_hz: control rate (Hz).
        camera: the onboard camera.
        params: the vehicle.
        forces: which optional force terms are on.
        velocity_limits: what the normalised ``vel`` action maps to.
        gains: the cascade's gains.
        reward_weights: overrides of the task's ``REWARD_WEIGHTS`` (names must exist there).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}
    TASK: ClassVar[str] = ""
    REWARD_WEIGHTS: ClassVar[dict[str, float]] = {"progress": 1.0, "heading": 0.5, "success": 10.0, "crash": 10.0}
    """Default weight of every reward term of the task (override with ``reward_weights=``)."""

    def _build_flight(self, num_drones: int, obs: str, act: str, scenario: str | Scenario, render_mode: str | None,
                      physics_hz: int, ctrl_hz: int, camera: CameraConfig | None, params: QuadrotorParams | None,
                      forces: ForceConfig | None, velocity_limits: VelocityLimits | None,
                      gains: ControllerGains | None, reward_weights: dict[str, float] | None) -> None:
        check_obs(self.TASK, obs)
        if act not in ACT_MODES:
            raise ValueError(f"unknown action mode {act!r}; choose one of {', '.join(ACT_MODES)}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"unsupported render_mode {render_mode!r}; use None or 'rgb_array'")
        self.obs_mode, self.act_mode, self.render_mode = obs, act, render_mode
        self.scenario = s = load_scenario(self.TASK, scenario)
        self.clock = SimClock(physics_hz, ctrl_hz)
        self.params = params or QuadrotorParams()
        wind = WindConfig(s.wind_mean_mps, s.wind_gust_std_mps, s.wind_gust_tau_s)
        self.sim = Simulation(self.params, num_drones, self.clock, forces, wind)
        self.camera = OnboardCamera(camera or CameraConfig())
        self.velocity_limits = velocity_limits or VelocityLimits()
        self.action_mode = make_action_mode(act, self.params, self.clock, self.velocity_limits,
                                            gains or ControllerGains(), num_drones)
        self.drone_shifts = [PhysicalShifts(s, self.params, act) for _ in range(num_drones)]
        weights = dict(self.REWARD_WEIGHTS)
        unknown = set(reward_weights or {}) - set(weights)
        if unknown:
            raise ValueError(f"unknown reward weight(s) {sorted(unknown)} for {type(self).__name__}; "
                             f"valid: {sorted(weights)}")
        self.reward_weights = {**weights, **(reward_weights or {})}
        self.scene = Scene(self.sim.world, s)

    def _reset_flight(self, rng: np.random.Generator) -> None:
        """After the simulation's reset: the controllers cleared, each drone's shifts drawn from ``rng``."""
        self.action_mode.reset(slice(None), self.sim.batch)
        for shifts in self.drone_shifts:
            shifts.reset(rng)
        caps = [(sh.motor.rotor, sh.motor.cap_rpm) if sh.motor.fraction else None for sh in self.drone_shifts]
        self._rpm_caps = None  # (4, N): each rotor's speed limit under the scenario's motor weakness
        if any(caps):
            self._rpm_caps = np.full((4, len(caps)), np.inf)
            for i, cap in enumerate(caps):
                if cap is not None:
                    self._rpm_caps[cap[0], i] = cap[1]

    def _rotor_commands(self) -> np.ndarray:
        """Every drone's rotor speeds (4, N) for this physics step: one controller call, then the weak motors."""
        rpm = self.action_mode.rpm(self.sim.batch)
        return rpm if self._rpm_caps is None else np.minimum(rpm, self._rpm_caps)

    @property
    def time_s(self) -> float:
        return self._step_count * self.clock.ctrl_dt_s

    def close(self) -> None:
        self.sim.close()

    # ---- per-drone rules --------------------------------------------------------------------
    def _tipped_over(self, i: int) -> bool:
        """Whether drone ``i`` tilts more than ``CRASH_TILT_RAD`` (a crash)."""
        return math.acos(max(-1.0, min(1.0, float(self.sim.batch.R[2, 2, i])))) > CRASH_TILT_RAD

    def _left_bounds(self, i: int) -> bool:
        """Whether drone ``i`` is outside the scenario's flying volume (a crash)."""
        x, y, z = self.sim.batch.pos_m[:, i].tolist()
        s = self.scenario
        return abs(x) > s.bounds_xy_m or abs(y) > s.bounds_xy_m or z > s.bounds_z_m

    def _bearing_cos(self, i: int, point_m: np.ndarray) -> float:
        """cos of ``point_m``'s horizontal bearing off drone ``i``'s heading (1 straight ahead, −1 behind)."""
        batch = self.sim.batch
        dx, dy = float(point_m[0] - batch.pos_m[0, i]), float(point_m[1] - batch.pos_m[1, i])
        horiz = math.hypot(dx, dy)
        if horiz < 1e-6:
            return 1.0
        yaw = math.atan2(batch.R[1, 0, i], batch.R[0, 0, i])
        return (dx * math.cos(yaw) + dy * math.sin(yaw)) / horiz

    def _step_terms(self, phi: dict[str, float], phi_before: dict[str, float], task_terms: dict[str, float],
                    succeeded: bool, crashed: bool) -> dict[str, float]:
        """One drone's weighted reward terms of a step: ``w · (Φ_t − Φ_{t−1})`` per shaping potential, the task's
        own terms, ``+w_success`` on a success step and ``−w_crash`` on a crash step."""
        w = self.reward_weights
        terms = {name: w[name] * (phi[name] - phi_before[name]) for name in phi}
        terms.update(task_terms)
        terms["success"] = w["success"] if succeeded else 0.0
        terms["crash"] = -w["crash"] if crashed else 0.0
        return terms
