"""The PyBullet world: ground, drones and visual-only objects, built once and moved on reset.

Facts this relies on (measured, see PYBULLET_NOTES.md): default link damping is on and must be
switched off; external forces are cleared by every ``stepSimulation``; moving a body costs about
a microsecond while reloading one costs tens of milliseconds, so nothing is ever reloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pybullet as pb

from .params import QuadrotorParams
from .rotation import quat_to_rot
from .state import RigidBodyState

Shape = Literal["sphere", "box", "cylinder"]
HIDDEN_POS_M = (0.0, 0.0, -100.0)  # where unused visual bodies wait, far below the ground


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
        ground_vis = pb.createVisualShape(
            pb.GEOM_BOX, halfExtents=[40.0, 40.0, 0.001], rgbaColor=[0.45, 0.55, 0.4, 1.0], physicsClientId=c
        )
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
        self._solid_ids: list[int] = [self.ground_id]
        self._texture_cache: dict[str, int] = {}

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

    def move_body(self, body: int, pos_m, quat_xyzw=(0.0, 0.0, 0.0, 1.0)) -> None:
        pb.resetBasePositionAndOrientation(body, list(pos_m), list(quat_xyzw), physicsClientId=self.cid)

    def hide_body(self, body: int) -> None:
        self.move_body(body, HIDDEN_POS_M)

    def set_color(self, body: int, rgba) -> None:
        pb.changeVisualShape(body, -1, rgbaColor=list(rgba), physicsClientId=self.cid)

    def set_ground(self, rgba, texture_png: str | None = None) -> None:
        """Colour the ground and optionally texture it with a PNG file."""
        c = self.cid
        if texture_png is None:
            pb.changeVisualShape(self.ground_id, -1, rgbaColor=list(rgba), textureUniqueId=-1, physicsClientId=c)
            return
        if texture_png not in self._texture_cache:
            self._texture_cache[texture_png] = pb.loadTexture(texture_png, physicsClientId=c)
        pb.changeVisualShape(
            self.ground_id, -1, rgbaColor=list(rgba), textureUniqueId=self._texture_cache[texture_png],
            physicsClientId=c,
        )

    # ---- drones -----------------------------------------------------------------------------
    def reset_drone(self, i: int, state: RigidBodyState) -> None:
        body = self.drone_ids[i]
        pb.resetBasePositionAndOrientation(body, list(state.pos_m), list(state.quat_xyzw), physicsClientId=self.cid)
        pb.resetBaseVelocity(body, list(state.vel_world_mps), list(state.omega_world_radps), physicsClientId=self.cid)

    def drone_state(self, i: int) -> RigidBodyState:
        body = self.drone_ids[i]
        pos, quat = pb.getBasePositionAndOrientation(body, physicsClientId=self.cid)
        vel, omega = pb.getBaseVelocity(body, physicsClientId=self.cid)
        flat = np.array(pos + quat + vel + omega)  # one allocation, four views (hot path)
        return RigidBodyState(flat[0:3], flat[3:7], flat[7:10], flat[10:13], quat_to_rot(quat))

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

    # ---- cameras ----------------------------------------------------------------------------
    def render(
        self, view_matrix, projection_matrix, width: int, height: int, lighting: Lighting | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw an image with TinyRenderer.

        Returns:
            ``(rgb uint8 (H, W, 3), segmentation int32 (H, W))``; segmentation holds body ids, -1 for sky.
        """
        light = lighting or Lighting()
        _, _, rgba, _, seg = pb.getCameraImage(
            width, height, view_matrix, projection_matrix,
            shadow=int(light.shadow), lightDirection=list(light.direction),
            lightAmbientCoeff=light.ambient, lightDiffuseCoeff=light.diffuse, lightSpecularCoeff=light.specular,
            renderer=pb.ER_TINY_RENDERER, physicsClientId=self.cid,
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3]
        return np.ascontiguousarray(rgb), np.asarray(seg, dtype=np.int32).reshape(height, width)

    def close(self) -> None:
        if self.cid is not None and pb.isConnected(self.cid):
            pb.disconnect(self.cid)
        self.cid = None

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:
            pass
