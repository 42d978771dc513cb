"""Flight control: cascaded PID (velocity / position / attitude / rate), mixer, privileged experts."""

from .cascade import CascadedController, ControllerGains, PositionController, RateController, VelocityLimits
from .experts import Expert, ExpertConfig, make_expert
from .mixer import Mixer

__all__ = ["CascadedController", "ControllerGains", "Expert", "ExpertConfig", "Mixer", "PositionController",
           "RateController", "VelocityLimits", "make_expert"]
