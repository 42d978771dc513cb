"""Physical parameters of the quadrotor (Crazyflie 2.x) and of the simulation clock.

Values follow the Crazyflie 2.x model used across the community (the same numbers as
gym-pybullet-drones' ``cf2x.urdf`` / ``cf2p.urdf``: Panerati et al., IROS 2021).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

STANDARD_GRAVITY_MPS2 = 9.8  # the value the Crazyflie model's thrust-to-weight is quoted at


@dataclass(frozen=True)
class QuadrotorParams:
    """Rigid-body and rotor model of one quadrotor (SI units, rotor speeds in rpm).

    Rotor ``i`` produces thrust ``kf * rpm_i**2`` along body +z and a reaction torque
    ``rotor_dirs[i] * km * rpm_i**2`` about body +z.
    """

    frame: Literal["x", "+"] = "x"
    mass_kg: float = 0.027
    arm_m: float = 0.0397
    inertia_kgm2: tuple[float, float, float] = (1.4e-5, 1.4e-5, 2.17e-5)
    kf: float = 3.16e-10
    km: float = 7.94e-12
    thrust_to_weight: float = 2.25
    prop_radius_m: float = 0.0231348
    ground_effect_coeff: float = 11.36859
    drag_coeff_xy: float = 9.1785e-7
    drag_coeff_z: float = 10.311e-7
    downwash_coeffs: tuple[float, float, float] = (2267.18, 0.16, -0.11)
    collision_radius_m: float = 0.06
    collision_height_m: float = 0.025
    gravity_mps2: float = STANDARD_GRAVITY_MPS2
    motor_tau_s: float = 0.0
    """First-order motor time constant; 0 means rotor speeds follow commands instantly."""

    def __post_init__(self) -> None:
        if self.frame not in ("x", "+"):
            raise ValueError(f"frame must be 'x' or '+', got {self.frame!r}")
        positive = {
            "mass_kg": self.mass_kg, "arm_m": self.arm_m, "kf": self.kf, "km": self.km,
            "prop_radius_m": self.prop_radius_m, "gravity_mps2": self.gravity_mps2,
            "collision_radius_m": self.collision_radius_m, "collision_height_m": self.collision_height_m,
        }
        for name, value in positive.items():
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"QuadrotorParams.{name} must be positive and finite, got {value}")
        if min(self.inertia_kgm2) <= 0:
            raise ValueError(f"inertia_kgm2 must be positive, got {self.inertia_kgm2}")
        if self.thrust_to_weight <= 1:
            raise ValueError(f"thrust_to_weight must exceed 1 to fly, got {self.thrust_to_weight}")
        if self.motor_tau_s < 0:
            raise ValueError(f"motor_tau_s must be >= 0 (0 disables motor lag), got {self.motor_tau_s}")

    # ---- derived values -------------------------------------------------------------------
    @property
    def weight_n(self) -> float:
        return self.mass_kg * self.gravity_mps2

    @property
    def hover_rpm(self) -> float:
        """Rotor speed at which four rotors carry the weight (≈ 14468 rpm)."""
        return math.sqrt(self.weight_n / (4.0 * self.kf))

    @property
    def max_rpm(self) -> float:
        """Rotor speed at full thrust (≈ 21703 rpm)."""
        return math.sqrt(self.thrust_to_weight * self.weight_n / (4.0 * self.kf))

    @property
    def max_thrust_per_rotor_n(self) -> float:
        return self.kf * self.max_rpm**2

    @property
    def inertia_diag(self) -> np.ndarray:
        return np.asarray(self.inertia_kgm2, dtype=float)

    @property
    def rotor_pos_body_m(self) -> np.ndarray:
        """Rotor positions in the body frame, shape (4, 3)."""
        if self.frame == "x":
            a = self.arm_m / math.sqrt(2.0)
            xy = [(a, -a), (-a, -a), (-a, a), (a, a)]
        else:
            a = self.arm_m
            xy = [(a, 0.0), (0.0, a), (-a, 0.0), (0.0, -a)]
        return np.array([(x, y, 0.0) for x, y in xy])

    @property
    def rotor_dirs(self) -> np.ndarray:
        """Sign of each rotor's reaction torque about body +z (−, +, −, +)."""
        return np.array([-1.0, 1.0, -1.0, 1.0])

    @property
    def ground_effect_min_height_m(self) -> float:
        """Height below which the ground-effect term is clipped (keeps it finite)."""
        return 0.25 * self.prop_radius_m * math.sqrt(15.0 * self.ground_effect_coeff / 4.0)

    @property
    def allocation_matrix(self) -> np.ndarray:
        """Maps rotor thrusts f (4,) to [collective thrust, tau_x, tau_y, tau_z] (4, 4)."""
        r = self.rotor_pos_body_m
        return np.vstack([
            np.ones(4),
            r[:, 1],           # tau_x = sum(y_i f_i)
            -r[:, 0],          # tau_y = -sum(x_i f_i)
            self.rotor_dirs * (self.km / self.kf),
        ])


def crazyflie_x(**overrides) -> QuadrotorParams:
    """The Crazyflie 2.x in "X" configuration (the default)."""
    return QuadrotorParams(frame="x", **overrides)


def crazyflie_plus(**overrides) -> QuadrotorParams:
    """The Crazyflie 2.x in "+" configuration."""
    return QuadrotorParams(frame="+", **overrides)


@dataclass(frozen=True)
class SimClock:
    """Physics and control rates; physics must be an integer multiple of control."""

    physics_hz: int = 240
    ctrl_hz: int = 30

    def __post_init__(self) -> None:
        for name in ("physics_hz", "ctrl_hz"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.physics_hz % self.ctrl_hz:
            raise ValueError(
                f"physics_hz ({self.physics_hz}) must be an integer multiple of ctrl_hz ({self.ctrl_hz}); "
                f"try physics_hz={self.ctrl_hz * max(1, round(self.physics_hz / self.ctrl_hz))}"
            )

    @property
    def substeps(self) -> int:
        return self.physics_hz // self.ctrl_hz

    @property
    def physics_dt_s(self) -> float:
        return 1.0 / self.physics_hz

    @property
    def ctrl_dt_s(self) -> float:
        return 1.0 / self.ctrl_hz
