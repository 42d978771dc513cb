"""Liquid neural network cores (LTC, CfC, NCP wirings), baselines and policies.

Depends on torch and numpy only.
"""

from ltc_drones.models.base import CoreConfigError, CoreInputError, RecurrentCore
from ltc_drones.models.cfc import CfC, CfCConfig
from ltc_drones.models.convert import ConversionError, from_ncps
from ltc_drones.models.ltc import LTC, LTCConfig
from ltc_drones.models.wired_cfc import WiredCfC, WiredCfCConfig
from ltc_drones.models.wiring import (
    NCP,
    AutoNCP,
    ExplicitWiring,
    FullyConnected,
    Wiring,
    WiringGraph,
    wiring_from_config,
)
from ltc_drones.models.wiring_draw import draw_wiring

__all__ = [
    "NCP", "LTC", "AutoNCP", "CfC", "CfCConfig", "ConversionError", "CoreConfigError", "CoreInputError",
    "ExplicitWiring", "FullyConnected", "LTCConfig", "RecurrentCore", "WiredCfC", "WiredCfCConfig",
    "Wiring", "WiringGraph", "draw_wiring", "from_ncps", "wiring_from_config",
]
