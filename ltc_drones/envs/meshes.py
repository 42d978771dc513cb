"""Low-poly meshes of the world's context: trees, rocks and urban blocks.

Faceted: every triangle has its own three vertices and its face normal, so TinyRenderer shades each
facet flatly. Colours come from a texture atlas (``textures.draw_atlas``): a flat-colour part maps
all its vertices to the centre of one atlas cell, a facade maps its walls onto a window pattern.
Triangles are counter-clockwise seen from outside. Sizes in metres, z up, the base at z = 0.
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.world import TriangleMesh
from .textures import cell_uv, facade_uv


class MeshBuilder:
    """Collects faceted triangles with texture coordinates and builds a :class:`TriangleMesh`."""

    def __init__(self) -> None:
        self._tris: list[np.ndarray] = []
        self._uvs: list[np.ndarray] = []

    def triangle(self, a, b, c, uv=((0.0, 0.0),) * 3) -> None:
        self._tris.append(np.array([a, b, c], dtype=float))
        self._uvs.append(np.asarray(uv, dtype=float).reshape(-1, 2) * np.ones((3, 1)))

    def quad(self, a, b, c, d, uv=((0.0, 0.0),) * 4) -> None:
        """A quadrilateral a-b-c-d (counter-clockwise) as two triangles."""
        uv = np.asarray(uv, dtype=float).reshape(-1, 2) * np.ones((4, 1))
        self.triangle(a, b, c, uv[[0, 1, 2]])
        self.triangle(a, c, d, uv[[0, 2, 3]])

    def build(self, normal: np.ndarray | None = None) -> TriangleMesh:
        """The mesh with face normals, or one ``normal`` for every vertex (a dome lit evenly)."""
        verts = np.concatenate(self._tris)
        if normal is not None:
            normals = np.tile(np.asarray(normal, float), (len(verts), 1))
        else:
            t = np.stack(self._tris)
            face = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
            normals = np.repeat(face, 3, axis=0)
        normals = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        return TriangleMesh(verts, np.arange(len(verts)), np.concatenate(self._uvs), normals)


def _ring(radius: float, z: float, segments: int, phase: float = 0.0) -> list[np.ndarray]:
    return [np.array([radius * math.cos(phase + 2 * math.pi * k / segments),
                      radius * math.sin(phase + 2 * math.pi * k / segments), z]) for k in range(segments)]


def add_prism(mb: MeshBuilder, radius: float, z0: float, z1: float, uv, segments: int = 5) -> None:
    """The sides of an upright prism (a trunk)."""
    lo, hi = _ring(radius, z0, segments), _ring(radius, z1, segments)
    for k in range(segments):
        j = (k + 1) % segments
        mb.quad(lo[k], lo[j], hi[j], hi[k], [uv] * 4)


def add_cone(mb: MeshBuilder, radius: float, z0: float, z1: float, uv, segments: int = 7, phase: float = 0.0) -> None:
    """An upright cone with its base cap (a conifer's tier)."""
    base, apex, centre = _ring(radius, z0, segments, phase), np.array([0.0, 0.0, z1]), np.array([0.0, 0.0, z0])
    for k in range(segments):
        j = (k + 1) % segments
        mb.triangle(base[k], base[j], apex, [uv] * 3)
        mb.triangle(centre, base[j], base[k], [uv] * 3)


_PHI = (1 + math.sqrt(5)) / 2
_ICO_V = np.array([[-1, _PHI, 0], [1, _PHI, 0], [-1, -_PHI, 0], [1, -_PHI, 0], [0, -1, _PHI], [0, 1, _PHI],
                   [0, -1, -_PHI], [0, 1, -_PHI], [_PHI, 0, -1], [_PHI, 0, 1], [-_PHI, 0, -1], [-_PHI, 0, 1]])
_ICO_V = _ICO_V / np.linalg.norm(_ICO_V[0])
_ICO_F = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6),
          (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10),
          (8, 6, 7), (9, 8, 1)]


def add_blob(mb: MeshBuilder, centre, radii, uv, rng: np.random.Generator, jitter: float = 0.15) -> None:
    """A lumpy ellipsoid (icosahedron with jittered vertices): a broadleaf crown or a rock."""
    v = _ICO_V * (1.0 + rng.uniform(-jitter, jitter, (len(_ICO_V), 1)))
    v = v * np.asarray(radii) + np.asarray(centre)
    uvs = [uv] * 3 if not isinstance(uv, list) else None
    for a, b, c in _ICO_F:
        mb.triangle(v[a], v[b], v[c], uvs or [uv[0] if v[k][2] < centre[2] else uv[1] for k in (a, b, c)])


def conifer(height_m: float, rng: np.random.Generator) -> tuple[TriangleMesh, float]:
    """A conifer: a trunk and two cone tiers. Returns the mesh and its crown radius (m)."""
    mb = MeshBuilder()
    crown = 0.32 * height_m
    add_prism(mb, 0.09, 0.0, 0.35 * height_m, cell_uv("bark"))
    shade = cell_uv(f"foliage{int(rng.integers(3))}")
    add_cone(mb, crown, 0.2 * height_m, 0.8 * height_m, shade, phase=rng.uniform(0, 1))
    add_cone(mb, 0.7 * crown, 0.5 * height_m, height_m, shade, phase=rng.uniform(0, 1))
    return mb.build(), crown


def broadleaf(height_m: float, rng: np.random.Generator) -> tuple[TriangleMesh, float]:
    """A broadleaf tree: a trunk and a lumpy crown. Returns the mesh and its crown radius (m)."""
    mb = MeshBuilder()
    crown = 0.3 * height_m
    add_prism(mb, 0.1, 0.0, 0.55 * height_m, cell_uv("bark"))
    add_blob(mb, (0.0, 0.0, 0.68 * height_m), (crown, crown, 0.34 * height_m),
             cell_uv(f"foliage{int(rng.integers(3))}"), rng)
    return mb.build(), crown


def rock(size_m: float, rng: np.random.Generator) -> tuple[TriangleMesh, float]:
    """A rock half sunk into the ground, snow-capped in winter. Returns the mesh and its radius (m)."""
    mb = MeshBuilder()
    r = size_m / 2
    add_blob(mb, (0.0, 0.0, 0.1 * r), (r, 0.8 * r, 0.6 * r), [cell_uv("rock"), cell_uv("rock_top")], rng, 0.25)
    return mb.build(), r


def building(width_m: float, depth_m: float, height_m: float, wall: int) -> TriangleMesh:
    """An urban block: four facades with windows (4 floors) and a flat roof."""
    mb = MeshBuilder()
    w, d = width_m / 2, depth_m / 2
    corners = [np.array(p) for p in ((-w, -d), (w, -d), (w, d), (-w, d))]
    u0, u1, v0, v1 = facade_uv(wall)
    for k in range(4):
        a, b = corners[k], corners[(k + 1) % 4]
        mb.quad([*a, 0.0], [*b, 0.0], [*b, height_m], [*a, height_m], [(u0, v0), (u1, v0), (u1, v1), (u0, v1)])
    roof = cell_uv("roof")
    mb.quad(*([*c, height_m] for c in corners), [roof] * 4)
    return mb.build()
