"""Scenery: trees, rocks and urban blocks around (never in) the flight corridor, and occluder posts.

Bodies are built once per env (``Scenario.scenery_objects`` of them, a share ``urban_fraction``
urban blocks, the rest trees and rocks; each a single textured low-poly mesh with a primitive
collision shape, so touching one is a crash) and only moved on reset. Their layout (positions and
headings) is drawn per episode from the scenery random stream; their shapes are fixed per env.

Keep-out rules, so that no privileged expert is ever blocked (tests/envs/test_scene_world.py):
* every object keeps ``CORRIDOR_CLEARANCE_M`` plus its own radius from the flight corridor, the
  polyline from the start through every goal point (the target, the hold point, the markers in order);
* FollowTarget's target wanders: it turns back once ``FOLLOW_TURN_BACK * bounds_xy_m`` from the
  centre (``follow_target.py``), so the scenery keeps out of the square of half-size
  ``FOLLOW_TURN_BACK * bounds_xy_m + FOLLOW_MARGIN_M`` around the centre instead;
* objects stay inside the sky dome and clear of each other and of the distractors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..sim.rotation import euler_to_quat
from ..sim.world import HIDDEN_POS_M, CollisionPart, PyBulletWorld
from . import meshes
from .scenario import Scenario

SEG_SCENERY = 5
"""Segmentation class of scenery and occluder pixels (``camera.SEG_CLASSES`` numbers 0-4)."""
CORRIDOR_CLEARANCE_M = 1.5
FOLLOW_TURN_BACK = 0.6
FOLLOW_MARGIN_M = 2.8
"""The target overshoots the turn-back line by at most 1.2 m (400 seeds), and the drone trails it by ~1 m."""
PLACE_RANGE_M = (2.5, 18.0)
"""Distances from the start at which objects are placed."""
MAX_RADIUS_M = 19.5
"""Objects stay this close to the world's centre (inside the sky dome)."""
FORWARD_SHARE = 0.6
"""Share of placement attempts within ±50° of the start heading, so much of the scenery is in view."""
ATTEMPTS = 60


