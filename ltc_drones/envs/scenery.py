"""Scenery: trees, rocks and urban blocks around (never in) the flight corridor, and occluder posts.

Bodies are built once per env (``Scenario.scenery_objects`` of them, a share ``urban_fraction``
urban blocks, the rest trees and rocks; each a single textured low-poly mesh with a primitive
collision shape, so touching one is a crash) and only moved on reset. Their layout (positions and
headings) is drawn per episode from the scenery random stream; their shapes are fixed per env.

Layout: objects stand on slots, ``SLOT_SPACING_M`` apart on rings of ``RING_RADII_M`` around the
start; per episode each ring turns by a random angle, each slot is jittered, and the objects take
the free slots in a random order that prefers slots within ±50° of the start heading (so much of the
scenery is in view). Slots that far apart never let two objects overlap, so no pairwise checks are
needed and a reset costs a few numpy operations and a fixed number of draws.

Keep-out rules, so that no privileged expert is ever blocked (tests/envs/test_scene_world.py): a
slot is free when an object of the largest radius there keeps
* ``CORRIDOR_CLEARANCE_M`` from the flight corridor, the polyline from the start through every goal
  point (the target, the hold point, the markers in order);
* FollowTarget's target (and MultiFollow's leader, with 0.3 m more and the formation's radius beyond
  1 m added) wanders: it turns back once ``FOLLOW_TURN_BACK * bounds_xy_m`` from the
  centre (``follow_target.py``), so there the scenery keeps out of the square of half-size
  ``FOLLOW_TURN_BACK * bounds_xy_m + FOLLOW_MARGIN_M`` around the centre instead;
* 0.5 m from the distractors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..sim.world import HIDDEN_POS_M, CollisionPart, PyBulletWorld
from . import meshes
from .scenario import OCCLUDER_GAP_M, Scenario

SEG_SCENERY = 5
"""Segmentation class of scenery and occluder pixels (``camera.SEG_CLASSES`` numbers 0-4 and 6)."""
CORRIDOR_CLEARANCE_M = 1.5
FOLLOW_TURN_BACK = 0.6
FOLLOW_MARGIN_M = 2.8
"""The target overshoots the turn-back line by at most 1.2 m (400 seeds), and the drone trails it by ~1 m."""
RING_RADII_M = (4.0, 9.0, 14.0, 19.0, 24.0)
SLOT_SPACING_M = 5.0
JITTER_M = (0.5, 0.3)
"""Radial and tangential jitter of a slot (±): slots stay 4 m apart, more than two of the largest
objects (2 m radius) need."""
FORWARD_RAD = 0.9


def _slots() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ring radius, base angle and ring index of every slot."""
    radius, angle, ring = [], [], []
    for k, r in enumerate(RING_RADII_M):
        n = int(math.pi / math.asin(SLOT_SPACING_M / 2 / r))  # chord between neighbours >= the spacing
        radius += [r] * n
        angle += [2 * math.pi * j / n for j in range(n)]
        ring += [k] * n
    return np.array(radius), np.array(angle), np.array(ring)


SLOT_RADIUS_M, SLOT_ANGLE_RAD, SLOT_RING = _slots()


@dataclass(frozen=True)
class SceneryObject:
    """One scenery body: its PyBullet id, kind and horizontal radius (m)."""

    body: int
    kind: str
    radius_m: float


