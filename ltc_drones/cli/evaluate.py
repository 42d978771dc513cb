"""``ltc-drones evaluate``: success rates with intervals over many seeded episodes per scenario."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..diagnostics.closed_loop import ClosedLoopDiagnostics
from . import checks
from .command import Command, usage_checks


@dataclass(frozen=True)
class EvaluateOptions:
    """Fly an agent (or the expert, or a scripted controller) for many seeded episodes in each scenario, in
    parallel worker processes; print a table (scenario x metric) and write per-episode records (JSONL) and
    per-scenario summaries. Every scenario uses the same episode seeds. Resumable: run the same command again
    to finish an interrupted evaluation. With --diagnostics, also attention on the target and causal interventions
    (see --diagnostics). Multi-agent tasks (multi-follow, multi-fly-to-target; --num-drones): one controller flies
    every drone (the team expert, or an agent with one recurrent state per drone); the table shows team success,
    agent success, collision and crash rates and the task's metrics."""

    agent: str
    """Agent checkpoint file or folder (e.g. agents/fly-to-target__ltc-ncp__rgb), 'expert', or 'scripted:<name>'
    (hover-in-place, spin-in-place, fly-away)."""
    task: str | None = None
    """Task key; default: the agent's task (fly-to-target for the expert and scripted controllers). Multi-agent
    tasks: multi-follow, multi-fly-to-target."""
    num_drones: int | None = None
    """Drones of a multi-agent task (2-8); default: the agent's trained team size, 4 for the expert and scripted
    controllers."""
    scenarios: str = "nominal"
    """Comma-separated scenarios, severity levels as name@level: e.g. nominal,fog@3,wind-gusts@5 (`ltc-drones
    envs` lists the shifts and their levels)."""
    episodes: int = 100
    """Episodes per scenario."""
    seed: int = 0
    """First episode seed (test seeds; see ltc_drones.seeding)."""
    workers: int = 2
    """Worker processes (one torch thread each)."""
    obs: str | None = None
    """Observation mode for the expert or a scripted controller (kin, rgb, rgb_kin); agents use their own."""
    out: Path | None = None
    """Output folder (default: runs/eval/<agent>__<task>__seed<seed>)."""
    diagnostics: bool = False
    """Also log diagnostics. Image agents: a sanity check of each saliency method (cascading weight randomisation,
    once, on frames of 2 nominal episodes), then at every step of every episode the attention ratio on the target,
    distractors and scenery of VisualBackProp (flagged if it fails) and of the gradient methods that pass. Every
    controller on fly-to-target or follow-target: causal interventions (target jump, swap, hide;
    --intervention-episodes per kind). Adds them to records.jsonl, summary.json, summary.csv and table.md
    (checks.json and interventions.jsonl beside them)."""
    diagnostics_methods: str = ",".join(ClosedLoopDiagnostics.methods)
    """Comma-separated saliency methods for --diagnostics: visual_backprop, saliency, input_x_gradient,
    integrated_gradients."""
    intervention_episodes: int = ClosedLoopDiagnostics.intervention_episodes
    """Episodes per intervention kind for --diagnostics (the first test seeds; 0: no interventions)."""
    intervention_scenarios: Literal["first", "all"] = "first"
    """Where --diagnostics flies the interventions: the first scenario of --scenarios, or all of them."""


def run(o: EvaluateOptions) -> int:
    from ..evaluation import evaluate
    from ..evaluation.evaluator import make_request

    checks.at_least("--episodes", o.episodes, 1)
    checks.at_least("--workers", o.workers, 1)
    checks.at_least("--intervention-episodes", o.intervention_episodes, 0)
    scenarios = [s.strip() for s in o.scenarios.split(",") if s.strip()]
    with usage_checks():
        diagnostics = None
        if o.diagnostics:
            methods = tuple(m.strip() for m in o.diagnostics_methods.split(",") if m.strip())
            diagnostics = ClosedLoopDiagnostics(methods=methods, intervention_episodes=o.intervention_episodes,
                                                intervention_scenarios=o.intervention_scenarios)
        task = o.task
        if task is None:
            from ..evaluation import ControllerSpec

            spec = ControllerSpec.parse(o.agent).env_spec()
            task = spec["task"] if spec else "fly-to-target"
        request = make_request(o.agent, task, scenarios, o.episodes, o.seed, o.obs,
                               num_drones=o.num_drones)  # refuses before flying
    name = Path(o.agent.rstrip("/")).name.removesuffix(".pt").replace(":", "-")
    team = f"__n{request.num_drones}" if request.multi_agent else ""
    out = o.out or Path("runs") / "eval" / f"{name}__{task}{team}__seed{o.seed}"
    checks.writable_folder("--out", out)
    result = evaluate(o.agent, task, scenarios, o.episodes, seed=o.seed, workers=o.workers, out=out, obs=request.obs,
                      diagnostics=diagnostics, num_drones=request.num_drones)
    print(result.table())
    total = sum(s["successes"] for s in result.summaries.values())
    what = f"team successes with {request.num_drones} drones" if request.multi_agent else "successes"
    print(f"{request.controller.label} on {task} (obs={request.obs}): {total}/{len(result.records)} {what} over "
          f"{len(scenarios)} scenario(s); records and summary in {out}")
    return 0


COMMAND = Command(EvaluateOptions, run, config="")
