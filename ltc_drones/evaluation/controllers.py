"""What flies in an evaluation: a plain-data controller spec, rebuilt in every worker process.

``ControllerSpec.parse("expert" | "scripted:<name>" | path)`` names the controller; ``build(env)`` makes it
for a single-agent Gymnasium env or for a multi-agent PettingZoo env (:mod:`ltc_drones.envs.multi`):

* ``expert``: the task's privileged expert; on a multi-agent task the
  :class:`~ltc_drones.control.team_expert.TeamExpert` (with collision avoidance);
* ``scripted:<name>``: a scripted controller; on a multi-agent task one per agent
  (:class:`ltc_drones.control.team_expert.PerAgent`);
* an agent checkpoint: the trained policy; on a multi-agent task it flies every agent as one batch,
  each with its own recurrent state (see :func:`ltc_drones.envs.rollout.run_episode`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal


class EvaluationError(ValueError):
    """An evaluation request is invalid (unknown controller, task or scenario, mismatched agent or folder)."""


@dataclass(frozen=True)
class ControllerSpec:
    """What flies: ``agent`` (a checkpoint path), ``expert`` (privileged), or ``scripted`` (a name).

    Specs are plain data so that worker processes can rebuild the controller.
    """

    kind: Literal["agent", "expert", "scripted"]
    path: str = ""
    """Checkpoint file or folder (agents) or the scripted controller's name."""

    @classmethod
    def parse(cls, text: str | os.PathLike | ControllerSpec) -> ControllerSpec:
        """``"expert"``, ``"scripted:<name>"`` or a path to an agent checkpoint (file or folder)."""
        if isinstance(text, ControllerSpec):
            return text
        s = os.fspath(text)
        if s == "expert":
            return cls("expert")
        if s.startswith("scripted:"):
            from ..control.scripted import SCRIPTED

            name = s.split(":", 1)[1]
            if name not in SCRIPTED:
                raise EvaluationError(f"unknown scripted controller {name!r}; valid: {', '.join(sorted(SCRIPTED))}")
            return cls("scripted", name)
        if not Path(s).exists():
            raise EvaluationError(f"no agent at {s!r}: give a checkpoint file or folder, 'expert', or "
                                  "'scripted:<name>'")
        return cls("agent", str(Path(s)))

    @property
    def label(self) -> str:
        return {"agent": f"agent:{self.path}", "expert": "expert", "scripted": f"scripted:{self.path}"}[self.kind]

    def env_spec(self) -> dict[str, Any] | None:
        """The env an agent was trained for (None for experts and scripted controllers)."""
        if self.kind != "agent":
            return None
        from ..agents import load_agent

        return load_agent(self.path).env_spec

    def build(self, env):
        """The controller for ``env`` (:func:`ltc_drones.agents.load_agent`): ``reset(num_envs)`` and
        ``act(obs, episode_start=None)``; for a team env, one that acts for all its drones at once."""
        from ..agents import load_agent

        return load_agent(self.path if self.kind == "agent" else self.label, env)
