"""One agent of a multi-agent env seen as a single-agent env.

Team episodes fly through :func:`ltc_drones.envs.rollout.run_episode`: one controller (a trained
agent, a :class:`~ltc_drones.control.team_expert.TeamExpert`, a scripted controller) acts for all ``N``
agents as for a batch of ``N`` envs, each agent with its own recurrent state.
"""

from __future__ import annotations

from types import SimpleNamespace


def agent_view_env(env) -> SimpleNamespace:
    """A single-agent-looking handle on ``env``'s first agent (``unwrapped``, ``observation_space``),
    for checks written for single-agent envs such as :meth:`ltc_drones.agents.Agent.check_env`."""
    first = env.possible_agents[0]
    return SimpleNamespace(unwrapped=env.agent_views[first], observation_space=env.observation_space(first),
                           action_space=env.action_space(first))
