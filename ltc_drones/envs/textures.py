"""Procedural textures of the world (ground, sky, scenery), drawn with numpy and cached as PNG files.

Every texture is a pure function of its parameters: it is drawn once per user and parameter set,
written atomically into ``<cache>/textures/`` (:func:`ltc_drones.resources.cache_dir`) under a name
that hashes the parameters, and loaded from there by PyBullet. Noise comes from a generator with a
fixed seed, so a texture never depends on an episode.

Colours follow the season (``Scenario.season``: 0 summer, 0.5 autumn, 1 winter snow) by linear
interpolation between key colours.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable

import numpy as np

from ..atomic import write_atomic
from ..resources import cache_dir
from ..sim.atmosphere import SIN_BOTTOM

TEXTURE_VERSION = 1
"""Bump when a drawing changes, so caches written by older code are not reused."""
GROUND_PX = 256
CHECKER_TILE_PX = 32
"""The ground texture spans 8 m (``world.GROUND_TEXTURE_PERIOD_M``): checker tiles of 1 m."""
SKY_SIZE_PX = (256, 1024)
"""Rows (sin(elevation) from 1 to ``SIN_BOTTOM``) and columns (one turn of azimuth) of the sky panorama."""
SKYLINE_SIN = (0.08, 0.13)
"""sin of the highest elevation of the distant forest edge (4.6°) and city skyline (7.5°)."""
ATLAS_PX = 64

AUTUMN_GROUND = (0.56, 0.47, 0.24)
AUTUMN_FOLIAGE = (0.86, 0.42, 0.1)
SNOW = (0.93, 0.94, 0.97)
SNOW_FOLIAGE = (0.84, 0.88, 0.9)
BARK = (0.36, 0.26, 0.17)
ROCK = (0.5, 0.5, 0.48)
ROOF = (0.3, 0.3, 0.33)
WALLS = ((0.72, 0.7, 0.66), (0.62, 0.38, 0.3), (0.83, 0.77, 0.62))
"""Concrete, brick and sandstone walls of the urban blocks."""
WINDOW = (0.16, 0.2, 0.28)


def seasonal(summer, autumn, winter, season: float) -> np.ndarray:
    """The colour of a season in [0, 1]: summer (0) to autumn (0.5) to winter (1), linearly (RGB)."""
    summer, autumn, winter = (np.asarray(c, float)[:3] for c in (summer, autumn, winter))
    if season <= 0.5:
        return summer + (autumn - summer) * (season / 0.5)
    return autumn + (winter - autumn) * ((season - 0.5) / 0.5)


def cached_png(kind: str, params: dict, draw: Callable[[], np.ndarray]) -> str:
    """Path of the texture ``kind`` with ``params``: drawn by ``draw()`` (uint8 (H, W, 3)) on first use."""
    import imageio.v3 as iio

    key = json.dumps({"v": TEXTURE_VERSION, **params}, sort_keys=True, default=lambda x: np.round(x, 4).tolist())
    folder = cache_dir() / "textures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}_{hashlib.sha1(key.encode()).hexdigest()[:12]}.png"
    if not path.is_file():
        img = draw()
        write_atomic(path, lambda tmp: iio.imwrite(tmp, img), suffix=".png")
    return str(path)


def periodic_noise(rng: np.random.Generator, size_px: int, scale_px: float) -> np.ndarray:
    """Smooth noise that tiles seamlessly (white noise low-passed in Fourier space), zero mean, unit std."""
    white = rng.standard_normal((size_px, size_px))
    k = np.fft.fftfreq(size_px)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    smooth = np.fft.ifft2(np.fft.fft2(white) * np.exp(-k2 * (np.pi * scale_px) ** 2)).real
    return (smooth - smooth.mean()) / (smooth.std() + 1e-12)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def _pattern(kind: str, n: int) -> np.ndarray:
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    if kind == "checker":
        mask = (ii // CHECKER_TILE_PX + jj // CHECKER_TILE_PX) % 2 == 1
    elif kind == "stripes":
        mask = (ii // CHECKER_TILE_PX) % 2 == 1
    else:
        raise ValueError(f"unknown ground pattern {kind!r}; choose 'checker' or 'stripes'")
    # The former checker texture's light and dark squares (8-bit 235 and 40).
    return np.where(mask[..., None], 235.0 / 255.0, 40.0 / 255.0) * np.ones(3)


def draw_ground(color, season: float, grass: bool, pattern: str, pattern_mix: float) -> np.ndarray:
    """The ground (``GROUND_PX``² RGB uint8): grass in patches of about 1.5 m (or a flat colour) in the
    season's colour, with a black-and-white ``pattern`` blended over it by ``pattern_mix``."""
    n = GROUND_PX
    base = seasonal(color, AUTUMN_GROUND, SNOW, season)
    img = np.ones((n, n, 3)) * base
    if grass:
        rng = np.random.default_rng(7)
        patches, tufts, dry = (periodic_noise(rng, n, s) for s in (40.0, 6.0, 24.0))
        shade = 1.0 + 0.13 * patches + 0.06 * tufts
        dryness = np.clip(0.5 + 0.35 * dry, 0.0, 1.0)[..., None] * (1.0 - season)  # no dry grass under snow
        dry_color = 0.6 * base + 0.4 * np.array([0.7, 0.62, 0.35])
        img = (img * (1 - 0.5 * dryness) + dry_color * 0.5 * dryness) * shade[..., None]
    if pattern != "none" and pattern_mix > 0:
        img = (1.0 - pattern_mix) * img + pattern_mix * _pattern(pattern, n)
    return _to_uint8(img)


