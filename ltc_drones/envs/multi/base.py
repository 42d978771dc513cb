"""The multi-drone PettingZoo ``ParallelEnv`` base: one simulation, N drones, one agent per drone.

A task subclass (:mod:`.follow`, :mod:`.reach`) says how an episode starts, where each agent's goal
and point of attention are, how targets move and when an agent succeeds; this base owns stepping,
observations, rewards, collisions and the PettingZoo API.

* **Agents** ``drone_0 … drone_{N-1}`` each fly their own drone with their own action mode,
  physical shifts (latency, a weak motor drawn per drone) and previous action. Each agent is also
  exposed as a :class:`DroneAgent` view (``env.agent_views[name]``) that reads like a single-agent
  env (``state``, ``goal_pos_m``, ``target_pos_m``, ``target_in_view()`` …), for experts and diagnostics.
* **Observations** per agent, in the single-agent modes: ``kin`` is the privileged vector
  ``[goal (3), look-at point (3), nearest other drone (3), proprioception (13)]`` (positions in the
  body frame, m / 5, :data:`MULTI_KIN_DIM` = 22); ``rgb`` the agent's onboard camera image (it sees
  the other drones); ``rgb_kin`` the image and proprioception (13), as in single-agent tasks.
* **Rewards** per agent, potential-based as in the single-agent tasks: ``w_progress · (d_{t−1} − d_t)``
  toward the agent's goal, ``w_heading · (c_t − c_{t−1})`` with ``c`` the cosine of the look-at
  point's bearing off the heading, task terms, ``+w_success`` on the agent's success step and
  ``−w_crash`` on a crash step (contact with the ground, a solid object or another drone, tilt
  over 80°, out of bounds). A drone–drone contact is a crash for both drones.
* **Termination** per agent: an agent that crashes, fails or (in reaching tasks) succeeds is done;
  its drone is then *parked*: lifted out of the airspace, held still, excluded from downwash and
  contacts, and unseen (beyond every camera's far plane). At the time limit every agent left is
  truncated. ``infos[agent]`` holds ``is_success``, ``crashed``, ``collided`` (drone–drone),
  ``distance_m``, ``target_in_view``, ``time_s`` and ``reward_<term>``; once the last agent is done,
  every info of that step also holds ``team_success`` (every agent succeeded) and ``collisions``
  (the number of distinct pairs of drones that touched, summed over steps).

Randomness: as in the single-agent envs, every source draws from its own stream of the episode's
seed (:class:`~ltc_drones.envs.streams.EpisodeRngs`); one seed is one world in every observation mode.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ...control.cascade import ControllerGains, VelocityLimits
from ...sim.forces import ForceConfig
from ...sim.params import QuadrotorParams
from ...sim.rotation import euler_to_quat, yaw_of
from ...sim.state import RigidBodyState
from ...tasks import check_num_drones
from ..camera import CHASE_PROJECTION, CameraConfig, SegmentationClasses, chase_view
from ..flight import FlightCore
from ..observations import PROPRIO_DIM, kinematic_observations, observation_space, postprocess_image
from ..scenario import Scenario
from ..streams import EpisodeRngs
from .views import DroneAgent

MULTI_KIN_DIM = 9 + PROPRIO_DIM
"""Per-agent ``kin`` vector: goal, look-at point, nearest other drone (body frame, m / 5), proprioception."""
PARK_HEIGHT_M = 30.0
"""Done drones wait this high, 60 m apart from everything: beyond every camera's 40 m far plane."""


def mean_heading_rad(states: list[RigidBodyState]) -> float:
    """Circular mean of the drones' headings (rad)."""
    return float(np.angle(np.mean([np.exp(1j * yaw_of(st.R)) for st in states])))


