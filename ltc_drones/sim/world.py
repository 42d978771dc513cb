"""The PyBullet world: ground, drones and visual-only objects, built once and moved on reset.

Facts this relies on (PyBullet's behaviour, measured): default link damping is on and must be
switched off; external forces are cleared by every ``stepSimulation``; moving a body costs about
a microsecond while reloading one costs tens of milliseconds, so nothing is ever reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pybullet as pb

from .atmosphere import Fog, SkyBackdrop, depth_m
from .params import QuadrotorParams
from .state import RigidBodyState

Shape = Literal["sphere", "box", "cylinder"]
HIDDEN_POS_M = (0.0, 0.0, -100.0)  # where unused visual bodies wait, far below the ground
GROUND_HALF_SIZE_M = 40.0
GROUND_TEXTURE_PERIOD_M = 8.0
"""The ground texture repeats every 8 m (TinyRenderer wraps texture coordinates)."""


class TriangleMesh(NamedTuple):
    """A visual mesh: vertices (N, 3) m in the body frame, triangle indices (3M,) counter-clockwise seen
    from outside, texture coordinates (N, 2) and vertex normals (N, 3)."""

    vertices: np.ndarray
    indices: np.ndarray
    uvs: np.ndarray
    normals: np.ndarray


class CollisionPart(NamedTuple):
    """One primitive of a solid body's collision shape: a z-aligned ``"cylinder"`` (size = radius,
    height) or a ``"box"`` (size = half extents x, y, z), centred at ``offset_m`` in the body frame."""

    shape: Literal["cylinder", "box"]
    size_m: tuple[float, ...]
    offset_m: tuple[float, float, float]


@dataclass(frozen=True)
class Lighting:
    """TinyRenderer lighting for camera images."""

    direction: tuple[float, float, float] = (0.4, -0.3, 1.0)
    ambient: float = 0.6
    diffuse: float = 0.35
    specular: float = 0.05
    shadow: bool = False

    def __post_init__(self) -> None:
        for name in ("ambient", "diffuse", "specular"):
            if not 0.0 <= getattr(self, name) <= 2.0:
                raise ValueError(f"lighting {name} must lie in [0, 2], got {getattr(self, name)}")


class PyBulletWorld:
    """A PyBullet physics client in DIRECT mode holding the ground and ``num_drones`` drones.

    Args:
        params: vehicle parameters (collision cylinder, mass, inertia).
        num_drones: how many drone bodies to build.
        physics_dt_s: Bullet's fixed time step.
    """

    def __init__(self, params: QuadrotorParams, num_drones: int, physics_dt_s: float) -> None:
        if num_drones < 1:
            raise ValueError(f"num_drones must be >= 1, got {num_drones}")
        self.params = params
        self.cid = pb.connect(pb.DIRECT)
        c = self.cid
        pb.setGravity(0.0, 0.0, -params.gravity_mps2, physicsClientId=c)
        pb.setTimeStep(physics_dt_s, physicsClientId=c)
        ground_col = pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=c)
        h, reps = GROUND_HALF_SIZE_M, 2 * GROUND_HALF_SIZE_M / GROUND_TEXTURE_PERIOD_M
        ground_mesh = TriangleMesh(np.array([[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]]),
                                   np.array([0, 1, 2, 0, 2, 3]), np.array([[0, 0], [reps, 0], [reps, reps], [0, reps]]),
                                   np.tile([0.0, 0.0, 1.0], (4, 1)))
        ground_vis = self._visual_mesh(ground_mesh, (0.45, 0.55, 0.4, 1.0))
        self.ground_id = pb.createMultiBody(0.0, ground_col, ground_vis, [0.0, 0.0, -0.001], physicsClientId=c)
        col = pb.createCollisionShape(
            pb.GEOM_CYLINDER, radius=params.collision_radius_m, height=params.collision_height_m, physicsClientId=c
        )
        vis = pb.createVisualShape(
            pb.GEOM_CYLINDER, radius=params.collision_radius_m, length=params.collision_height_m,
            rgbaColor=[0.15, 0.15, 0.18, 1.0], physicsClientId=c,
        )
        self.drone_ids: list[int] = []
        for i in range(num_drones):
            body = pb.createMultiBody(params.mass_kg, col, vis, [2.0 * i, 0.0, 1.0], physicsClientId=c)
            pb.changeDynamics(
                body, -1, linearDamping=0.0, angularDamping=0.0,
                localInertiaDiagonal=list(params.inertia_kgm2), physicsClientId=c,
            )
            self.drone_ids.append(body)
        self._drone_index = {body: i for i, body in enumerate(self.drone_ids)}
        self._solid_ids: list[int] = [self.ground_id]
        self._texture_cache: dict[str, int] = {}
        self.sky: SkyBackdrop | None = None
        """Painted where no body is hit (:mod:`ltc_drones.sim.atmosphere`); ``None`` leaves the renderer's white."""
        self.fog: Fog | None = None
        """Applied to every rendered image when set (onboard and chase views alike)."""

    # ---- scene objects ----------------------------------------------------------------------
    def add_visual_body(self, shape: Shape, size_m: float, rgba) -> int:
        """A visual-only body (no collision shape): it can be seen but never hit."""
        c = self.cid
        if shape == "sphere":
            vis = pb.createVisualShape(pb.GEOM_SPHERE, radius=size_m / 2, rgbaColor=list(rgba), physicsClientId=c)
        elif shape == "box":
            vis = pb.createVisualShape(
                pb.GEOM_BOX, halfExtents=[size_m / 2] * 3, rgbaColor=list(rgba), physicsClientId=c
            )
        elif shape == "cylinder":
            vis = pb.createVisualShape(
                pb.GEOM_CYLINDER, radius=size_m / 2, length=size_m, rgbaColor=list(rgba), physicsClientId=c
            )
        else:
            raise ValueError(f"unknown shape {shape!r}; choose one of 'sphere', 'box', 'cylinder'")
        return pb.createMultiBody(0.0, -1, vis, list(HIDDEN_POS_M), physicsClientId=c)

    def _visual_mesh(self, mesh: TriangleMesh, rgba) -> int:
        return pb.createVisualShape(
            pb.GEOM_MESH, vertices=np.asarray(mesh.vertices, float).tolist(),
            indices=np.asarray(mesh.indices, int).tolist(), uvs=np.asarray(mesh.uvs, float).tolist(),
            normals=np.asarray(mesh.normals, float).tolist(), rgbaColor=list(rgba), physicsClientId=self.cid,
        )

    def add_mesh_body(self, mesh: TriangleMesh, texture_png: str | None = None, rgba=(1.0, 1.0, 1.0, 1.0),
                      collision: list[CollisionPart] | None = None) -> int:
        """A static body drawn as ``mesh`` (optionally textured; ``rgba`` tints it), waiting hidden below
        the ground. With ``collision`` parts it is solid (touching it is a crash), else visual only."""
        c = self.cid
        col = -1
        if collision:
            types = [pb.GEOM_CYLINDER if p.shape == "cylinder" else pb.GEOM_BOX for p in collision]
            col = pb.createCollisionShapeArray(
                types, radii=[p.size_m[0] if p.shape == "cylinder" else 0.0 for p in collision],
                lengths=[p.size_m[1] if p.shape == "cylinder" else 0.0 for p in collision],
                halfExtents=[list(p.size_m) if p.shape == "box" else [0.0] * 3 for p in collision],
                collisionFramePositions=[list(p.offset_m) for p in collision], physicsClientId=c,
            )
        body = pb.createMultiBody(0.0, col, self._visual_mesh(mesh, rgba), list(HIDDEN_POS_M),
                                  useMaximalCoordinates=True, physicsClientId=c)  # see add_solid_cylinder
        if texture_png is not None:
            pb.changeVisualShape(body, -1, textureUniqueId=self._texture(texture_png), physicsClientId=c)
        if collision:
            self._solid_ids.append(body)
        return body

    def add_solid_cylinder(self, radius_m: float, height_m: float, rgba) -> int:
        """A solid upright cylinder standing on its base (touching it is a crash), waiting hidden."""
        c = self.cid
        offset = [0.0, 0.0, height_m / 2]
        col = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=radius_m, height=height_m,
                                      collisionFramePosition=offset, physicsClientId=c)
        vis = pb.createVisualShape(pb.GEOM_CYLINDER, radius=radius_m, length=height_m, rgbaColor=list(rgba),
                                   visualFramePosition=offset, physicsClientId=c)
        # A static rigid body, not a fixed-base multibody: measured, 16 solid multibodies add 2.9 µs
        # to every physics step, 16 rigid bodies 0.8 µs.
        body = pb.createMultiBody(0.0, col, vis, list(HIDDEN_POS_M), useMaximalCoordinates=True, physicsClientId=c)
        self._solid_ids.append(body)
        return body

    def _texture(self, png: str) -> int:
        if png not in self._texture_cache:
            self._texture_cache[png] = pb.loadTexture(png, physicsClientId=self.cid)
        return self._texture_cache[png]

    def move_body(self, body: int, pos_m, quat_xyzw=(0.0, 0.0, 0.0, 1.0)) -> None:
        pb.resetBasePositionAndOrientation(body, list(pos_m), list(quat_xyzw), physicsClientId=self.cid)

    def body_position(self, body: int) -> np.ndarray:
        """World position ``(3,)`` (m) of ``body``'s base."""
        return np.array(pb.getBasePositionAndOrientation(body, physicsClientId=self.cid)[0])

    def hide_body(self, body: int) -> None:
        self.move_body(body, HIDDEN_POS_M)

    def set_color(self, body: int, rgba) -> None:
        pb.changeVisualShape(body, -1, rgbaColor=list(rgba), physicsClientId=self.cid)

    def set_ground(self, rgba, texture_png: str | None = None) -> None:
        """Colour the ground and optionally texture it with a PNG file (repeated every ``GROUND_TEXTURE_PERIOD_M``)."""
        c = self.cid
        if texture_png is None:
            pb.changeVisualShape(self.ground_id, -1, rgbaColor=list(rgba), textureUniqueId=-1, physicsClientId=c)
            return
        pb.changeVisualShape(self.ground_id, -1, rgbaColor=list(rgba), textureUniqueId=self._texture(texture_png),
                             physicsClientId=c)

    # ---- drones -----------------------------------------------------------------------------
    def reset_drone(self, i: int, state: RigidBodyState) -> None:
        body = self.drone_ids[i]
        pb.resetBasePositionAndOrientation(body, list(state.pos_m), list(state.quat_xyzw), physicsClientId=self.cid)
        pb.resetBaseVelocity(body, list(state.vel_world_mps), list(state.omega_world_radps), physicsClientId=self.cid)

    def drone_state(self, i: int) -> RigidBodyState:
        flat = self._drone_row(self.drone_ids[i])
        return RigidBodyState(flat[0:3], flat[3:7], flat[7:10], flat[10:13], flat[13:22].reshape(3, 3))

    def _drone_row(self, body: int) -> np.ndarray:
        """A drone's state as one row (22,): position, quaternion, velocity, angular velocity (world frame),
        then the body-to-world rotation matrix row-major (Bullet's own, from the quaternion)."""
        pos, quat = pb.getBasePositionAndOrientation(body, physicsClientId=self.cid)
        vel, omega = pb.getBaseVelocity(body, physicsClientId=self.cid)
        return np.array(pos + quat + vel + omega + pb.getMatrixFromQuaternion(quat, physicsClientId=self.cid))

    def drone_rows(self) -> list[tuple[float, ...]]:
        """Every drone's :meth:`_drone_row` (N rows of 22 floats): two state queries and one matrix per drone."""
        c, rows = self.cid, []
        for body in self.drone_ids:
            pos, quat = pb.getBasePositionAndOrientation(body, physicsClientId=c)
            vel, omega = pb.getBaseVelocity(body, physicsClientId=c)
            rows.append(pos + quat + vel + omega + pb.getMatrixFromQuaternion(quat, physicsClientId=c))
        return rows

    def apply_wrench(self, i: int, force_body_n, torque_body_nm) -> None:
        """Apply a body-frame force at the centre of mass and a body-frame torque for one step."""
        body = self.drone_ids[i]
        pb.applyExternalForce(body, -1, force_body_n, (0.0, 0.0, 0.0), pb.LINK_FRAME, physicsClientId=self.cid)
        pb.applyExternalTorque(body, -1, torque_body_nm, pb.LINK_FRAME, physicsClientId=self.cid)

    def step(self) -> None:
        pb.stepSimulation(physicsClientId=self.cid)

    def in_contact(self, i: int) -> bool:
        """Whether drone ``i`` touches the ground, a solid object or another drone."""
        return len(pb.getContactPoints(bodyA=self.drone_ids[i], physicsClientId=self.cid)) > 0

    def contact_bodies(self, i: int) -> set[int]:
        """Ids of the bodies drone ``i`` touches (ground, solid objects, other drones' ``drone_ids``)."""
        return {c[2] for c in pb.getContactPoints(bodyA=self.drone_ids[i], physicsClientId=self.cid)}

    def drone_contacts(self) -> dict[int, set[int]]:
        """:meth:`contact_bodies` of every drone that touches something, from one query of the whole world.

        Returns:
            ``{drone index: ids of the bodies it touches}``; empty when no drone touches anything
            (the common case, one PyBullet call per physics step instead of one per drone).
        """
        points = pb.getContactPoints(physicsClientId=self.cid)
        if not points:
            return {}
        index = self._drone_index
        touching: dict[int, set[int]] = {}
        for c in points:  # each contact point once, as (bodyA, bodyB): both bodies touch each other
            a, b = c[1], c[2]
            if a in index:
                touching.setdefault(index[a], set()).add(b)
            if b in index:
                touching.setdefault(index[b], set()).add(a)
        return touching

    # ---- cameras ----------------------------------------------------------------------------
    def render(
        self, view_matrix, projection_matrix, width: int, height: int, lighting: Lighting | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw an image with TinyRenderer.

        Returns:
            ``(rgb uint8 (H, W, 3), segmentation int32 (H, W))``; segmentation holds body ids, -1 for sky.
        """
        rgb, seg, _ = self._camera_image(view_matrix, projection_matrix, width, height, lighting)
        return rgb, seg

    def render_with_depth(
        self, view_matrix, projection_matrix, width: int, height: int, near_m: float, far_m: float,
        lighting: Lighting | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`render`, plus each pixel's depth along the optical axis (float32 (H, W), m).

        ``near_m`` and ``far_m`` must be those of ``projection_matrix``; TinyRenderer's depth buffer
        ``b`` in [0, 1] is non-linear: depth = far · near / (far − (far − near) · b).
        """
        rgb, seg, buffer = self._camera_image(view_matrix, projection_matrix, width, height, lighting)
        return rgb, seg, depth_m(buffer, near_m, far_m).astype(np.float32)

    def _camera_image(self, view_matrix, projection_matrix, width: int, height: int, lighting: Lighting | None):
        light = lighting or Lighting()
        _, _, rgba, depth, seg = pb.getCameraImage(
            width, height, view_matrix, projection_matrix,
            shadow=int(light.shadow), lightDirection=list(light.direction),
            lightAmbientCoeff=light.ambient, lightDiffuseCoeff=light.diffuse, lightSpecularCoeff=light.specular,
            renderer=pb.ER_TINY_RENDERER, physicsClientId=self.cid,
        )
        rgb = np.ascontiguousarray(np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3])
        seg = np.asarray(seg, dtype=np.int32).reshape(height, width)
        if self.sky is not None:
            direction = np.asarray(light.direction, dtype=float)
            up = max(0.0, direction[2] / np.linalg.norm(direction))
            self.sky.paint(rgb, seg, view_matrix, projection_matrix, light.ambient + light.diffuse * up)
        buffer = np.asarray(depth, dtype=np.float64).reshape(height, width)
        if self.fog is not None and self.fog.density_per_m > 0:
            self.fog.apply(rgb, buffer, projection_matrix)
        return rgb, seg, buffer

    def close(self) -> None:
        if self.cid is not None and pb.isConnected(self.cid):
            pb.disconnect(self.cid)
        self.cid = None

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:
            pass
