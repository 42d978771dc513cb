"""``ltc-drones diagnose``: saliency, attention on the target, sanity checks and stability of an agent in flight."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import tyro

from ..diagnostics.report import DiagnoseConfig
from . import checks
from .command import Command, usage_checks


@dataclass(frozen=True)
class DiagnoseOptions:
    """Fly an agent for a few seeded episodes of one scenario and take its saliency at every step (VisualBackProp
    for conv heads; saliency, input x gradient and integrated gradients through the recurrent state, via captum).
    Writes a report folder: metrics.json (attention on the target, distractors, scenery, ground and sky per
    episode and for the scenario with 95 % bootstrap intervals; model-randomisation sanity checks and their
    flags; attention stability against pixel noise), gallery.png, attention.png, stability.png and video.mp4
    (saliency overlay on the onboard view beside the chase view, first episode). kin agents get per-feature
    attributions (features.png) instead of maps. Multi-agent tasks (--task multi-follow --num-drones 2, an agent
    trained there): the shared policy flies the team and each agent's saliency is taken on its own onboard view
    through its own recurrent state; the report gives attention on the leader (target) and on the other drones
    per agent and pooled, how often the leader draws more attention than the other drones, and a gallery of each
    agent's view with its saliency."""

    diagnosis: Annotated[DiagnoseConfig, tyro.conf.arg(name="")]
    out: Path | None = None
    """Report folder (default: runs/diagnose/<agent>__<scenario>__seed<seed>)."""


def run(o: DiagnoseOptions) -> int:
    from ..diagnostics import diagnose
    from ..diagnostics.report import prepare

    cfg = o.diagnosis
    checks.at_least("--episodes", cfg.episodes, 1)
    checks.existing("--agent", cfg.agent)
    with usage_checks():
        prepare(cfg)  # refuses an unknown task or scenario, or an agent of another task, before flying
    name = Path(cfg.agent.rstrip("/")).name.removesuffix(".pt")
    out = o.out or Path("runs") / "diagnose" / f"{name}__{cfg.scenario}__seed{cfg.seed}"
    checks.writable_folder("--out", out)
    report = diagnose(cfg, out)
    for line in summary_lines(report):
        print(line)
    print(f"report in {out}: {', '.join(report['files'])} ({report['wall_time_s']:.0f} s)")
    return 0


def _interval(block: dict[str, Any]) -> str:
    if block["mean"] is None:
        return "not in view"
    ci = block["ci95"]
    return f"{block['mean']:.2f}" + ("" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def _contrast(leader: str, block: dict[str, Any]) -> str:
    if block["mean"] is None:
        return f"{leader} and other drones never both in view"
    ci = block["ci95"]
    return (f"{leader} above other drones on {100 * block['mean']:.0f} %"
            + ("" if ci is None else f" [{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]")
            + f" of {block['frames_both_in_view']} frames with both in view")


def team_summary_lines(report: dict[str, Any]) -> list[str]:
    """Multi-agent report: per method, attention on the leader (targets) against the other drones, pooled over the
    diagnosed agents and per agent."""
    from ..diagnostics.team_report import CONTRAST_KEY

    flags = report["failed_sanity"]
    leader = "leader" if report["regions"]["target"] == "the leader" else "targets"
    lines = [f"{report['config']['agent']} on {report['task']} ({report['num_drones']} drones) / "
             f"{report['config']['scenario']}: {100 * report['success_rate']:.0f} % team success over "
             f"{len(report['episodes'])} episode(s); per agent "
             + ", ".join(f"{a} {100 * r:.0f} %" for a, r in report["agent_success_rate"].items())]
    for m, block in report["summary"].items():
        att, tag = block["attention"], " (FAILED sanity check)" if flags[m] else ""
        lines.append(f"{m}{tag}: follower attention: {leader} {_interval(att['target'])}, other drones "
                     f"{_interval(att['drone'])}; {_contrast(leader, block[CONTRAST_KEY])}")
        for a, ab in block["agents"].items():
            lines.append(f"  {a}: {leader} {_interval(ab['attention']['target'])}, other drones "
                         f"{_interval(ab['attention']['drone'])}, scenery {_interval(ab['attention']['scenery'])}; "
                         f"{_contrast(leader, ab[CONTRAST_KEY])}")
    lines.append("(attention ratio: saliency share / area share, 1 = no preference; mean over episodes [95 % "
                 "bootstrap over episodes]; fractions: episode means of the per-frame comparison)")
    return lines


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A short table of the report: one row per method (multi-agent reports: :func:`team_summary_lines`)."""
    if "num_drones" in report:
        return team_summary_lines(report)
    flags = report["failed_sanity"]
    lines = [f"{report['config']['agent']} on {report['task']} / {report['config']['scenario']}: "
             f"{100 * report['success_rate']:.0f} % success over {len(report['episodes'])} episode(s)"]
    if "summary" in report:
        noise = report["stability"]["noise_std"]
        lines.append(f"| method | target | distractor | scenery | SSIM at noise {noise[-1]:g} | sanity |")
        lines.append("|---|---|---|---|---|---|")
        for m, block in report["summary"].items():
            att = block["attention"]
            ssim = report["stability"]["methods"][m]["ssim_mean"][-1]
            lines.append(f"| {m} | {_interval(att['target'])} | {_interval(att['distractor'])} | "
                         f"{_interval(att['scenery'])} | {ssim:.2f} | {'FAILED' if flags[m] else 'passed'} |")
        lines.append("(attention ratio: saliency share / area share, 1 = no preference; mean over episodes "
                     "[95 % bootstrap])")
    for m, block in report.get("features", {}).items():
        top = sorted(block["share"].items(), key=lambda kv: -kv[1]["mean"])[:4]
        lines.append(f"{m}{' (failed sanity check)' if flags[m] else ''}: largest attribution shares "
                     + ", ".join(f"{k} {v['mean']:.2f}" for k, v in top))
    return lines


COMMAND = Command(DiagnoseOptions, run, config="diagnosis")
