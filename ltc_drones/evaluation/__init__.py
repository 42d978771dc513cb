"""Closed-loop evaluation: rollouts, videos (more to come: metrics, evaluator, benchmark)."""

from .rollout import EpisodeRecord, run_episode
from .video import side_by_side, write_video

__all__ = ["EpisodeRecord", "run_episode", "side_by_side", "write_video"]
