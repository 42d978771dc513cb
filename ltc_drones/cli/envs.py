"""``ltc-drones envs``: what can be flown."""

from __future__ import annotations

from dataclasses import dataclass

from .command import Command


@dataclass(frozen=True)
class EnvsOptions:
    """List the task keys with their Gymnasium ids, the scenario names and the shipped agents."""


def run(options: EnvsOptions) -> int:
    from ..envs import available_scenarios
    from ..resources import shipped_agent_names
    from ..tasks import TASKS

    for task, spec in TASKS.items():
        team = "team (PettingZoo)" if spec.team else "one drone (Gymnasium)"
        print(f"{task:20s} {spec.env_id:32s} {team:22s} obs: {', '.join(spec.obs_modes)}")
    print("scenarios:", ", ".join(available_scenarios()))
    print("shipped agents:", ", ".join(shipped_agent_names()))
    return 0


COMMAND = Command(EnvsOptions, run)
