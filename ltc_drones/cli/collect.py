"""``ltc-drones collect``: expert demonstrations for imitation learning."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..envs.actions import ACT_MODES
from ..envs.base import OBS_MODES
from . import checks
from .command import Command, usage_checks


@dataclass(frozen=True)
class CollectOptions:
    """Collect episodes of the privileged expert into a demonstration folder (compressed shards and a
    manifest), in parallel worker processes. Resumable: run the same command again to finish an interrupted
    collection or to add episodes up to --episodes."""

    task: str
    """Task key: hover, fly-to-target, follow-target, hiking, or a multi-agent task (multi-follow,
    multi-fly-to-target: the team expert flies --num-drones drones, one shard per drone and episode)."""
    out: Path
    """Demonstration folder (created; an existing one must hold a collection with the same settings)."""
    obs: Literal[OBS_MODES] = "rgb"  # type: ignore[valid-type]
    """Observation mode recorded with each step."""
    act: Literal[ACT_MODES] = "vel"  # type: ignore[valid-type]
    """Action mode of the expert's labels."""
    scenario: str = "nominal"
    """Scenario to collect in (`ltc-drones envs` lists them)."""
    episodes: int = 200
    """Episodes the folder should hold when done (team episodes for a multi-agent task)."""
    num_drones: int = 2
    """Drones of a multi-agent task (2-8); ignored by single-agent tasks."""
    workers: int = 2
    """Worker processes."""
    seed: int = 0
    """Base seed; episode k uses an independent stream spawned from (seed, k)."""


def run(options: CollectOptions) -> int:
    from ..envs import load_scenario
    from ..training import CollectSpec, collect_demonstrations

    checks.at_least("--episodes", options.episodes, 1)
    checks.at_least("--workers", options.workers, 1)
    with usage_checks():
        load_scenario(options.task, options.scenario)
        spec = CollectSpec(options.task, options.obs, options.act, options.scenario, base_seed=options.seed,
                           num_drones=options.num_drones)
    checks.writable_folder("--out", options.out)
    with usage_checks():  # the env refuses combinations it cannot serve (e.g. Hover with image observations)
        spec.make_env().close()
    r = collect_demonstrations(spec, options.episodes, options.out, workers=options.workers)
    if r.shards_per_episode > 1:
        print(f"{r.folder}: {r.new_episodes} new team episodes of {r.shards_per_episode} drones "
              f"({r.successes_new} team successes of the expert, {r.steps_new} drone-steps) in {r.wall_time_s:.1f} s; "
              f"{r.total_episodes} team episodes ({r.total_episodes * r.shards_per_episode} shards, one per drone) "
              "in the folder")
    else:
        print(f"{r.folder}: {r.new_episodes} new episodes ({r.successes_new} expert successes, {r.steps_new} steps) "
              f"in {r.wall_time_s:.1f} s; {r.total_episodes} episodes in the folder")
    return 0


COMMAND = Command(CollectOptions, run)