def corridor_distance(points_m: np.ndarray, polyline: list[np.ndarray]) -> np.ndarray:
    """Horizontal distance (m) from each point (..., 2 or 3) to a polyline (one point is a polyline too)."""
    p = np.asarray(points_m, float)[..., :2]
    corners = [np.asarray(q, float)[:2] for q in polyline]
    best = np.min([np.linalg.norm(p - c, axis=-1) for c in corners], axis=0)
    for a, b in zip(corners, corners[1:], strict=False):
        ab = b - a
        if ab @ ab > 0:
            t = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
            best = np.minimum(best, np.linalg.norm(p - (a + t[..., None] * ab), axis=-1))
    return best


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
        self.max_radius_m = max((o.radius_m for o in self.objects), default=0.0)
        if scenario.task in ("follow-target", "multi-follow"):
            # MultiFollow's followers fly on an arc of formation_radius_m around the leader, not ~1 m behind it.
            extra = max(0.0, scenario.formation_radius_m - 1.0) + 0.3 if scenario.task == "multi-follow" else 0.0
            self.keep_out_half_m: float | None = FOLLOW_TURN_BACK * scenario.bounds_xy_m + FOLLOW_MARGIN_M + extra
        else:
            self.keep_out_half_m = None

    @property
    def body_ids(self) -> list[int]:
        return [o.body for o in self.objects]

    def _build(self, index: int, urban: bool, atlas_png: str) -> SceneryObject:
        shape_rng = np.random.default_rng(1000 + index)  # shapes are fixed per env, not per episode
        if urban:
            w, d, h = shape_rng.uniform(1.8, 2.8), shape_rng.uniform(1.8, 2.8), shape_rng.uniform(3.0, 7.0)
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
              goals_m: list[np.ndarray], avoid_m: list[np.ndarray]) -> np.ndarray:
        """Place every object for a new episode; objects left without a free slot wait hidden.

        Args:
            rng: the scenery stream (the same number of draws every episode).
            origin_m: the drone's start position.
            heading_rad: the drone's start heading.
            goals_m: the goal points in the order they are flown to (the corridor is start → goals).
            avoid_m: other points to keep 0.5 m plus the largest radius away from (distractors).

        Returns:
            The positions (n, 3) of the placed objects, in the order of :attr:`objects` (hidden ones left out).
        """
        u = rng.random((len(SLOT_RADIUS_M), 3))
        turn = rng.uniform(0.0, 2 * math.pi, len(RING_RADII_M))
        yaw = rng.uniform(-math.pi, math.pi, len(self.objects))
        radius = SLOT_RADIUS_M + (2 * u[:, 0] - 1) * JITTER_M[0]
        off_heading = SLOT_ANGLE_RAD + turn[SLOT_RING] + (2 * u[:, 1] - 1) * JITTER_M[1] / SLOT_RADIUS_M
        angle = heading_rad + off_heading
        xy = np.asarray(origin_m, float)[:2] + radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        forward = np.abs(np.remainder(off_heading + math.pi, 2 * math.pi) - math.pi) < FORWARD_RAD
        order = np.argsort(u[:, 2] - forward)  # every free forward slot first, in random order
        free = self.free(xy, [np.asarray(origin_m, float), *goals_m], avoid_m)
        chosen = order[free[order]][: len(self.objects)]
        spots = xy[chosen].tolist()
        half_yaw = (0.5 * yaw).tolist()
        for k, obj in enumerate(self.objects):
            if k < len(spots):
                pose = (spots[k][0], spots[k][1], 0.0), (0.0, 0.0, math.sin(half_yaw[k]), math.cos(half_yaw[k]))
                self.world.move_body(obj.body, *pose)
            else:
                self.world.move_body(obj.body, HIDDEN_POS_M)
        return np.column_stack([xy[chosen], np.zeros(len(chosen))])

    def free(self, xy: np.ndarray, corridor: list[np.ndarray], avoid_m: list[np.ndarray]) -> np.ndarray:
        """Which positions (N, 2) keep an object of the largest radius out of the corridor (and the
        follow area) and off the distractors."""
        r = self.max_radius_m
        ok = corridor_distance(xy, corridor) >= CORRIDOR_CLEARANCE_M + r
        if self.keep_out_half_m is not None:
            ok &= np.abs(xy).max(axis=1) >= self.keep_out_half_m + r
        for q in avoid_m:
            ok &= np.linalg.norm(xy - np.asarray(q, float)[:2], axis=1) >= r + 0.5
        return ok


class Occluders:
    """Solid posts on an arc in front of the goal, as seen from the previous viewpoint.

    The arc has radius ``target_size_m / 2 + OCCLUDER_GAP_M`` around the goal, inside the success
    radius (``Scenario`` checks it), so the straight path to success stays free; post ``j`` of ``n`` stands at angle
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
        self.arc_radius_m = scenario.target_size_m / 2 + OCCLUDER_GAP_M
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
