"""One way to load anything that flies: a trained agent (imitation or PPO checkpoint, run folder, shipped
agent folder), the task's privileged expert, or a scripted controller, by name."""

from __future__ import annotations

import os
from pathlib import Path

from ..tasks import is_team_env, make_expert
from .agent import Agent
from .checkpoint import policy_from_checkpoint, read_checkpoint

EXPERT = "expert"
SCRIPTED_PREFIX = "scripted:"
CHECKPOINT_NAMES = ("agent.pt", "best.pt", "last.pt")
"""What a folder is searched for, in this order: a shipped agent, a run's best, a run's last checkpoint."""


def checkpoint_path(path: str | os.PathLike) -> Path:
    """The checkpoint file of ``path``: the file itself, or the first of :data:`CHECKPOINT_NAMES` in a folder.

    Raises:
        FileNotFoundError: a folder holding none of them, or no such file.
    """
    path = Path(path)
    if path.is_dir():
        for name in CHECKPOINT_NAMES:
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"{path} holds no {', '.join(CHECKPOINT_NAMES)}")
    if not path.is_file():
        raise FileNotFoundError(f"no agent at {str(path)!r}: give a checkpoint file or folder, {EXPERT!r}, or "
                                f"'{SCRIPTED_PREFIX}<name>'")
    return path


def load_agent(source: str | os.PathLike, env=None):
    """What ``source`` names, as a controller of the acting protocol (``reset(num_envs)``, ``act(obs, episode_start)``).

    Args:
        source: a checkpoint file, or a folder holding ``agent.pt`` / ``best.pt`` / ``last.pt`` (imitation and
            PPO agents alike: a PPO agent carries its observation normalisation); ``"expert"`` for the task's
            privileged expert; ``"scripted:<name>"`` for a scripted controller (:data:`ltc_drones.control.SCRIPTED`).
        env: the env it will fly (a Gymnasium env or a team env). An agent is checked against it (task, observation
            space, action mode, control rate); the expert and scripted controllers need it to be built. On a team
            env every controller acts for all drones at once, as a batch of ``num_drones``.

    Raises:
        CheckpointError: a corrupt checkpoint, another schema version, or an agent that does not fit ``env``.
        FileNotFoundError: no such file or folder.
        ValueError: an unknown scripted controller, or an expert or scripted controller without ``env``.
    """
    text = os.fspath(source)
    if text == EXPERT or text.startswith(SCRIPTED_PREFIX):
        if env is None:
            raise ValueError(f"{text!r} is built for an env: pass env=")
        if text == EXPERT:
            return make_expert(env)
        from ..control.scripted import make_scripted

        name = text[len(SCRIPTED_PREFIX):]
        if is_team_env(env):
            from ..control.team_expert import PerAgent

            return PerAgent(env, lambda view: make_scripted(name, view))
        return make_scripted(name, env)
    path = checkpoint_path(source)
    payload = read_checkpoint(path)
    agent = Agent(policy_from_checkpoint(payload, path), payload["env"], source=str(path))
    if env is not None:
        agent.check_env(env)
    return agent
