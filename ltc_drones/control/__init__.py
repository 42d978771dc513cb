"""Flight control: cascaded PID (velocity / position / attitude / rate), mixer, privileged experts,
scripted baselines, and the acting protocol they share with trained agents."""

from .cascade import CascadedController, ControllerGains, PositionController, RateController, VelocityLimits
from .experts import Expert, ExpertConfig
from .mixer import Mixer
from .protocol import Controller
from .scripted import SCRIPTED, ConstantAction, FlyAway, HoverInPlace, SpinInPlace, make_scripted

__all__ = ["SCRIPTED", "CascadedController", "ConstantAction", "Controller", "ControllerGains", "Expert",
           "ExpertConfig", "FlyAway", "HoverInPlace", "Mixer", "PositionController", "RateController",
           "SpinInPlace", "VelocityLimits", "make_scripted"]
