"""Agents: what flies. :func:`load_agent` loads every kind (imitation and PPO checkpoints, run folders, shipped
agents, ``"expert"``, ``"scripted:<name>"``); :class:`Agent` is a trained policy acting in closed loop;
:mod:`.checkpoint` is the checkpoint format; :mod:`.normalizer` a PPO agent's observation normalisation."""

from .agent import Agent, env_spec_of, observation_spec
from .checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from .load import EXPERT, SCRIPTED_PREFIX, checkpoint_path, load_agent
from .normalizer import ObservationNormalizer

__all__ = ["EXPERT", "SCRIPTED_PREFIX", "Agent", "CheckpointError", "ObservationNormalizer", "checkpoint_path",
           "env_spec_of", "load_agent", "observation_spec", "read_checkpoint", "save_checkpoint"]
