"""Diagnostics of trained policies in closed loop: saliency (VisualBackProp, gradient methods via captum),
sanity checks of the saliency methods, attention on the target and its stability, the ``diagnose`` report;
causal interventions (target jump, swap, hiding), neural dynamics per layer and expressivity (trajectory length);
per-agent diagnostics of a shared policy on multi-agent tasks (``team``: attention on the leader against the other
drones);
``ClosedLoopDiagnostics``, the evaluator's diagnostics provider (``evaluate(..., diagnostics=...)``, benchmarks).

captum (gradient saliency) and matplotlib (plots) come with the ``diagnostics`` extra and are imported only
where they are used.
"""

from .attention import REGIONS, StepAttention, attention_ratio, region_ratios, ssim, stability, step_attention
from .closed_loop import ClosedLoopDiagnostics
from .dynamics import ActivityTrace, activity_summary, explained_variance, record_activity, synapse_activity
from .expressivity import trajectory_length
from .interventions import KINDS, InterventionConfig, intervention_suite, run_intervention, summarize_interventions
from .report import DiagnoseConfig, diagnose_single, prepare
from .saliency import GRADIENT_METHODS, METHODS, Attribution, attribute, gradient_attribution, visual_backprop
from .sanity import SANITY_THRESHOLD, SanityResult, cascading_randomisations, sanity_check
from .team_report import diagnose_team

__all__ = [
    "GRADIENT_METHODS", "METHODS", "REGIONS", "SANITY_THRESHOLD", "Attribution", "DiagnoseConfig", "SanityResult",
    "StepAttention", "attention_ratio", "attribute", "cascading_randomisations", "diagnose", "gradient_attribution",
    "region_ratios", "sanity_check", "ssim", "stability", "step_attention", "visual_backprop",
    "KINDS", "ActivityTrace", "InterventionConfig", "activity_summary", "explained_variance", "intervention_suite",
    "record_activity", "run_intervention", "summarize_interventions", "synapse_activity", "trajectory_length",
    "ClosedLoopDiagnostics",
]


def diagnose(cfg: DiagnoseConfig, out, progress: bool = True) -> dict:
    """Fly ``cfg.episodes`` episodes (team episodes on a multi-agent task), measure saliency, run the checks, write
    the report folder ``out`` (see :mod:`.report` and :mod:`.team`); returns the content of ``metrics.json``."""
    request, agent = prepare(cfg)
    report = diagnose_team if request.multi_agent else diagnose_single
    return report(cfg, request, agent, out, progress)
