"""Quadrotor simulation: parameters, force terms, the PyBullet world and explicit dynamics.

No gymnasium and no torch here.
"""

from .explicit import BatchQuadrotor, BatchState
from .forces import ForceConfig, ForceModel, MotorModel
from .params import QuadrotorParams, SimClock, crazyflie_plus, crazyflie_x
from .rotation import euler_to_quat, quat_to_rot, rot_to_quat, tilt_of, yaw_of
from .simulation import Simulation
from .state import RigidBodyState
from .wind import WindConfig, WindField
from .world import Lighting, PyBulletWorld

__all__ = [
    "BatchQuadrotor", "BatchState", "ForceConfig", "ForceModel", "Lighting", "MotorModel", "PyBulletWorld",
    "QuadrotorParams", "RigidBodyState", "SimClock", "Simulation", "WindConfig", "WindField",
    "crazyflie_plus", "crazyflie_x", "euler_to_quat", "quat_to_rot", "rot_to_quat", "tilt_of", "yaw_of",
]
