"""Scene dressing shared by the tasks: target-like bodies, distractors, ground and lighting."""

from __future__ import annotations

import math

import numpy as np

from ..atomic import write_atomic
from ..resources import cache_dir
from ..sim.world import Lighting, PyBulletWorld
from .scenario import Scenario


def ground_texture_png(kind: str) -> str | None:
    """Path of a generated ground texture (written once per user, atomically, in the per-user cache)."""
    if kind == "none":
        return None
    folder = cache_dir() / "textures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}_v1.png"
    if path.is_file():
        return str(path)
    import imageio.v3 as iio

    n, tile = 256, 32
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    if kind == "checker":
        mask = ((ii // tile + jj // tile) % 2).astype(bool)
    elif kind == "stripes":
        mask = ((ii // tile) % 2).astype(bool)
    else:
        raise ValueError(f"unknown ground texture {kind!r}")
    img = np.where(mask[..., None], np.array([235, 235, 235], np.uint8), np.array([40, 40, 40], np.uint8))
    write_atomic(path, lambda tmp: iio.imwrite(tmp, img.astype(np.uint8)), suffix=".png")
    return str(path)


class Scene:
    """Ground, lighting and distractors of a scenario, built once in a world."""

    def __init__(self, world: PyBulletWorld, scenario: Scenario) -> None:
        self.world = world
        self.scenario = scenario
        s = scenario
        pattern = s.ground_pattern if s.ground_pattern_mix > 0 else "none"
        ground_rgba = s.ground_color if pattern == "none" else (1.0, 1.0, 1.0, 1.0)
        world.set_ground(ground_rgba, ground_texture_png(pattern))
        self.lighting = Lighting(direction=s.light_direction, ambient=s.light_ambient, diffuse=s.light_diffuse)
        colors = s.distractor_colors
        self.distractor_ids = [
            world.add_visual_body(s.distractor_shape, s.distractor_size_m, colors[k % len(colors)])
            for k in range(s.distractors)
        ]

    def place_distractors(
        self, rng: np.random.Generator, origin_m: np.ndarray, heading_rad: float, avoid_m: list[np.ndarray]
    ) -> list[np.ndarray]:
        """Scatter distractors 1.5-6 m ahead within ±40° of the heading, ≥ 1 m from ``avoid_m``."""
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
        return placed
