"""MultiFlyToTarget: N drones, N targets, one shared airspace."""

from __future__ import annotations

import math

import numpy as np

from ...sim.rotation import euler_to_quat
from ...sim.state import RigidBodyState
from .base import MultiDroneEnv


class MultiFlyToTargetEnv(MultiDroneEnv):
    """Each drone flies to its own target; they share the airspace.

    ## Description
    The drones start abreast, ``formation_spacing_m`` (1.5 m) apart, at rest 0.9–1.3 m high, facing a
    common heading (±10° each). Drone ``i``'s target (the scenario's target body: nominal, a red 0.4 m
    sphere; every target looks the same) is placed 1.5–4 m ahead of it, within ±15° of its heading,
    in its camera's view and at least 1 m from every other target, so paths may cross. A drone
    succeeds within ``success_radius_m`` (0.5 m) of its own target; its target then vanishes and the
    drone is parked (see :mod:`ltc_drones.envs.multi.base`). The team succeeds when every drone does.

    ## Observations, actions, rewards
    See :mod:`ltc_drones.envs.multi.base`; the goal and the look-at point are the drone's own target.

    ## Episode end
    Per drone: terminated on success or a crash (a collision crashes both drones); truncated at 15 s.
    """

    TASK = "multi-fly-to-target"

    def _build_task(self) -> None:
        s = self.scenario
        self.target_ids = [self.sim.world.add_visual_body(s.target_shape, s.target_size_m, s.target_color)
                           for _ in range(self.num_drones)]
        self.targets_m = np.zeros((self.num_drones, 3))

    def _task_reset(self, rng: np.random.Generator) -> list[RigidBodyState]:
        s = self.scenario
        heading = rng.uniform(-math.pi, math.pi)
        centre = np.array([rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0), 0.0])
        left = np.array([-math.sin(heading), math.cos(heading), 0.0])
        starts: list[RigidBodyState] = []
        self._starts_m = np.zeros((self.num_drones, 3))
        for i in range(self.num_drones):
            p = centre + (i - (self.num_drones - 1) / 2.0) * s.formation_spacing_m * left
            p[2] = rng.uniform(*s.start_height_m)
            yaw = heading + math.radians(rng.uniform(-10.0, 10.0))
            start = RigidBodyState.at_rest(p, euler_to_quat(0.0, 0.0, yaw))
            starts.append(start)
            self._starts_m[i] = p
            self.targets_m[i] = self._target_for(rng, start, self.targets_m[:i])
            self.sim.world.move_body(self.target_ids[i], self.targets_m[i])
        return starts

    def _target_for(self, rng: np.random.Generator, start: RigidBodyState, others: np.ndarray) -> np.ndarray:
        s = self.scenario
        yaw = math.atan2(start.R[1, 0], start.R[0, 0])
        for _ in range(100):
            d = rng.uniform(*s.start_distance_range_m)
            a = yaw + math.radians(rng.uniform(-s.start_bearing_deg, s.start_bearing_deg))
            p = start.pos_m + np.array([d * math.cos(a), d * math.sin(a), 0.0])
            p[2] = rng.uniform(*s.target_height_m)
            clear = all(np.linalg.norm(p - q) >= 1.0 for q in others)
            if clear and self.camera.sees(start, p):
                return p
        return p  # pragma: no cover - the ranges leave room for eight targets

    def goal_of(self, i: int) -> np.ndarray:
        return self.targets_m[i]

    def _layout_points_m(self) -> list[np.ndarray]:
        """Every drone's start and target in turn: the scenery keeps out of each start → target path."""
        return [p for i in range(self.num_drones) for p in (self._starts_m[i], self.targets_m[i])]

    def _agent_outcome(self, i: int) -> tuple[bool, bool]:
        reached = self._distance[i] <= self.scenario.success_radius_m
        if reached and not self._crashed[i]:
            self.sim.world.hide_body(self.target_ids[i])
        return reached, False
