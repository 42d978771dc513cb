"""Reinforcement learning with our cores: PPO through stable-baselines3 and sb3-contrib (extra ``[rl]``).

* :mod:`.policy`: :class:`CoreRecurrentPolicy` (sb3-contrib ``RecurrentPPO`` with any recurrent core of
  :data:`ltc_drones.models.CORE_NAMES`) and :class:`CoreFeedForwardPolicy` (``PPO`` with the ``mlp`` core);
* :mod:`.envs`: training envs (vector backend, PyBullet processes, any Gymnasium id) and normalisation;
* :mod:`.runner`: ``ltc-drones train --algo ppo`` (:func:`start_ppo_run`, :func:`resume_ppo_run`;
  :func:`train_ppo_in` starts or continues, for the benchmark's training cells);
* :mod:`.checkpoint`: PPO checkpoints, which :func:`ltc_drones.load_agent` flies as agents.

:class:`PPOConfig` imports without stable-baselines3; everything else needs the ``rl`` extra.
"""

from .config import PPOConfig

_LAZY = {"CoreRecurrentPolicy": "policy", "CoreFeedForwardPolicy": "policy", "start_ppo_run": "runner",
         "resume_ppo_run": "runner", "train_ppo_in": "runner"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        import sb3_contrib  # noqa: F401
        import stable_baselines3  # noqa: F401
    except ImportError as exc:
        raise ImportError("PPO needs stable-baselines3 and sb3-contrib: pip install 'ltc_drones[rl]'") from exc
    import importlib

    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)


__all__ = ["CoreFeedForwardPolicy", "CoreRecurrentPolicy", "PPOConfig", "resume_ppo_run", "start_ppo_run",
           "train_ppo_in"]