class MultiDroneEnv(FlightCore, ParallelEnv):
    """Base class; see :class:`.follow.MultiFollowEnv` and :class:`.reach.MultiFlyToTargetEnv`."""

    metadata: ClassVar[dict[str, Any]] = {"name": "", "render_modes": ["rgb_array"], "render_fps": 30,
                                          "is_parallelizable": True}
    SUCCESS_TERMINATES: ClassVar[bool] = True

    def __init__(self, num_drones: int = 4, obs: str = "kin", act: str = "vel", scenario: str | Scenario = "nominal",
                 render_mode: str | None = None, physics_hz: int = 240, ctrl_hz: int = 30,
                 camera: CameraConfig | None = None, params: QuadrotorParams | None = None,
                 forces: ForceConfig | None = None, velocity_limits: VelocityLimits | None = None,
                 gains: ControllerGains | None = None, reward_weights: dict[str, float] | None = None) -> None:
        check_num_drones(self.TASK, num_drones)
        self.num_drones = n = int(num_drones)
        self._build_flight(n, obs, act, scenario, render_mode, physics_hz, ctrl_hz, camera, params, forces,
                           velocity_limits, gains, reward_weights)
        self.metadata = {**self.metadata, "name": self.TASK, "render_fps": ctrl_hz}
        self.possible_agents = [f"drone_{i}" for i in range(n)]
        self._agent_index = {name: i for i, name in enumerate(self.possible_agents)}
        self.agents: list[str] = []
        self.agent_views = {name: DroneAgent(self, i) for i, name in enumerate(self.possible_agents)}
        self._action_space = spaces.Box(-1.0, 1.0, (4,), dtype=np.float32)
        self._observation_space = self._make_observation_space()
        self.target_ids: list[int] = []
        self._build_task()
        self._segment = SegmentationClasses(self.sim.world.ground_id, self.target_ids, self.scene.segmentation_classes,
                                            drone_ids=self.sim.world.drone_ids)
        self._drone_index = {b: i for i, b in enumerate(self.sim.world.drone_ids)}
        self._reset_done = False

    # ---- to be provided by tasks ------------------------------------------------------------
    def _build_task(self) -> None:
        """Create the task's visual bodies once; append them to ``target_ids``."""

    def _task_reset(self, rng: np.random.Generator) -> list[RigidBodyState]:
        """Place targets for a new episode and return every drone's start state."""
        raise NotImplementedError

    def _task_advance(self, dt_s: float) -> None:
        """Move targets by one control period (default: static)."""

    def goal_of(self, i: int) -> np.ndarray:
        """Where agent ``i`` should go now (m, world frame)."""
        raise NotImplementedError

    def look_at_of(self, i: int) -> np.ndarray:
        """What agent ``i`` should keep in view (default: its goal)."""
        return self.goal_of(i)

    def target_of(self, i: int) -> np.ndarray:
        """Agent ``i``'s target (the leader, or its own target)."""
        return self.look_at_of(i)

    def target_velocity_of(self, i: int) -> np.ndarray:
        return np.zeros(3)

    def _agent_outcome(self, i: int) -> tuple[bool, bool]:
        """``(succeeded, failed)`` of agent ``i`` after this step (a crash is already handled)."""
        raise NotImplementedError

    def _task_reward_terms(self, i: int) -> dict[str, float]:
        return {}

    def _task_info(self, i: int) -> dict[str, Any]:
        return {}

    def _layout_points_m(self) -> list[np.ndarray]:
        """Points the distractors and the scenery keep clear of."""
        return [self.goal_of(i) for i in range(self.num_drones)]

    # ---- PettingZoo API ---------------------------------------------------------------------
    def _make_observation_space(self) -> spaces.Space:
        cam = self.camera.config
        return observation_space(self.obs_mode, cam.height, cam.width, MULTI_KIN_DIM)

    def observation_space(self, agent: str) -> spaces.Space:
        """The same space object for every agent (all drones are alike)."""
        self._index(agent)
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        self._index(agent)
        return self._action_space

    def _index(self, agent: str) -> int:
        try:
            return self._agent_index[agent]
        except (KeyError, TypeError):
            raise KeyError(f"unknown agent {agent!r}; agents: {', '.join(self.possible_agents)}") from None

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None or not hasattr(self, "_seed_seq"):
            self._seed_seq = np.random.SeedSequence(seed)
        self.rngs = EpisodeRngs.spawn(self._seed_seq.spawn(1)[0])
        self.agents = list(self.possible_agents)
        self._active = [True] * self.num_drones
        starts = self._task_reset(self.rngs.layout)
        centre = np.mean([st.pos_m for st in starts], axis=0)
        heading = mean_heading_rad(starts)
        self.scene.place_distractors(self.rngs.layout, centre, heading, self._layout_points_m(),
                                     scenery_rng=self.rngs.scenery, occluded_goal_m=self.look_at_of(0))
        self.sim.reset(starts, self.rngs.wind)
        self._reset_flight(self.rngs.layout)
        n = self.num_drones
        self._last_action = np.zeros((n, 4), dtype=np.float32)
        self._step_count = 0
        self._success = [False] * n
        self._crashed = [False] * n
        self._collided = [False] * n
        self.collisions = 0
        self._distance = [self._goal_distance(i) for i in range(n)]
        self._phi = [self._potentials(i) for i in range(n)]
        self._reset_done = True
        observations = {a: self._observe(i) for i, a in enumerate(self.possible_agents)}
        infos = {a: self._info(i) for i, a in enumerate(self.possible_agents)}
        return observations, infos

    def step(self, actions: dict[str, Any]):
        if not self._reset_done:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            raise RuntimeError("every agent is done; call reset() to start a new episode")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"no action for live agent(s) {missing}; give one action (4,) per agent in env.agents")
        live = [self._agent_index[a] for a in self.agents]
        acts = {}
        for i in live:
            a = np.asarray(actions[self.possible_agents[i]], dtype=np.float64).reshape(-1)
            if a.shape != (4,) or not np.isfinite(a).all():
                name = self.possible_agents[i]
                raise ValueError(f"action of {name} must be 4 finite numbers, got {actions[name]}")
            acts[i] = a.clip(-1.0, 1.0)
        sim = self.sim
        commands = np.zeros((4, self.num_drones))  # parked drones: a command nobody flies
        for i in live:
            commands[:, i] = self.drone_shifts[i].action(acts[i])
        self.action_mode.set(commands, sim.batch)
        contacts = self._fly(live)
        sim.advance_wind()
        self._task_advance(self.clock.ctrl_dt_s)
        self.scene.follow_goal(self.look_at_of(0))  # occluders stay with a moving leader
        self._step_count += 1
        observations, rewards, terminations, truncations, infos = {}, {}, {}, {}, {}
        at_limit = self.time_s >= self.scenario.episode_len_s - 1e-9
        done_now = []
        pairs: set[tuple[int, int]] = set()
        goals = {i: self.goal_of(i) for i in live}  # fixed for the rest of the step: computed once
        positions = sim.batch.pos_m.T.tolist()
        for i in live:
            name = self.possible_agents[i]
            self._last_action[i] = acts[i].astype(np.float32)
            self._distance[i] = math.dist(goals[i].tolist(), positions[i])  # _goal_distance
            others = {self._drone_index[b] for b in contacts[i] if b in self._drone_index} - {i}
            self._collided[i] = bool(others)
            pairs.update((min(i, j), max(i, j)) for j in others)
            crash = bool(contacts[i]) or self._tipped_over(i) or self._left_bounds(i)
            self._crashed[i] = crash
            succeeded, failed = self._agent_outcome(i)
            succeeded = succeeded and not crash
            self._success[i] = succeeded
            terminated = crash or failed or (succeeded and self.SUCCESS_TERMINATES)
            phi = self._potentials(i)
            terms = self._step_terms(phi, self._phi[i], self._task_reward_terms(i), succeeded, crash)
            self._phi[i] = phi
            rewards[name] = float(sum(terms.values()))
            terminations[name] = terminated
            truncations[name] = not terminated and at_limit
            infos[name] = self._info(i, terms)
            if terminated or at_limit:
                done_now.append(i)
        self.collisions += len(pairs)
        if self.obs_mode == "kin":
            kin = self._kin_observations(live, np.array([goals[i] for i in live]).T)
            observations = {self.possible_agents[i]: kin[k] for k, i in enumerate(live)}
        else:
            for i in live:
                observations[self.possible_agents[i]] = self._observe(i)
        for i in done_now:
            self._park(i)
        if done_now:
            self.agents = [a for a in self.agents if self._agent_index[a] not in done_now]
        if not self.agents:
            team = self.team_success
            for info in infos.values():
                info.update(team_success=team, collisions=self.collisions)
        return observations, rewards, terminations, truncations, infos

    def _fly(self, live: list[int]) -> dict[int, set[int]]:
        """One control period of physics: the live drones' controllers and motors at every physics step.

        Returns:
            ``{i: ids of the bodies drone i touched during the period}`` for every live drone.
        """
        sim = self.sim
        active = None if all(self._active) else self._active  # parked drones: no command, held still
        contacts: dict[int, set[int]] = {i: set() for i in live}
        for _ in range(self.clock.substeps):
            sim.physics_step_batch(self._rotor_commands(), active)  # every drone's controller in one call
            for i, bodies in sim.world.drone_contacts().items():
                if i in contacts:
                    contacts[i] |= bodies
        return contacts

    @property
    def team_success(self) -> bool:
        """Whether every agent has succeeded (meaningful once the episode is over)."""
        return all(self._success)

    @property
    def agent_success(self) -> dict[str, bool]:
        return dict(zip(self.possible_agents, self._success, strict=True))

    def render(self):
        """A 320×240 chase view behind the team, looking at the middle of the flying drones."""
        if self.render_mode != "rgb_array":
            return None
        flying = [i for i in range(self.num_drones) if self._active[i]] or list(range(self.num_drones))
        centre = np.mean([self.sim.states[i].pos_m for i in flying], axis=0)
        heading = mean_heading_rad([self.sim.states[i] for i in flying])
        spread = max(float(np.max([np.linalg.norm(self.sim.states[i].pos_m - centre) for i in flying])), 0.5)
        pseudo = RigidBodyState.at_rest(centre, euler_to_quat(0.0, 0.0, heading))
        view = chase_view(pseudo, self.look_at_of(flying[0]), distance_m=1.0 + 1.5 * spread)
        rgb, _ = self.sim.world.render(view, CHASE_PROJECTION, 320, 240, self.scene.lighting)
        return rgb

    # ---- observations -----------------------------------------------------------------------
    def other_positions_m(self, i: int) -> np.ndarray:
        """Positions (K, 3) of the other drones still flying."""
        others = [j for j in range(self.num_drones) if j != i and self._active[j]]
        return self.sim.batch.pos_m[:, others].T.copy()

    def _nearest_others_m(self, indices: list[int]) -> np.ndarray:
        """The nearest other flying drone's position (3, len(indices)) for each drone in ``indices``, from one
        table of pairwise distances; a point 50 m above the drone when no other is left."""
        pos = self.sim.batch.pos_m
        out = pos[:, indices] + np.array([[0.0], [0.0], [50.0]])
        flying = [j for j in range(self.num_drones) if self._active[j]]
        others = pos[:, flying]
        d = pos[:, indices, None] - others[:, None, :]
        dist = np.sqrt((d * d).sum(axis=0))  # dist[a, b] = |pos of indices[a] − pos of flying[b]|
        itself = [(k, flying.index(i)) for k, i in enumerate(indices) if i in flying]  # a drone is not its own other
        dist[[k for k, _ in itself], [j for _, j in itself]] = np.inf
        has_other = np.isfinite(dist).any(axis=1)
        if np.count_nonzero(has_other):
            out[:, has_other] = others[:, dist[has_other].argmin(axis=1)]
        return out

    def kinematic_observation(self, i: int) -> np.ndarray:
        """Agent ``i``'s ``kin`` vector (:data:`MULTI_KIN_DIM` = 22)."""
        return self._kin_observations([i], self.goal_of(i)[:, None])[0]

    def _kin_observations(self, indices: list[int], goals_m: np.ndarray) -> np.ndarray:
        """The ``kin`` vectors (len(indices), 22) of drones ``indices`` whose goals are ``goals_m`` (3, L)."""
        points = np.empty((3, 3, len(indices)))  # goal, look-at point, nearest other drone
        points[0] = goals_m
        points[1] = np.array([self.look_at_of(i) for i in indices]).T
        points[2] = self._nearest_others_m(indices)
        return kinematic_observations(self.sim.batch, indices, points, self._last_action[indices])

    def onboard_camera(self, i: int, postprocess: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Agent ``i``'s onboard view: ``(rgb uint8 (H, W, 3), segmentation classes uint8 (H, W))``.

        Classes as in the single-agent envs, plus the other drones: class 6 (``camera.SEG_DRONE``);
        the leader or the targets are class 1 (target). With ``postprocess`` the scenario's image
        shifts are applied, with pixel noise from the ``diagnostics`` stream.
        """
        rgb, seg = self._render_onboard(i)
        if postprocess:
            rgb = postprocess_image(rgb, self.scenario, self.rngs.diagnostics)
        return rgb, self._segment(seg)

    def _render_onboard(self, i: int):
        cam = self.camera.config
        return self.sim.world.render(self.camera.view_matrix(self.sim.states[i]), self.camera.projection,
                                     cam.width, cam.height, self.scene.lighting)

    def _observe(self, i: int):
        if self.obs_mode == "kin":
            return self.kinematic_observation(i)
        rgb = postprocess_image(self._render_onboard(i)[0], self.scenario, self.rngs.camera)
        if self.obs_mode == "rgb":
            return rgb
        proprio = kinematic_observations(self.sim.batch, [i], np.zeros((0, 3, 1)), self._last_action[i:i + 1])[0]
        return {"rgb": rgb, "kin": proprio}

    # ---- status -----------------------------------------------------------------------------
    def sees(self, i: int, point_m: np.ndarray) -> bool:
        return self.camera.sees(self.sim.states[i], point_m)

    def _goal_distance(self, i: int) -> float:
        return math.dist(self.goal_of(i).tolist(), self.sim.batch.pos_m[:, i].tolist())

    def _potentials(self, i: int) -> dict[str, float]:
        return {"progress": -self._distance[i], "heading": self._bearing_cos(i, self.look_at_of(i))}

    def _park(self, i: int) -> None:
        """Take a done drone out of the airspace (see the module docstring)."""
        self._active[i] = False
        park = RigidBodyState.at_rest(np.array([60.0 * (i + 1), 60.0, PARK_HEIGHT_M]), np.array([0.0, 0.0, 0.0, 1.0]))
        self.sim.move_drone(i, park)

    def _info(self, i: int, terms: dict[str, float] | None = None) -> dict[str, Any]:
        info = {
            "is_success": bool(self._success[i]),
            "crashed": bool(self._crashed[i]),
            "collided": bool(self._collided[i]),
            "distance_m": self._distance[i],
            "target_in_view": self.sees(i, self.look_at_of(i)),
            "time_s": self.time_s,
        }
        for name, value in (terms or {}).items():
            info[f"reward_{name}"] = float(value)
        info.update(self._task_info(i))
        return info
