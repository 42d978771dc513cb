"""Closed-loop evaluation: rollouts, the evaluator, metrics and statistics, recorded videos."""

from ..envs.rollout import EpisodeRecord, run_episode, success_rate
from .evaluator import ControllerSpec, Evaluation, EvaluationError, evaluate
from .metrics import Trajectory, episode_metrics, summarize, wilson_interval
from .rollout import record_episode
from .video import side_by_side, write_video

__all__ = ["ControllerSpec", "EpisodeRecord", "Evaluation", "EvaluationError", "Trajectory", "episode_metrics",
           "evaluate", "record_episode", "run_episode", "side_by_side", "success_rate",
           "summarize", "wilson_interval", "write_video"]
