"""ltc_drones: closed-loop drone control with liquid neural networks.

Importing the package registers the gymnasium ids ``ltc_drones/<Task>-v0`` (see :mod:`ltc_drones.tasks`).
"""

from .tasks import register_envs
from .version import __version__

register_envs()


def load_agent(path, env=None):
    """Load an agent of any kind: see :func:`ltc_drones.agents.load_agent`."""
    from .agents import load_agent as _load_agent

    return _load_agent(path, env)


__all__ = ["__version__", "load_agent"]
