"""``ltc-drones rollout``: a quick look at a controller, with a video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import checks, flights
from .command import Command, UsageError


@dataclass(frozen=True)
class RolloutOptions:
    """Fly a controller for a few episodes of one scenario, print each episode's outcome and the success count
    with its 95 % Wilson interval, and optionally write a video of the first episode (chase view beside the
    onboard camera). For many episodes and several scenarios with full metrics, use an evaluation. Multi-agent
    tasks (multi-follow, multi-fly-to-target): one controller flies every drone; the video shows the whole team in
    the chase view beside one agent's onboard view (--follower)."""

    agent: str
    """Agent checkpoint file or run folder, `expert` (the privileged expert) or `scripted:<name>`."""
    task: str | None = None
    """Task key; None: the agent's own task (fly-to-target for the expert). Multi-agent tasks: multi-follow,
    multi-fly-to-target."""
    num_drones: int | None = None
    """Drones of a multi-agent task (2-8); default: the agent's trained team size, 4 for the expert."""
    follower: int = 0
    """Multi-agent tasks: the agent (0 .. num_drones - 1) whose onboard view the video shows."""
    scenario: str = "nominal"
    """Scenario (name or name@level; `ltc-drones envs` lists them)."""
    episodes: int = 3
    """Episodes to fly (the test seeds --seed, --seed + 1, ...)."""
    seed: int = 0
    """First test seed (see ltc_drones.seeding)."""
    video: Path | None = None
    """Video of the first episode (.mp4 or .gif); None: no video."""


def run(o: RolloutOptions) -> int:
    checks.at_least("--episodes", o.episodes, 1)
    if o.video is not None:
        checks.video_path("--video", o.video)
    request = flights.request_for(o.agent, o.task, [o.scenario], o.episodes, o.seed, o.num_drones)
    if request.multi_agent:
        checks.at_least("--follower", o.follower, 0)
        if o.follower >= request.num_drones:
            raise UsageError(f"--follower {o.follower}: the team has {request.num_drones} drones (agents 0 to "
                             f"{request.num_drones - 1})")
    elif o.follower != 0:
        raise UsageError(f"--follower selects an agent of a multi-agent task; {request.task} flies one drone")
    result = flights.evaluate_request(request, workers=1)
    for record in result.records:
        flights.say(flights.outcome(record))
    flights.say(flights.success_line(o.scenario, result.summaries[o.scenario]))
    if o.video is not None:
        path, _ = flights.record_video(request, o.scenario, result.records[0]["seed"], o.video, o.follower)
        flights.say(f"video of episode 0: {path}")
    return 0


COMMAND = Command(RolloutOptions, run)