def ground_texture_png(pattern: str = "none", pattern_mix: float = 1.0, color=(0.36, 0.52, 0.26),
                       season: float = 0.0, grass: bool = False) -> str | None:
    """Path of the ground texture, or ``None`` for a plain ground (no grass and no pattern)."""
    if not grass and (pattern == "none" or pattern_mix == 0):
        return None
    params = {"color": list(color)[:3], "season": season, "grass": grass, "pattern": pattern, "mix": pattern_mix}
    return cached_png("ground", params, lambda: draw_ground(color, season, grass, pattern, pattern_mix))


def _treeline(rng: np.random.Generator, width: int, top: float) -> np.ndarray:
    """sin(elevation) of a distant forest edge per column: overlapping conifer spikes up to ``top``."""
    h = np.zeros(width)
    cols = np.arange(width)
    for _ in range(width // 3):
        centre, half, peak = rng.uniform(0, width), rng.uniform(3, 10), rng.uniform(0.35, 1.0) * top
        d = np.minimum(np.abs(cols - centre), width - np.abs(cols - centre))  # wraps around the turn
        h = np.maximum(h, peak * np.clip(1 - d / half, 0, 1))
    return h


def _skyline(rng: np.random.Generator, width: int, top: float) -> np.ndarray:
    """sin(elevation) of a distant city skyline per column: blocks of random width and height up to ``top``."""
    h = np.zeros(width)
    x = 0
    while x < width:
        w = int(rng.integers(10, 40))
        h[x:x + w] = rng.uniform(0.25, 1.0) * top
        x += w + int(rng.integers(0, 6))
    return h


@functools.lru_cache(maxsize=16)
def _sky_panorama(sky_rgb: tuple, foliage_rgb: tuple, season: float, urban_fraction: float) -> np.ndarray:
    rows, width = SKY_SIZE_PX
    rng = np.random.default_rng(11)
    sin_el = 1.0 - (1.0 - SIN_BOTTOM) * np.arange(rows) / (rows - 1)
    elevation = (np.arcsin(np.clip(sin_el, 0.0, 1.0)) / (np.pi / 2))[:, None, None]
    zenith = np.asarray(sky_rgb, float)
    horizon = 0.45 * zenith + 0.55 * np.array([0.92, 0.94, 0.96])
    img = np.broadcast_to(horizon + (zenith - horizon) * np.sqrt(elevation), (rows, width, 3)).copy()
    clouds = np.clip(periodic_noise(rng, width, 30.0)[:rows] - 0.6, 0, None)[..., None]
    img += (1.0 - img) * np.clip(clouds * 0.8, 0, 0.85) * np.clip(elevation * 8 - 0.5, 0, 1)
    trees, city = _treeline(rng, width, SKYLINE_SIN[0]), _skyline(rng, width, SKYLINE_SIN[1])
    urban = np.repeat(rng.permutation(16) < round(16 * urban_fraction), width // 16)
    height = np.where(urban, city, trees)
    forest_color = 0.55 * seasonal(foliage_rgb, AUTUMN_FOLIAGE, SNOW_FOLIAGE, season)
    color = np.where(urban[:, None], np.array([0.45, 0.48, 0.55]), forest_color)
    covered = sin_el[:, None] < height[None, :]
    img[covered] = np.broadcast_to(color, (rows, width, 3))[covered]
    panorama = _to_uint8(img)
    panorama.setflags(write=False)  # shared by every env of the process (cached)
    return panorama


def sky_panorama(sky_color, foliage, season: float, urban_fraction: float) -> np.ndarray:
    """The sky (``SKY_SIZE_PX`` RGB uint8, rows by sin(elevation) from 1 down to ``atmosphere.SIN_BOTTOM``,
    columns one turn of azimuth): a gradient from a pale horizon to ``sky_color``, soft clouds, and a
    distant forest edge in the season's colours or city blocks (in a share ``urban_fraction`` of the turn)."""
    return _sky_panorama(tuple(float(c) for c in sky_color[:3]), tuple(float(c) for c in foliage[:3]),
                         float(season), float(urban_fraction))


# ---- the scenery atlas: flat colour cells, and window facades ------------------------------------
ATLAS_CELLS = {"bark": (0, 0), "foliage0": (0, 1), "foliage1": (0, 2), "foliage2": (0, 3), "rock": (1, 0),
               "roof": (1, 1), "rock_top": (1, 2)}
"""Flat-colour cells (row, column) of a 4 × 4 grid over the atlas's top half; the bottom half holds
the facades (``facade_uv``)."""


def cell_uv(name: str) -> tuple[float, float]:
    """Texture coordinate of the centre of an atlas cell (v grows upward from the image's bottom)."""
    row, col = ATLAS_CELLS[name]
    return (col + 0.5) / 4, 1.0 - (row + 0.5) / 8


def facade_uv(wall: int) -> tuple[float, float, float, float]:
    """``(u0, u1, v0, v1)`` of the facade of wall style ``wall``: one third of the bottom half each."""
    return wall / 3, (wall + 1) / 3, 0.0, 0.5


def draw_atlas(foliage, season: float) -> np.ndarray:
    """The scenery atlas (``ATLAS_PX``² RGB uint8): bark, three foliage shades, rock, roof, and three
    window facades (3 columns × 4 floors each)."""
    n = ATLAS_PX
    img = np.zeros((n, n, 3))
    leaf = seasonal(foliage, AUTUMN_FOLIAGE, SNOW_FOLIAGE, season)
    snow = max(0.0, 2 * season - 1.0)  # snow on rocks and roofs in late autumn and winter
    rock, roof, white = np.array(ROCK), np.array(ROOF), np.array(SNOW)
    colors = {"bark": np.array(BARK), "rock": rock, "rock_top": (1 - snow) * rock + snow * white,
              "roof": (1 - snow) * roof + snow * white}
    for k, shade in enumerate((0.85, 1.0, 1.15)):
        # Autumn mixes hues: the shades drift toward yellow and red as well as in brightness.
        tint = np.array([1.0, 1.0 + 0.25 * (k - 1) * min(season, 1 - season) * 2, 1.0])
        colors[f"foliage{k}"] = np.clip(leaf * shade * tint, 0, 1)
    cell = n // 4
    for name, (row, col) in ATLAS_CELLS.items():
        img[row * cell // 2:(row + 1) * cell // 2, col * cell:(col + 1) * cell] = colors[name]
    half, third = n // 2, n // 3
    for w, wall in enumerate(WALLS):
        u0 = w * third
        facade = np.ones((half, third, 3)) * wall
        for floor in range(4):
            for column in range(3):
                r0, c0 = floor * half // 4 + 3, column * third // 3 + 2
                facade[r0:r0 + half // 4 - 6, c0:c0 + third // 3 - 4] = WINDOW
        img[half:, u0:u0 + third] = facade
    return _to_uint8(img)


def atlas_texture_png(foliage, season: float) -> str:
    return cached_png("atlas", {"foliage": list(foliage)[:3], "season": season}, lambda: draw_atlas(foliage, season))
