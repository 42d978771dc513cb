"""The single-drone environment base: simulation stepping, observations, actions, rendering.

A task subclass only says how an episode starts, how its target moves, what success and
failure are and what its reward terms are (the simulator base owns stepping).

Rewards: each shaping term is the difference of a potential between consecutive control steps,
``w · (Φ(s_t) − Φ(s_{t−1}))`` (a task's :meth:`DroneEnv._potentials`), so over an episode it sums
to ``w · (Φ(s_T) − Φ(s_0))`` whatever the episode's length; the base adds ``+w_success`` on a
success step and ``−w_crash`` on a crash (contact, tilt over 80°, out of bounds) step, and a crash
step is never a success.

Randomness: ``reset`` spawns one generator per source from the episode's seed sequence (a child
of ``self.np_random``'s seed sequence, so ``reset(seed=s)`` fixes the world and a later
``reset()`` gives the next world of that seed), exposed as ``self.rngs``
(:class:`~ltc_drones.envs.streams.EpisodeRngs`): ``layout`` (start, target, hold point, markers,
then distractors), ``target`` (target motion), ``wind`` (gusts), ``camera`` (observed pixel noise),
``diagnostics`` (pixel noise of images the agent did not see) and ``scenery``. No source draws
from another's stream, so one seed is one world in ``kin``, ``rgb`` and ``rgb_kin``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..control.cascade import ControllerGains, VelocityLimits
from ..sim.forces import ForceConfig
from ..sim.params import QuadrotorParams
from ..sim.rotation import euler_to_quat, yaw_of
from ..sim.state import RigidBodyState
from .camera import CHASE_PROJECTION, CameraConfig, SegmentationClasses, chase_view
from .flight import CRASH_TILT_RAD, IMAGE_OBS_MODES, OBS_MODES, FlightCore  # noqa: F401 - re-exported
from .observations import (  # noqa: F401 - KIN_BOUND, PROPRIO_DIM re-exported (tests, older imports)
    KIN_BOUND,
    KIN_DIM,
    PROPRIO_DIM,
    kinematic_observation,
    kinematic_observations,
    observation_space,
    postprocess_image,
    proprioception,
)
from .scenario import Scenario
from .streams import EpisodeRngs

ObsMode = Literal["kin", "rgb", "rgb_kin"]
class DroneEnv(FlightCore, gym.Env):
    """Base class; see the task classes for their spec sheets. One drone: a :class:`FlightCore` with N = 1."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}
    SUCCESS_TERMINATES: ClassVar[bool] = True
    """Whether success ends the episode (reaching tasks) or is judged at the time limit (holding tasks)."""

    def __init__(
        self,
        obs: ObsMode = "kin",
        act: str = "vel",
        scenario: str | Scenario = "nominal",
        render_mode: str | None = None,
        physics_hz: int = 240,
        ctrl_hz: int = 30,
        camera: CameraConfig | None = None,
        params: QuadrotorParams | None = None,
        forces: ForceConfig | None = None,
        velocity_limits: VelocityLimits | None = None,
        gains: ControllerGains | None = None,
        reward_weights: dict[str, float] | None = None,
    ) -> None:
        self._build_flight(1, obs, act, scenario, render_mode, physics_hz, ctrl_hz, camera, params, forces,
                           velocity_limits, gains, reward_weights)
        self.metadata = {**self.metadata, "render_fps": ctrl_hz}
        self.shifts = self.drone_shifts[0]
        self.action_space = spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)
        self.observation_space = self._make_observation_space()
        self.target_ids: list[int] = []
        self._build_task()
        self._segment = SegmentationClasses(self.sim.world.ground_id, self.target_ids, self.scene.segmentation_classes)
        self._reset_done = False

    # ---- to be provided by tasks ------------------------------------------------------------
    def _build_task(self) -> None:
        """Create the task's visual bodies (targets, markers) once; append them to ``target_ids``."""

    def _task_reset(self, rng: np.random.Generator) -> RigidBodyState:
        """Place targets for a new episode and return the drone's start state."""
        raise NotImplementedError

    def _task_advance(self, dt_s: float) -> None:
        """Move targets by one control period (default: static)."""

    @property
    def goal_pos_m(self) -> np.ndarray:
        """Where the drone should go now (target centre, hold point, current marker)."""
        raise NotImplementedError

    def _task_outcome(self) -> tuple[bool, bool]:
        """``(succeeded, failed)`` after the current step; success ends FlyToTarget and Hiking.

        ``self._crash_now`` is already set: the base never counts a success on a crash step.
        """
        raise NotImplementedError

    def _potentials(self) -> dict[str, float]:
        """Unweighted potential of each shaping term in the current state (keys are weight names).

        Default: ``progress`` = −distance to the goal (m), ``heading`` = cos of the goal's horizontal
        bearing off the drone's heading (1 straight ahead, −1 behind).
        """
        return {"progress": -self._distance_m, "heading": self._heading_cos()}

    def _task_reward_terms(self) -> dict[str, float]:
        """Task terms of this step other than shaping, success and crash (weighted)."""
        return {}

    def _task_info(self) -> dict[str, Any]:
        """Task-specific ``info`` entries reported on every step."""
        return {}

    # ---- gymnasium API ----------------------------------------------------------------------
    def _make_observation_space(self) -> spaces.Space:
        cam = self.camera.config
        return observation_space(self.obs_mode, cam.height, cam.width, KIN_DIM)

    @property
    def state(self) -> RigidBodyState:
        return self.sim.states[0]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.rngs = EpisodeRngs.spawn(self._episode_seed_sequence())
        self._obs_rgb: tuple[int, np.ndarray] | None = None
        start = self._task_reset(self.rngs.layout)
        self.scene.place_distractors(self.rngs.layout, start.pos_m, yaw_of(start.R), self._layout_points_m(),
                                     scenery_rng=self.rngs.scenery)
        self.sim.reset([start], self.rngs.wind)
        self._reset_flight(self.rngs.layout)
        self._last_action = np.zeros(4, dtype=np.float32)
        self._step_count = 0
        self._crashed = self._crash_now = False
        self._distance_m = self._goal_distance()
        self._phi = self._potentials()
        self._reset_done = True
        return self._observe(), self._info(success=False)

    def _episode_seed_sequence(self) -> np.random.SeedSequence:
        """A fresh child of ``np_random``'s seed sequence (spawning draws no number from ``np_random``)."""
        seq = getattr(self.np_random.bit_generator, "seed_seq", None)
        if not isinstance(seq, np.random.SeedSequence):  # a generator built without a seed sequence
            return np.random.SeedSequence(int(self.np_random.integers(2**63)))
        return seq.spawn(1)[0]

    def step(self, action):
        if not self._reset_done:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (4,):
            raise ValueError(f"action must have 4 components, got shape {np.shape(action)}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"action must be finite, got {action}; the environment state is unchanged")
        a = np.clip(a, -1.0, 1.0)
        sim, mode = self.sim, self.action_mode
        mode.set(self.shifts.action(a)[:, None], sim.batch)  # latency: the action of k steps ago
        contact = False
        for _ in range(self.clock.substeps):
            sim.physics_step_batch(self._rotor_commands())  # the controller, then a weak motor
            if sim.world.in_contact(0):
                contact = True
                break
        sim.advance_wind()
        self._task_advance(self.clock.ctrl_dt_s)
        self._step_count += 1
        self._last_action = a.astype(np.float32)
        self._distance_m = self._goal_distance()
        self._crashed = contact or self._tipped_over(0)
        out_of_bounds = self._out_of_bounds()
        self._crash_now = self._crashed or out_of_bounds
        succeeded, failed = self._task_outcome()
        self.scene.follow_goal(self.goal_pos_m)  # occluders stay with a moving target / the next marker
        succeeded = succeeded and not self._crash_now  # a crash step is never a success
        terminated = self._crash_now or failed or (succeeded and self.SUCCESS_TERMINATES)
        truncated = not terminated and self.time_s >= self.scenario.episode_len_s - 1e-9
        phi = self._potentials()
        terms = self._step_terms(phi, self._phi, self._task_reward_terms(), succeeded, self._crash_now)
        self._phi = phi
        info = self._info(success=succeeded, terms=terms, out_of_bounds=out_of_bounds)
        info.update(self._task_info())
        return self._observe(), float(sum(terms.values())), terminated, truncated, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        goal = self.goal_pos_m if self._reset_done else None
        rgb, _ = self.sim.world.render(chase_view(self.state, goal), CHASE_PROJECTION, 320, 240, self.scene.lighting)
        return rgb

    # ---- observations -----------------------------------------------------------------------
    def kinematic_observation(self) -> np.ndarray:
        """The ``kin`` vector (``KIN_DIM`` = 16): goal in the body frame (m / 5), then :meth:`proprioception`."""
        goal = np.reshape(self.goal_pos_m, (1, 3, 1))
        return kinematic_observations(self.sim.batch, slice(None), goal, self._last_action[None])[0]

    def proprioception(self) -> np.ndarray:
        """What the drone senses of itself (``PROPRIO_DIM`` = 13; see :func:`.observations.proprioception`)."""
        return kinematic_observations(self.sim.batch, slice(None), np.zeros((0, 3, 1)), self._last_action[None])[0]

    def onboard_camera(self, postprocess: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Render the onboard view: ``(rgb uint8 (H, W, 3), segmentation classes uint8 (H, W))``.

        Classes: 0 other (drones), 1 target, 2 distractor, 3 ground, 4 sky (``camera.SEG_CLASSES``),
        5 scenery and occluders (``scenery.SEG_SCENERY``).
        With ``postprocess`` the scenario's brightness, contrast and noise are applied as in observations.
        """
        rgb, seg = self._render_onboard()
        if postprocess:
            if self._obs_rgb is not None and self._obs_rgb[0] == self._step_count:
                rgb = self._obs_rgb[1]  # exactly what the agent saw at this step
            else:
                rgb = self._postprocess(rgb, self.rngs.diagnostics)
        return rgb, self._segment(seg)

    def _render_onboard(self) -> tuple[np.ndarray, np.ndarray]:
        cam = self.camera.config
        return self.sim.world.render(self.camera.view_matrix(self.state), self.camera.projection,
                                     cam.width, cam.height, self.scene.lighting)

    def _postprocess(self, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return postprocess_image(rgb, self.scenario, rng)

    def _observe(self):
        if self.obs_mode == "kin":
            return self.kinematic_observation()
        rgb = self._postprocess(self._render_onboard()[0], self.rngs.camera)
        self._obs_rgb = (self._step_count, rgb)
        if self.obs_mode == "rgb":
            return rgb
        return {"rgb": rgb, "kin": self.proprioception()}

    # ---- status -----------------------------------------------------------------------------
    def _goal_distance(self) -> float:
        return math.dist(np.asarray(self.goal_pos_m, dtype=float).tolist(), self.sim.batch.pos_m[:, 0].tolist())

    def _heading_cos(self) -> float:
        """cos of the goal's horizontal bearing off the drone's heading (1 when the goal is straight ahead)."""
        return self._bearing_cos(0, self.goal_pos_m)

    def _layout_points_m(self) -> list[np.ndarray]:
        """Points that distractors (and scenery) keep clear of: the goal by default."""
        return [self.goal_pos_m]

    def _out_of_bounds(self) -> bool:
        return self._left_bounds(0)

    def target_in_view(self) -> bool:
        return self.camera.sees(self.state, self.goal_pos_m)

    def _info(self, success: bool, terms: dict[str, float] | None = None, out_of_bounds: bool = False) -> dict:
        info = {
            "is_success": bool(success),
            "distance_m": self._distance_m,
            "target_in_view": self.target_in_view(),
            "crashed": bool(self._crashed),
            "out_of_bounds": bool(out_of_bounds),
            "time_s": self.time_s,
        }
        for name, value in (terms or {}).items():
            info[f"reward_{name}"] = float(value)
        return info

    # ---- helpers for tasks ------------------------------------------------------------------
    def _start_state(self, rng: np.random.Generator) -> RigidBodyState:
        """Hover at flying height near the origin with a random heading."""
        s = self.scenario
        pos = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), rng.uniform(*s.start_height_m)])
        yaw = rng.uniform(-math.pi, math.pi)
        return RigidBodyState.at_rest(pos, euler_to_quat(0.0, 0.0, yaw))

    def _point_in_view(self, rng: np.random.Generator, state: RigidBodyState, dist_range: tuple[float, float],
                       origin: np.ndarray | None = None, heading: float | None = None) -> np.ndarray:
        """A point ``dist_range`` away within ``start_bearing_deg`` of the heading that the camera sees."""
        s = self.scenario
        origin = state.pos_m if origin is None else origin
        heading = yaw_of(state.R) if heading is None else heading
        for _ in range(100):
            d = rng.uniform(*dist_range)
            a = heading + math.radians(rng.uniform(-s.start_bearing_deg, s.start_bearing_deg))
            p = origin + np.array([d * math.cos(a), d * math.sin(a), 0.0])
            p[2] = rng.uniform(*s.target_height_m)
            if self.camera.sees(state, p):
                return p
        return p  # pragma: no cover - the ranges above always leave visible points
