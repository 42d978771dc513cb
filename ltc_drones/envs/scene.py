"""The world's context shared by the tasks: ground, sky, lighting, scenery, occluders, distractors.

Built once per env from its scenario and moved on reset, never rebuilt:
* a textured ground (grass in the season's colour, repeated every 8 m; the ``ground-texture``
  shift blends a checkerboard over it);
* a sky (TinyRenderer has no sky box): a panorama painted where no body is hit
  (:mod:`ltc_drones.sim.atmosphere`): a gradient, clouds and a distant forest edge or city skyline,
  turned to a random heading per episode;
* scenery (``scenery.Scenery``): trees, rocks or urban blocks kept out of the flight corridor;
* fog (:class:`ltc_drones.sim.atmosphere.Fog`), occluders (``scenery.Occluders``) and distractors
  when the scenario asks for them.

Segmentation: the painted sky stays sky (-1), scenery and occluders are ``SEG_SCENERY``
(:attr:`Scene.segmentation_classes`).
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.atmosphere import Fog, SkyBackdrop
from ..sim.world import Lighting, PyBulletWorld
from .camera import SEG_DISTRACTOR
from .scenario import Scenario
from .scenery import SEG_SCENERY, Occluders, Scenery
from .textures import atlas_texture_png, ground_texture_png, sky_panorama

__all__ = ["SEG_SCENERY", "Scene", "ground_texture_png"]


class Scene:
    """Ground, sky, lighting, scenery, occluders and distractors of a scenario, built once in a world."""

    def __init__(self, world: PyBulletWorld, scenario: Scenario) -> None:
        self.world = world
        self.scenario = s = scenario
        texture = ground_texture_png(s.ground_pattern, s.ground_pattern_mix, s.ground_color, s.season,
                                     grass=s.ground_texture == "grass")
        ground_rgba = (1.0, 1.0, 1.0, 1.0) if texture else s.ground_color
        world.set_ground(ground_rgba, texture)
        self.lighting = Lighting(direction=s.light_direction, ambient=s.light_ambient, diffuse=s.light_diffuse)
        world.sky = SkyBackdrop(sky_panorama(s.sky_color, s.foliage_color, s.season, s.urban_fraction))
        world.fog = Fog(s.fog_density_per_m, s.fog_color) if s.fog_density_per_m > 0 else None
        self.scenery = Scenery(world, s, atlas_texture_png(s.foliage_color, s.season))
        self.occluders = Occluders(world, s)
        colors = s.distractor_colors
        self.distractor_ids = [
            world.add_visual_body(s.distractor_shape, s.distractor_size_m, colors[k % len(colors)])
            for k in range(s.distractors)
        ]

    @property
    def segmentation_classes(self) -> dict[int, int]:
        """Body id -> segmentation class for the bodies the scene owns."""
        classes = {b: SEG_SCENERY for b in [*self.scenery.body_ids, *self.occluders.body_ids]}
        classes.update({b: SEG_DISTRACTOR for b in self.distractor_ids})
        return classes

    def place_distractors(
        self, rng: np.random.Generator, origin_m: np.ndarray, heading_rad: float, avoid_m: list[np.ndarray],
        scenery_rng: np.random.Generator | None = None, occluded_goal_m: np.ndarray | None = None,
    ) -> list[np.ndarray]:
        """Lay out the episode's world around the start and the goal points ``avoid_m`` (in flight order).

        Distractors go 1.5-6 m ahead within ±40° of the heading, ≥ 1 m from ``avoid_m``, drawn from
        ``rng``. Then, from ``scenery_rng`` (the episode's scenery stream; by default a stream spawned
        from ``rng`` without drawing from it): the sky's heading and the scenery, out of the
        corridor start → ``avoid_m``. Occluder posts stand in front of ``occluded_goal_m`` (default: the
        first goal point).

        Returns:
            The distractor positions.
        """
        placed = []
        for body in self.distractor_ids:
            for _ in range(50):
                r = rng.uniform(1.5, 6.0)
                a = heading_rad + math.radians(rng.uniform(-40.0, 40.0))
                p = origin_m + np.array([r * math.cos(a), r * math.sin(a), 0.0])
                p[2] = rng.uniform(0.3, 1.6)
                if all(np.linalg.norm(p - q) >= 1.0 for q in [*avoid_m, *placed]):
                    break
            placed.append(p)
            self.world.move_body(body, p)
        scenery_rng = scenery_rng if scenery_rng is not None else rng.spawn(1)[0]
        self.world.sky.yaw_rad = scenery_rng.uniform(-math.pi, math.pi)
        self.scenery.place(scenery_rng, origin_m, heading_rad, avoid_m, placed)
        if occluded_goal_m is not None or avoid_m:
            self.occluders.place(avoid_m[0] if occluded_goal_m is None else occluded_goal_m, origin_m)
        return placed

    def follow_goal(self, goal_m: np.ndarray) -> None:
        """Keep the occluders with the current goal (call after every step that may move it)."""
        self.occluders.follow(goal_m)