@dataclass(frozen=True)
class SceneryObject:
    """One scenery body: its PyBullet id, kind and horizontal radius (m)."""

    body: int
    kind: str
    radius_m: float


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Horizontal distance (m) from ``p`` to the segment ``a``-``b`` (only x, y count)."""
    p, a, b = p[:2], a[:2], b[:2]
    ab = b - a
    t = 0.0 if not ab.any() else float(np.clip((p - a) @ ab / (ab @ ab), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def corridor_distance(p: np.ndarray, polyline: list[np.ndarray]) -> float:
    """Horizontal distance (m) from ``p`` to a polyline (a single point counts as a polyline)."""
    if len(polyline) == 1:
        return float(np.linalg.norm(p[:2] - polyline[0][:2]))
    return min(point_segment_distance(p, a, b) for a, b in zip(polyline, polyline[1:], strict=False))


class Scenery:
    """The scenery bodies of a scenario, built once in ``world``.

    Args:
        world: the PyBullet world.
        scenario: ``scenery_objects``, ``urban_fraction``, ``task`` and ``bounds_xy_m`` are read.
        atlas_png: the texture atlas (``textures.atlas_texture_png``).
    """

    def __init__(self, world: PyBulletWorld, scenario: Scenario, atlas_png: str) -> None:
        self.world = world
        self.scenario = scenario
        n = scenario.scenery_objects
        urban = round(scenario.urban_fraction * n)
        self.objects = [self._build(k, k < urban, atlas_png) for k in range(n)]
        if scenario.task == "follow-target":
            self.keep_out_half_m: float | None = FOLLOW_TURN_BACK * scenario.bounds_xy_m + FOLLOW_MARGIN_M
        else:
            self.keep_out_half_m = None

    @property
    def body_ids(self) -> list[int]:
        return [o.body for o in self.objects]

    def _build(self, index: int, urban: bool, atlas_png: str) -> SceneryObject:
        shape_rng = np.random.default_rng(1000 + index)  # shapes are fixed per env, not per episode
        if urban:
            w, d, h = shape_rng.uniform(1.8, 3.5), shape_rng.uniform(1.8, 3.5), shape_rng.uniform(3.0, 7.0)
            mesh = meshes.building(w, d, h, int(shape_rng.integers(3)))
            parts = [CollisionPart("box", (w / 2, d / 2, h / 2), (0.0, 0.0, h / 2))]
            kind, radius = "building", math.hypot(w, d) / 2
        elif index % 4 == 3:
            mesh, radius = meshes.rock(shape_rng.uniform(0.6, 1.4), shape_rng)
            parts = [CollisionPart("cylinder", (radius, radius), (0.0, 0.0, radius / 2))]
            kind = "rock"
        else:
            height = shape_rng.uniform(2.6, 4.2)
            build = meshes.conifer if index % 2 == 0 else meshes.broadleaf
            mesh, radius = build(height, shape_rng)
            parts = [CollisionPart("cylinder", (radius, height), (0.0, 0.0, height / 2))]
            kind = "tree"
        body = self.world.add_mesh_body(mesh, atlas_png, collision=parts)
        return SceneryObject(body, kind, radius)

    def place(self, rng: np.random.Generator, origin_m: np.ndarray, heading_rad: float,
              goals_m: list[np.ndarray], avoid_m: list[np.ndarray]) -> list[np.ndarray]:
        """Place every object for a new episode; an object that finds no free spot waits hidden.

        Args:
            rng: the scenery stream.
            origin_m: the drone's start position.
            heading_rad: the drone's start heading.
            goals_m: the goal points in the order they are flown to (the corridor is start → goals).
            avoid_m: other points to keep 0.5 m plus the object's radius away from (distractors).

        Returns:
            The positions of the placed objects (hidden ones left out).
        """
        corridor = [np.asarray(origin_m, float), *(np.asarray(g, float) for g in goals_m)]
        placed: list[tuple[np.ndarray, float]] = []
        for obj in self.objects:
            spot = self._find_spot(rng, obj.radius_m, corridor, heading_rad, placed, avoid_m)
            if spot is None:
                self.world.move_body(obj.body, HIDDEN_POS_M)
                continue
            placed.append((spot, obj.radius_m))
            yaw = rng.uniform(-math.pi, math.pi)
            self.world.move_body(obj.body, spot, euler_to_quat(0.0, 0.0, yaw))
        return [p for p, _ in placed]

    def _find_spot(self, rng, radius, corridor, heading, placed, avoid) -> np.ndarray | None:
        origin = corridor[0]
        for _ in range(ATTEMPTS):
            forward = rng.uniform() < FORWARD_SHARE
            a = heading + (rng.uniform(-0.9, 0.9) if forward else rng.uniform(-math.pi, math.pi))
            r = rng.uniform(*PLACE_RANGE_M)
            p = np.array([origin[0] + r * math.cos(a), origin[1] + r * math.sin(a), 0.0])
            if self.allowed(p, radius, corridor) and \
                    all(np.linalg.norm(p[:2] - q[:2]) >= radius + rq + 0.5 for q, rq in placed) and \
                    all(np.linalg.norm(p[:2] - np.asarray(q)[:2]) >= radius + 0.5 for q in avoid):
                return p
        return None

    def allowed(self, p: np.ndarray, radius: float, corridor: list[np.ndarray]) -> bool:
        """Whether an object of ``radius`` at ``p`` keeps out of the corridor (and follow area) and in the dome."""
        if math.hypot(p[0], p[1]) + radius > MAX_RADIUS_M:
            return False
        if corridor_distance(p, corridor) < CORRIDOR_CLEARANCE_M + radius:
            return False
        half = self.keep_out_half_m
        return half is None or max(abs(p[0]), abs(p[1])) >= half + radius


class Occluders:
    """Solid posts on an arc in front of the goal, as seen from the previous viewpoint.

    The arc has radius ``target_size_m / 2 + 0.06`` around the goal, inside the success radius, so
    the straight path to success stays free; post ``j`` of ``n`` stands at angle
    ``ARC_STEP_DEG · (j − (n − 1) / 2)`` off the line of sight. The posts follow a moving goal
    (keeping their bearing) and move on, facing the last goal, when the goal jumps (the next marker).
    Hover has no visible goal, so its scenario builds no posts.
    """

    ARC_STEP_DEG = 24.0
    HEIGHT_M = 2.2
    COLOR = (0.55, 0.5, 0.45, 1.0)
    JUMP_M = 0.5
    """A goal that moves more than this in one step has jumped (the next marker)."""

    def __init__(self, world: PyBulletWorld, scenario: Scenario) -> None:
        self.world = world
        n = scenario.occluders if scenario.task != "hover" else 0
        self.body_ids = [world.add_solid_cylinder(scenario.occluder_radius_m, self.HEIGHT_M, self.COLOR)
                         for _ in range(n)]
        self.arc_radius_m = scenario.target_size_m / 2 + 0.06
        self._angles = [math.radians(self.ARC_STEP_DEG * (j - (n - 1) / 2)) for j in range(n)]
        self._goal = np.zeros(3)
        self._facing = 0.0

    def place(self, goal_m: np.ndarray, viewpoint_m: np.ndarray) -> None:
        """Stand the posts in front of ``goal_m`` as seen from ``viewpoint_m``."""
        d = np.asarray(viewpoint_m, float) - goal_m
        self._facing = math.atan2(d[1], d[0])
        self._goal = np.array(goal_m, float)
        self._move()

    def follow(self, goal_m: np.ndarray) -> None:
        """Keep the posts with the goal: translate with a moving goal, re-face after a jump."""
        if not self.body_ids:
            return
        if np.linalg.norm(goal_m[:2] - self._goal[:2]) > self.JUMP_M:
            self.place(goal_m, self._goal)
        else:
            self._goal = np.array(goal_m, float)
            self._move()

    def positions_m(self) -> list[np.ndarray]:
        g, r = self._goal, self.arc_radius_m
        return [np.array([g[0] + r * math.cos(self._facing + a), g[1] + r * math.sin(self._facing + a), 0.0])
                for a in self._angles]

    def _move(self) -> None:
        for body, p in zip(self.body_ids, self.positions_m(), strict=True):
            self.world.move_body(body, p)
