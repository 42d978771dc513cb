"""A Gymnasium ``VectorEnv`` of N drones on the batched explicit dynamics (no PyBullet, no camera).

See :class:`VectorDroneEnv` for the spec; ``ltc_drones.tasks.make_env(task, backend="vector", num_envs=N)`` builds one.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from ...control.cascade import ControllerGains, VelocityLimits
from ...sim.explicit import heading_cos_sin, rotate_back
from ...sim.forces import ForceConfig
from ...sim.params import QuadrotorParams, SimClock
from ...sim.state import RigidBodyState
from ...tasks import task_spec
from ..actions import ACT_MODES
from ..base import CRASH_TILT_RAD
from ..camera import CameraConfig
from ..observations import KIN_BOUND, KIN_DIM, KIN_SCALES
from ..scenario import Scenario, load_scenario
from .layout import LayoutSampler
from .tasks import TIME_EPS_S
from .world import BatchWorld

_COS_CRASH_TILT = math.cos(CRASH_TILT_RAD)


class VectorDroneEnv(gym.vector.VectorEnv):
    """N independent single-drone episodes of one task, stepped together on the explicit dynamics.

    ## Description
    The task (``hover``, ``fly-to-target``, ``follow-target``, ``hiking``) is the PyBullet env's:
    the same ``kin`` observations, action modes, reward terms and weights, success, crash (ground
    contact, tilt > 80°, out of bounds) and time-limit rules, with the dynamics, the cascaded
    controller and the task rules written as numpy operations over all N drones
    (:mod:`ltc_drones.sim.explicit`, :mod:`ltc_drones.envs.actions`, :mod:`.world`, :mod:`.tasks`). There is no camera:
    ``obs="kin"`` only, and "target in view" is the camera's geometric visibility test, as in the
    PyBullet env's ``info`` and FollowTarget's tracking rule.

    ## Fidelity
    Started from the PyBullet env's state and goal (:meth:`load_episode`) and given the same actions,
    a drone follows the PyBullet env's trajectory to ~1e-14 m over whole expert episodes of every
    task (tests assert 1e-6 m), with the same observations, rewards, success, crash and time-limit
    steps; this includes PyBullet's ±100 per-component velocity clamp and its ground-contact test
    (:mod:`ltc_drones.sim.explicit`), wind gusts, latency and motor weakness. Only the crash step itself differs, by
    the contact impulse PyBullet applies in it.

    ## Spaces
    ``single_observation_space``: ``Box(-10, 10, (16,), float32)`` (the table in
    :class:`~ltc_drones.envs.fly_to_target.FlyToTargetEnv`); ``single_action_space``:
    ``Box(-1, 1, (4,), float32)`` (``vel``, ``ctbr`` or ``rpm``); ``observation_space`` and
    ``action_space`` are their batches ``(N, 16)`` and ``(N, 4)``.

    ## Autoreset
    Gymnasium's next-step mode (``metadata["autoreset_mode"]``): the step after an env terminates or
    truncates resets it, ignores its action and returns its first observation with reward 0,
    ``terminated`` and ``truncated`` False, and its reset ``info`` (the ``reward_*`` and task entries
    are masked out: ``info["_reward_progress"]`` etc. are False there).

    ## Info
    Arrays (N,): ``is_success``, ``distance_m``, ``target_in_view``, ``crashed``, ``out_of_bounds``,
    ``time_s``, ``reward_<term>`` for every reward term, and FollowTarget's ``tracked_fraction`` and
    ``lost_s``; each with a boolean mask ``_<key>``, as Gymnasium's vector envs report them.

    ## Randomness
    ``reset(seed=s)`` spawns one ``np.random.Generator`` per env index from ``SeedSequence(s)``;
    each new episode of an env draws its layout (start, goal, FollowTarget's path and turn noise,
    wind gusts) from that env's generator (:mod:`.layout`), so the same seed gives the same
    episodes. The worlds differ from the PyBullet env's worlds of the same seed.

    ## Not modelled
    Scenery and occluders (solid bodies of the PyBullet world: scenery stands outside the flight
    corridor; scenarios with occluders are refused), downwash (one drone per world), camera images.
    A crash step ends the episode where the drone first touched the ground; PyBullet's contact
    impulse of that step is not applied.

    Args:
        task: task key, e.g. ``"fly-to-target"``.
        num_envs: N ≥ 1.
        obs: ``"kin"`` (the only mode without a camera).
        act: ``"vel"`` (default), ``"ctbr"`` or ``"rpm"``.
        scenario: as the PyBullet env's (nominal, a shift such as ``"wind-gusts@3"``, or a YAML path).
        seed: seed of the first ``reset()`` called without one.
        physics_hz, ctrl_hz, params, forces, velocity_limits, gains, reward_weights, camera: as the PyBullet env's.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, task: str, num_envs: int, obs: str = "kin", act: str = "vel",
                 scenario: str | Scenario = "nominal", seed: int | None = None, physics_hz: int = 240,
                 ctrl_hz: int = 30, params: QuadrotorParams | None = None, forces: ForceConfig | None = None,
                 velocity_limits: VelocityLimits | None = None, gains: ControllerGains | None = None,
                 reward_weights: dict[str, float] | None = None, camera: CameraConfig | None = None) -> None:
        spec = task_spec(task)
        vector_task = spec.vector_class  # refuses a task the backend lacks
        task = spec.name
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be a whole number >= 1, got {num_envs!r}")
        if obs != "kin":
            raise ValueError(f"the vector backend has no camera, so obs={obs!r} is not available; use obs='kin', or "
                             "the PyBullet env (ltc_drones.envs.make_env) for image observations")
        if act not in ACT_MODES:
            raise ValueError(f"unknown action mode {act!r}; choose one of {', '.join(ACT_MODES)}")
        self.task_name, self.obs_mode, self.act_mode = task, obs, act
        self.scenario = load_scenario(task, scenario)
        if self.scenario.occluders:
            raise ValueError(f"scenario {self.scenario.name!r} has occluders, solid posts the vector backend does not "
                             "model; use the PyBullet env (ltc_drones.envs.make_env) for it")
        self.num_envs = n = int(num_envs)
        self.clock = SimClock(physics_hz, ctrl_hz)
        self.params = params or QuadrotorParams()
        self.velocity_limits = velocity_limits or VelocityLimits()
        pybullet_env = spec.env_class  # its reward weights and success rule are the vector env's
        weights = dict(pybullet_env.REWARD_WEIGHTS)
        unknown = set(reward_weights or {}) - set(weights)
        if unknown:
            raise ValueError(f"unknown reward weight(s) {sorted(unknown)} for {task}; valid: {sorted(weights)}")
        weights.update(reward_weights or {})
        self.reward_weights = weights
        self.success_terminates = pybullet_env.SUCCESS_TERMINATES
        dt = self.clock.ctrl_dt_s
        self.episode_steps = _steps_to_reach(self.scenario.episode_len_s, dt)
        self.world = BatchWorld(self.params, self.clock, forces, act, self.velocity_limits, gains or ControllerGains(),
                                self.scenario, n, self.episode_steps)
        self.quad = self.world.quad
        self.task = vector_task(self.scenario, n, dt, weights)
        self.sampler = LayoutSampler(task, self.scenario, camera or CameraConfig(), self.episode_steps)
        self.view = self.sampler.view
        self.single_observation_space = spaces.Box(-KIN_BOUND, KIN_BOUND, (KIN_DIM,), dtype=np.float32)
        self.single_action_space = spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self._seed = seed
        self._rngs: list[np.random.Generator] | None = None
        self.step_count = np.zeros(n, dtype=np.int64)
        self._last_action = np.zeros((n, 4), dtype=np.float32)
        self._distance = np.zeros(n)
        self._phi: dict[str, np.ndarray] = {}
        self._autoreset = np.zeros(n, dtype=bool)
        self._reset_done = False

    # ---- Gymnasium API ----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start new episodes (all, or those in ``options["reset_mask"]``, a bool array (N,)).

        ``seed`` (or, on the first reset, the constructor's) re-seeds every env index's generator.
        """
        super().reset(seed=seed)
        mask = np.ones(self.num_envs, dtype=bool)
        if options and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"])
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), got "
                                 f"{mask.dtype} {mask.shape}")
        if seed is None and self._rngs is None:
            seed = self._seed
        if seed is not None or self._rngs is None:
            children = np.random.SeedSequence(seed).spawn(self.num_envs)
            self._rngs = [np.random.default_rng(child) for child in children]
        idx = np.flatnonzero(mask)
        self._reset_envs(idx)
        self._autoreset[idx] = False
        self._reset_done = True
        info = self._info(np.zeros(self.num_envs, dtype=bool), np.zeros(self.num_envs, dtype=bool),
                          np.zeros(self.num_envs, dtype=bool), {}, mask)
        return self._observe(), info

    def step(self, actions):
        """Advance every env by one control step (``actions`` (N, 4) in [-1, 1]); next-step autoreset."""
        if not self._reset_done:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(actions, dtype=np.float64)
        if a.shape != (self.num_envs, 4):
            raise ValueError(f"actions must have shape ({self.num_envs}, 4), got {np.shape(actions)}")
        if not np.isfinite(a).all():
            bad = np.flatnonzero(~np.isfinite(a).all(axis=1))
            raise ValueError(f"actions must be finite; envs {bad[:10].tolist()} got non-finite values; the "
                             "environment state is unchanged")
        a = np.clip(a, -1.0, 1.0)
        contact = self.world.fly(np.ascontiguousarray(a.T))
        k = self.step_count
        self.world.advance_wind(k)
        self.task.advance(self.clock.ctrl_dt_s, k)
        self.step_count = k = k + 1
        self._last_action = a.astype(np.float32)
        s, task = self.quad.state, self.task
        time_s = k * self.clock.ctrl_dt_s
        distance = self._goal_distance()
        crashed = contact | (s.R[2, 2] < _COS_CRASH_TILT)
        out = self._out_of_bounds()
        crash_now = crashed | out
        in_view = self.view.sees(s.pos_m, s.R, task.goal_m) if task.HAS_TARGET_VIEW_RULE else None
        succeeded, failed, distance = task.outcome(distance, crash_now, time_s, s.pos_m, in_view)
        self._distance = distance
        succeeded &= ~crash_now  # a crash step is never a success
        terminated = crash_now | failed | (succeeded & self.success_terminates)
        truncated = ~terminated & (time_s >= self.scenario.episode_len_s - TIME_EPS_S)
        w = self.reward_weights
        phi = task.potentials(distance, self._heading_cos())
        terms = {name: w[name] * (phi[name] - self._phi[name]) for name in phi}
        self._phi = phi
        terms.update(task.extra_terms())
        terms["success"] = np.where(succeeded, w["success"], 0.0)
        terms["crash"] = np.where(crash_now, -w["crash"], 0.0)
        reward = np.zeros(self.num_envs)
        for value in terms.values():
            reward = reward + value
        fresh = self._autoreset
        if fresh.any():  # next-step autoreset: these envs ended last step and start over now
            idx = np.flatnonzero(fresh)
            self._reset_envs(idx)
            reward[idx] = 0.0
            terminated[idx] = truncated[idx] = succeeded[idx] = crashed[idx] = out[idx] = False
        info = self._info(succeeded, crashed, out, terms, fresh)
        self._autoreset = terminated | truncated
        return self._observe(), reward, terminated, truncated, info

    def close(self, **kwargs) -> None:
        self.closed = True

    # ---- episodes ---------------------------------------------------------------------------
    def _reset_envs(self, idx: np.ndarray) -> None:
        layout = self.sampler.draw([self._rngs[i] for i in idx])
        zeros = np.zeros((3, len(idx)))
        quat = np.zeros((4, len(idx)))
        quat[2], quat[3] = np.sin(0.5 * layout.yaw_rad), np.cos(0.5 * layout.yaw_rad)
        self.quad.reset(idx, layout.pos_m, quat, zeros, zeros)
        self.task.reset(idx, layout)
        world = self.world
        world.gust_mps[:, idx] = layout.gust_mps
        if world.gust_noise is not None:
            world.gust_noise[idx] = layout.gust_noise
        world.weak_rotor[idx] = layout.weak_rotor
        self._start_episodes(idx)

    def _start_episodes(self, idx: np.ndarray) -> None:
        """Controller, action queue, counters and potentials of envs ``idx`` whose state and task are set."""
        self.world.start(idx)
        self.step_count[idx] = 0
        self._last_action[idx] = 0.0
        distance = self._goal_distance()
        self._distance[idx] = distance[idx]
        phi = self.task.potentials(distance, self._heading_cos())
        if not self._phi:
            self._phi = {name: value.copy() for name, value in phi.items()}
        for name, value in phi.items():
            self._phi[name][idx] = value[idx]

    def load_episode(self, i: int, state: RigidBodyState, **task_fields) -> np.ndarray:
        """Restart env ``i`` from a given start state and task state, e.g. copied from the PyBullet env.

        Args:
            i: env index.
            state: the drone's state (``env.unwrapped.state`` of the PyBullet env just after ``reset``).
            **task_fields: ``goal_m`` (Hover's hold point, FlyToTarget's target: 3 numbers, m); Hiking:
                ``markers_m`` ((num_markers, 3) m); FollowTarget: ``goal_m`` (the target's position),
                ``path`` (its ``SmoothPath``) and ``turn_noise`` (the standard normals its target stream
                will draw, one per control step). Optional: ``gust_mps`` (3,) and ``gust_noise``
                ((steps, 3) standard normals) set the wind gusts of a gusty scenario, ``weak_rotor``
                (0-3) the weak rotor of a motor-weakness scenario.

        Returns:
            Env ``i``'s observation (16,) float32; the next :meth:`step` continues from there.
        """
        if not self._reset_done:
            raise RuntimeError("call reset() before load_episode()")
        gust, gust_noise = task_fields.pop("gust_mps", None), task_fields.pop("gust_noise", None)
        weak_rotor = task_fields.pop("weak_rotor", None)
        idx = np.array([int(i)])
        self.quad.reset(idx, state.pos_m[:, None], state.quat_xyzw[:, None], state.vel_world_mps[:, None],
                        state.omega_world_radps[:, None])
        self.task.load(int(i), **task_fields)
        world = self.world
        if gust is not None:
            world.gust_mps[:, i] = gust
        if gust_noise is not None and world.gust_noise is not None:
            world.gust_noise[i] = np.asarray(gust_noise, dtype=float)[:self.episode_steps]
        if weak_rotor is not None:
            world.weak_rotor[i] = int(weak_rotor)
        self._start_episodes(idx)
        self._autoreset[i] = False
        return self._observe()[i]

    def drone_state(self, i: int) -> RigidBodyState:
        """Env ``i``'s drone state (copies, world frame)."""
        s = self.quad.state
        return RigidBodyState(s.pos_m[:, i].copy(), s.quat_xyzw[:, i].copy(), s.vel_world_mps[:, i].copy(),
                              s.omega_world_radps[:, i].copy(), s.R[:, :, i].copy())

    @property
    def positions_m(self) -> np.ndarray:
        """Every drone's position (N, 3), m, world frame (a copy)."""
        return self.quad.state.pos_m.T.copy()

    @property
    def goals_m(self) -> np.ndarray:
        """Every env's current goal (N, 3), m, world frame (a copy)."""
        return self.task.goal_m.T.copy()

    # ---- observations and status ------------------------------------------------------------
    def _observe(self) -> np.ndarray:
        """The ``kin`` vectors (N, 16) float32 (:func:`ltc_drones.envs.observations.kinematic_observation`)."""
        s = self.quad.state
        R = s.R
        out = np.empty((KIN_DIM, self.num_envs))
        out[0:3] = rotate_back(R, self.task.goal_m - s.pos_m) / KIN_SCALES["goal_m"]
        out[3:6] = rotate_back(R, s.vel_world_mps) / KIN_SCALES["vel_mps"]
        out[6:9] = -R[2]
        out[9:12] = s.omega_body_radps / KIN_SCALES["rates_radps"]
        out[12:16] = self._last_action.T
        np.clip(out, -KIN_BOUND, KIN_BOUND, out=out)
        return out.T.astype(np.float32)

    def _goal_distance(self) -> np.ndarray:
        d = self.task.goal_m - self.quad.state.pos_m
        return np.sqrt((d * d).sum(axis=0))

    def _heading_cos(self) -> np.ndarray:
        """cos of the goal's horizontal bearing off each drone's heading (1 when straight ahead or overhead)."""
        d = self.task.goal_m - self.quad.state.pos_m
        horiz = np.sqrt(d[0] * d[0] + d[1] * d[1])
        c, s = heading_cos_sin(self.quad.state.R)
        close = horiz < 1e-6
        cos = (d[0] * c + d[1] * s) / np.where(close, 1.0, horiz)
        return np.where(close, 1.0, cos)

    def _out_of_bounds(self) -> np.ndarray:
        p, s = self.quad.state.pos_m, self.scenario
        return (np.abs(p[0]) > s.bounds_xy_m) | (np.abs(p[1]) > s.bounds_xy_m) | (p[2] > s.bounds_z_m)

    def _info(self, succeeded: np.ndarray, crashed: np.ndarray, out: np.ndarray, terms: dict[str, np.ndarray],
              fresh: np.ndarray) -> dict[str, np.ndarray]:
        """Info arrays with Gymnasium's ``_key`` masks; step-only entries are masked out where ``fresh`` (a reset)."""
        s = self.quad.state
        n = self.num_envs
        info: dict[str, np.ndarray] = {
            "is_success": succeeded.copy(),
            "distance_m": self._distance.copy(),
            "target_in_view": self.view.sees(s.pos_m, s.R, self.task.goal_m),
            "crashed": crashed.copy(),
            "out_of_bounds": out.copy(),
            "time_s": self.step_count * self.clock.ctrl_dt_s,
        }
        for key in list(info):
            info[f"_{key}"] = np.ones(n, dtype=bool)
        stepped = ~fresh
        extras = {f"reward_{name}": value for name, value in terms.items()}
        if terms:
            extras.update(self.task.info(self.step_count))
        for key, value in extras.items():
            info[key] = np.where(stepped, value, 0.0)
            info[f"_{key}"] = stepped.copy()
        return info


def _steps_to_reach(duration_s: float, dt_s: float) -> int:
    """The first control step count k with ``k · dt ≥ duration − 1e-9`` (the step that truncates)."""
    k = max(1, int(math.floor(duration_s / dt_s)) - 1)
    while k * dt_s < duration_s - TIME_EPS_S:
        k += 1
    return k
