"""Closed-loop evaluation: rollouts, recorded videos, statistics."""

from ..envs.rollout import EpisodeRecord, run_episode, success_rate
from .metrics import wilson_interval
from .rollout import record_episode
from .video import side_by_side, write_video

__all__ = ["EpisodeRecord", "record_episode", "run_episode", "side_by_side", "success_rate", "wilson_interval",
           "write_video"]
