"""ltc_drones: closed-loop drone control with liquid neural networks.

Importing the package registers the gymnasium ids ``ltc_drones/<Task>-v0``.
"""

__version__ = "0.1.0"


def _register() -> None:
    try:
        from .envs.registration import register_envs
    except ImportError:  # pragma: no cover - gymnasium missing: models still usable
        return
    register_envs()


_register()


def load_agent(path, env=None):
    """Load a trained agent: a :class:`ltc_drones.control.Controller` (``reset(num_envs=1)``, then
    ``act(obs, episode_start=None)`` every control step); see :func:`ltc_drones.training.load_agent`."""
    from .training.agent import load_agent as _load_agent

    return _load_agent(path, env)
