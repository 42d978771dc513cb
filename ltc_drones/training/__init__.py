"""Imitation learning: expert demonstrations, sequence behaviour cloning, DAgger (agents and their checkpoints are
:mod:`ltc_drones.agents`)."""

from .collect import CollectSpec, collect_demonstrations
from .config import TrainConfig
from .dataset import DemoDataset
from .runner import resume_run, start_run
from .storage import DatasetError

__all__ = ["CollectSpec", "DatasetError", "DemoDataset", "TrainConfig", "collect_demonstrations", "resume_run",
           "start_run"]
