"""Explicit rigid-body dynamics of the quadrotor in numpy (no PyBullet).

The same force terms as the PyBullet backend (:class:`ForceModel`), integrated with the same
semi-implicit Euler scheme Bullet uses (velocity first, then position with the new velocity),
including the gyroscopic term ``ω × Jω`` of Euler's equations. Free flight only: there is no
ground or collision model here. Used as the test oracle for the PyBullet world and as a fast
backend for controller design.
"""

from __future__ import annotations

import numpy as np

from .forces import ForceConfig, ForceModel
from .params import QuadrotorParams
from .rotation import cross3, quat_integrate, quat_to_rot
from .state import RigidBodyState


class ExplicitQuadrotor:
    """One quadrotor integrated in numpy.

    Args:
        params: the vehicle.
        physics_dt_s: integration step.
        forces: which force terms are enabled.
    """

    def __init__(self, params: QuadrotorParams, physics_dt_s: float, forces: ForceConfig | None = None) -> None:
        if not physics_dt_s > 0:
            raise ValueError(f"physics_dt_s must be positive, got {physics_dt_s}")
        self.params = params
        self.dt_s = physics_dt_s
        self.force_model = ForceModel(params, forces)
        self._J = params.inertia_diag
        self.state = RigidBodyState.at_rest([0.0, 0.0, 1.0])

    def reset(self, state: RigidBodyState) -> None:
        self.state = RigidBodyState(
            state.pos_m.copy(), state.quat_xyzw.copy(), state.vel_world_mps.copy(), state.omega_world_radps.copy()
        )

    def step(self, rpm: np.ndarray, wind_world_mps: np.ndarray | None = None) -> RigidBodyState:
        """Advance one physics step with rotor speeds ``rpm`` (4,); returns the new state."""
        s = self.state
        R = s.R
        force_b, torque_b = self.force_model.wrench(rpm, s.pos_m, R, s.vel_world_mps, wind_world_mps)
        force_b, torque_b = np.array(force_b), np.array(torque_b)
        acc = R @ force_b / self.params.mass_kg
        acc[2] -= self.params.gravity_mps2
        w_b = R.T @ s.omega_world_radps
        w_dot = (torque_b - cross3(w_b, self._J * w_b)) / self._J
        vel = s.vel_world_mps + acc * self.dt_s
        pos = s.pos_m + vel * self.dt_s
        w_b = w_b + w_dot * self.dt_s
        quat = quat_integrate(s.quat_xyzw, w_b, self.dt_s)
        R_new = quat_to_rot(quat)
        self.state = RigidBodyState(pos, quat, vel, R_new @ w_b, R_new)
        return self.state
