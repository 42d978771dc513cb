"""``ltc-drones demo`` (``make demo``): the shipped vision agent, nominal and under a distribution shift."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..atomic import write_json_atomic
from . import checks, flights
from .command import Command, UsageError


@dataclass(frozen=True)
class DemoOptions:
    """Fly the shipped vision agent (the rgb LTC-NCP policy on FlyToTarget) for a few episodes in the nominal
    world and the same episodes (same seeds) under a distribution shift. Prints the successes of each with
    their 95 % Wilson interval, writes a video of each scenario's first episode (chase view beside the
    onboard camera) and summary.json (the request, the summaries and every episode's record) into --out."""

    agent: Path | None = None
    """Agent checkpoint file or run folder; None: the shipped agent fly-to-target__ltc-ncp__rgb."""
    expert: bool = False
    """Fly the privileged expert (it knows where the target is) instead of an agent."""
    task: str | None = None
    """Task key; None: the agent's own task (fly-to-target for --expert)."""
    shift: str | None = "target-color@3"
    """Scenario of the shifted episodes (name or name@level; `ltc-drones envs` lists them); None: nominal only."""
    episodes: int = 20
    """Episodes per scenario (the test seeds --seed, --seed + 1, ...)."""
    seed: int = 0
    """First test seed (see ltc_drones.seeding)."""
    workers: int = 1
    """Worker processes for the episodes (the videos are recorded in this process)."""
    out: Path = Path("videos/demo")
    """Folder for the videos and summary.json (created)."""
    video_format: Literal["mp4", "gif"] = "mp4"
    """File format of the videos."""


def run(o: DemoOptions) -> int:
    checks.at_least("--episodes", o.episodes, 1)
    checks.at_least("--workers", o.workers, 1)
    checks.writable_folder("--out", o.out)
    if o.expert and o.agent is not None:
        raise UsageError("give --agent or --expert, not both")
    if o.shift == "nominal":
        raise UsageError("--shift nominal: the nominal episodes are always flown; name a shift, or None")
    if o.expert:
        controller, name = "expert", "expert"
    elif o.agent is not None:
        controller = str(checks.existing("--agent", o.agent))
        name = o.agent.parent.name if o.agent.is_file() else o.agent.name
    else:
        from ..resources import DEFAULT_AGENT_NAME, default_agent_path

        controller, name = str(default_agent_path()), DEFAULT_AGENT_NAME
    scenarios = ["nominal"] + ([o.shift] if o.shift else [])
    request = flights.request_for(controller, o.task, scenarios, o.episodes, o.seed)

    t0 = time.perf_counter()
    result = flights.evaluate_request(request, o.workers)
    videos = {}
    for scenario in request.scenarios:
        first = next(r for r in result.records if r["scenario"] == scenario)
        path, _ = flights.record_video(request, scenario, first["seed"], o.out / f"{name}__{scenario}.{o.video_format}")
        videos[scenario] = str(path)
    wall = round(time.perf_counter() - t0, 1)
    write_json_atomic(o.out / "summary.json", {"request": request.to_dict(), "summaries": result.summaries,
                                               "videos": videos, "wall_time_s": wall, "records": result.records})
    flights.say(f"{request.controller.label} on {request.task} ({request.obs} observations):")
    for scenario, summary in result.summaries.items():
        flights.say("  " + flights.success_line(scenario, summary))
    flights.say(f"videos (first episode of each): {', '.join(videos.values())}")
    flights.say(f"summary: {o.out / 'summary.json'} ({wall} s)")
    return 0


COMMAND = Command(DemoOptions, run)
