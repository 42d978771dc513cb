"""Liquid neural network cores (LTC, CfC, NCP wirings), baselines and policies.

Depends on torch and numpy only.
"""

from ltc_drones.models.base import CoreConfigError, CoreInputError, RecurrentCore
from ltc_drones.models.cfc import CfC, CfCConfig
from ltc_drones.models.convert import ConversionError, from_ncps
from ltc_drones.models.ctrnn import CTRNN, CTRNNConfig
from ltc_drones.models.gated_rnn import GatedRNNConfig, GRUCore, LSTMCore, MLPConfig, MLPCore
from ltc_drones.models.ltc import LTC, LTCConfig
from ltc_drones.models.ode_rnn import ODERNN, ODERNNConfig
from ltc_drones.models.policy import Policy, PolicyConfig, PolicyConfigError, trainable_parameters
from ltc_drones.models.policy_io import PolicyFileError, export_torchscript, load_policy, save_policy
from ltc_drones.models.registry import CORE_NAMES, core_config_dict, make_core
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
    "CORE_NAMES", "CTRNN", "LTC", "NCP", "ODERNN", "AutoNCP", "CTRNNConfig", "CfC", "CfCConfig",
    "ConversionError", "CoreConfigError", "CoreInputError", "ExplicitWiring", "FullyConnected", "GRUCore",
    "GatedRNNConfig", "LSTMCore", "LTCConfig", "MLPConfig", "MLPCore", "ODERNNConfig", "Policy",
    "PolicyConfig", "PolicyConfigError", "PolicyFileError", "RecurrentCore", "WiredCfC", "WiredCfCConfig",
    "Wiring", "WiringGraph", "core_config_dict", "draw_wiring", "export_torchscript", "from_ncps",
    "load_policy", "make_core", "save_policy", "trainable_parameters", "wiring_from_config",
]
