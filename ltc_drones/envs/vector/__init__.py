"""A vectorised explicit-dynamics backend: N drones of one task stepped together in numpy.

``ltc_drones.tasks.make_env("fly-to-target", backend="vector", num_envs=1024, seed=0)`` returns a
Gymnasium ``VectorEnv`` (next-step autoreset) with the PyBullet env's ``kin`` observations,
rewards, success, crash and time-limit rules, for state-based training (no camera): at 1,024 drones
about a hundred times the PyBullet env's steps per second (``scripts/bench_env.py``).

Modules: :mod:`.world` (one control period of physics with wind, latency and a weak motor, on the
batched dynamics of :mod:`ltc_drones.sim.explicit` and the action modes of :mod:`ltc_drones.envs.actions`,
which every env shares), :mod:`.layout` (episode layouts), :mod:`.tasks` (task rules), :mod:`.env`
(the ``VectorEnv``).
"""

from .env import VectorDroneEnv

__all__ = ["VectorDroneEnv"]
