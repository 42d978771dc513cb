"""A vectorised explicit-dynamics backend: N drones of one task stepped together in numpy.

``make_vector("fly-to-target", num_envs=1024, obs="kin", act="vel", seed=0)`` returns a
Gymnasium ``VectorEnv`` (next-step autoreset) with the PyBullet env's ``kin`` observations,
rewards, success, crash and time-limit rules, hundreds of times faster for state-based training
(no camera). Modules: :mod:`.dynamics` (batched rigid-body physics and ground contact),
:mod:`.control` (batched cascaded controller and action modes), :mod:`.layout` (episode layouts),
:mod:`.world` (one control period of physics with wind, latency and a weak motor), :mod:`.tasks`
(task rules), :mod:`.env` (the ``VectorEnv``).
"""

from .env import PYBULLET_TASKS, VectorDroneEnv, make_vector

__all__ = ["PYBULLET_TASKS", "VectorDroneEnv", "make_vector"]
