"""Imitation learning: expert demonstrations, sequence behaviour cloning, DAgger, checkpoints, agents."""

from .agent import Agent, load_agent
from .checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from .collect import CollectSpec, collect_demonstrations
from .config import TrainConfig
from .dataset import DemoDataset
from .runner import resume_run, start_run
from .storage import DatasetError

__all__ = ["Agent", "CheckpointError", "CollectSpec", "DatasetError", "DemoDataset", "TrainConfig",
           "collect_demonstrations", "load_agent", "read_checkpoint", "resume_run", "save_checkpoint", "start_run"]
