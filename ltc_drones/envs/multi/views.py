"""Per-agent views of a multi-drone env that read like a single-agent env (for experts and diagnostics)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...sim.state import RigidBodyState
from ...tasks import task_spec


class DroneAgent:
    """One agent of a multi-drone env, read the way a single-agent env is (for experts and diagnostics).

    ``unwrapped`` is the view itself, so ``make_expert``-style code that reads ``env.unwrapped.state``
    works on it. Reads are live: they follow the env.

    Args:
        env: the team env (a :class:`~ltc_drones.envs.multi.base.MultiDroneEnv`; not imported here, as
            that module builds the views).
        index: the agent's drone.
    """

    def __init__(self, env: Any, index: int) -> None:
        self.env, self.index, self.name = env, index, env.possible_agents[index]
        self.act_mode, self.params, self.clock = env.act_mode, env.params, env.clock
        self.velocity_limits, self.camera, self.scenario = env.velocity_limits, env.camera, env.scenario

    @property
    def unwrapped(self) -> DroneAgent:
        return self

    @property
    def TASK(self) -> str:  # noqa: N802 - mirrors the single-agent envs' class attribute
        return task_spec(self.env.TASK).single_agent_task

    @property
    def state(self) -> RigidBodyState:
        return self.env.sim.states[self.index]

    @property
    def goal_pos_m(self) -> np.ndarray:
        return self.env.goal_of(self.index)

    @property
    def look_at_m(self) -> np.ndarray:
        return self.env.look_at_of(self.index)

    @property
    def target_pos_m(self) -> np.ndarray:
        return self.env.target_of(self.index)

    @property
    def target_vel_mps(self) -> np.ndarray:
        return self.env.target_velocity_of(self.index)

    @property
    def active(self) -> bool:
        return self.name in self.env.agents

    def target_in_view(self) -> bool:
        return self.env.sees(self.index, self.look_at_m)

    def other_positions_m(self) -> np.ndarray:
        """Positions (K, 3) of the other drones still flying."""
        return self.env.other_positions_m(self.index)
