"""What ``demo`` and ``rollout`` share: validate a flight request before anything flies, fly it with the
evaluator, record a video of one episode per scenario, print the outcomes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .command import usage_checks


def request_for(controller: str, task: str | None, scenarios: list[str], episodes: int, seed: int,
                num_drones: int | None = None):
    """The evaluator's validated request (unknown controller, task or scenario, or an agent trained for another
    task, are usage errors); ``task`` None: the agent's own task (``fly-to-target`` for the expert);
    ``num_drones``: drones of a multi-agent task (None: the agent's, else 4)."""
    from ..evaluation.evaluator import ControllerSpec, make_request

    with usage_checks():
        spec = ControllerSpec.parse(controller)
        env_spec = spec.env_spec()
        if task is None:
            task = env_spec["task"] if env_spec else "fly-to-target"
        return make_request(spec, task, scenarios, episodes, seed, num_drones=num_drones)


def evaluate_request(request, workers: int) -> Any:
    """Every episode of ``request`` (same seeds in every scenario), in ``workers`` processes."""
    from ..evaluation import evaluate

    return evaluate(request.controller, request.task, request.scenarios, request.episodes, request.seed,
                    workers=workers, obs=request.obs, act=request.act, num_drones=request.num_drones)


def record_video(request, scenario: str, seed: int, path: Path, follower: int = 0) -> tuple[Path, Any]:
    """Fly episode ``seed`` of ``scenario`` again, recording the chase view beside the onboard view, into ``path``
    (multi-agent tasks: the whole team in the chase view, agent ``follower``'s onboard view beside it)."""
    from ..evaluation import record_episode, write_video

    env = request.make_env(scenario, render_mode="rgb_array")
    try:
        controller = request.controller.build(env)
        record = record_episode(env, controller, seed, follower)
        return write_video(path, record.frames, fps=env.unwrapped.clock.ctrl_hz), record
    finally:
        env.close()


def outcome(record: dict[str, Any]) -> str:
    """One line for an episode record."""
    what = "success" if record["success"] else "crash" if record["crashed"] else "failure"
    if "agent_success" in record:  # a team episode
        agents = record["agent_success"]
        return (f"episode {record['episode']} (seed {record['seed']}): team {what} after {record['time_s']:.1f} s, "
                f"{sum(agents)}/{len(agents)} agents succeeded, {record['collisions']} collision(s)")
    return (f"episode {record['episode']} (seed {record['seed']}): {what} after {record['time_s']:.1f} s, "
            f"final distance {record['final_distance_m']:.2f} m")


def success_line(scenario: str, summary: dict[str, Any]) -> str:
    """``scenario: k/n successes (p %, 95 % Wilson interval [lo, hi] %)`` (team successes for a team)."""
    lo, hi = summary["success_ci95"]
    team = "team " if "agent_success_rate" in summary else ""
    return (f"{scenario}: {summary['successes']}/{summary['episodes']} {team}successes "
            f"({100 * summary['success_rate']:.0f} %, 95 % Wilson interval {100 * lo:.0f}-{100 * hi:.0f} %)")


def say(text: str) -> None:
    print(text, file=sys.stdout, flush=True)
