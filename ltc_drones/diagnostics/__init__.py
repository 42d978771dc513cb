"""Diagnostics of trained policies in closed loop: saliency (VisualBackProp, gradient methods via captum),
sanity checks of the saliency methods, attention on the target and its stability, the ``diagnose`` report.

captum (gradient saliency) and matplotlib (plots) come with the ``diagnostics`` extra and are imported only
where they are used.
"""

from .attention import REGIONS, StepAttention, attention_ratio, region_ratios, ssim, stability, step_attention
from .report import DiagnoseConfig, diagnose
from .saliency import GRADIENT_METHODS, METHODS, Attribution, attribute, gradient_attribution, visual_backprop
from .sanity import SANITY_THRESHOLD, SanityResult, cascading_randomisations, sanity_check

__all__ = [
    "GRADIENT_METHODS", "METHODS", "REGIONS", "SANITY_THRESHOLD", "Attribution", "DiagnoseConfig", "SanityResult",
    "StepAttention", "attention_ratio", "attribute", "cascading_randomisations", "diagnose", "gradient_attribution",
    "region_ratios", "sanity_check", "ssim", "stability", "step_attention", "visual_backprop",
]
