"""What flies in an evaluation: a plain-data controller spec, rebuilt in every worker process.

``ControllerSpec.parse("expert" | "scripted:<name>" | path)`` names the controller; ``build(env)`` makes it
for a single-agent Gymnasium env or for a multi-agent PettingZoo env (:mod:`ltc_drones.envs.multi`):

* ``expert``: the task's privileged expert; on a multi-agent task the
  :class:`~ltc_drones.control.team.TeamExpert` (with collision avoidance);
* ``scripted:<name>``: a scripted controller; on a multi-agent task one per agent
  (:class:`ltc_drones.control.team.PerAgent`);
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


def is_multi_agent(env) -> bool:
    """Whether ``env`` is a multi-agent (PettingZoo) env of this package."""
    return hasattr(env, "possible_agents") and hasattr(env, "agent_views")


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
        from ..training import load_agent

        return load_agent(self.path).env_spec

    def build(self, env):
        """The controller for ``env`` (an object with ``reset(num_envs=1)`` and ``act(obs, episode_start=None)``);
        for a multi-agent env, one that acts for all its agents at once (``reset(num_drones)``)."""
        multi = is_multi_agent(env)
        if self.kind == "expert":
            if multi:
                from ..control.team import TeamExpert

                return TeamExpert(env)
            from ..control import make_expert

            return make_expert(env)
        if self.kind == "scripted":
            from ..control.scripted import make_scripted

            if multi:
                from ..control.team import PerAgent

                return PerAgent(env, lambda view: make_scripted(self.path, view))
            return make_scripted(self.path, env)
        from ..training import load_agent

        if multi:
            from ..envs.multi.rollout import agent_view_env

            agent = load_agent(self.path)
            agent.check_env(agent_view_env(env))
            return agent
        return load_agent(self.path, env)
