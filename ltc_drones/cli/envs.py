"""``ltc-drones envs``: what can be flown."""

from __future__ import annotations

from dataclasses import dataclass

from .command import Command


@dataclass(frozen=True)
class EnvsOptions:
    """List the task keys with their Gymnasium ids, the scenario names and the shipped agents."""


def run(options: EnvsOptions) -> int:
    from ..envs import ENV_IDS, available_scenarios
    from ..resources import shipped_agent_names

    for task, env_id in ENV_IDS.items():
        print(f"{task:15s} {env_id}")
    print("scenarios:", ", ".join(available_scenarios()))
    print("shipped agents:", ", ".join(shipped_agent_names()))
    return 0


COMMAND = Command(EnvsOptions, run)
