"""Core registry: ``make_core(name, input_size, output_size, **config)``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ltc_drones.models.base import CoreConfigError, RecurrentCore, build_config
from ltc_drones.models.cfc import CfC, CfCConfig
from ltc_drones.models.ctrnn import CTRNN, CTRNNConfig
from ltc_drones.models.gated_rnn import GatedRNNConfig, GRUCore, LSTMCore, MLPConfig, MLPCore
from ltc_drones.models.ltc import LTC, LTCConfig
from ltc_drones.models.ode_rnn import ODERNN, ODERNNConfig
from ltc_drones.models.wired_cfc import WiredCfC, WiredCfCConfig

# name -> (core class, config class, defaults that differ from the config class's own)
_REGISTRY: dict[str, tuple[Callable[..., RecurrentCore], type, dict[str, Any]]] = {
    "ltc": (LTC, LTCConfig, {"wiring": "fully_connected", "units": 32}),
    "ltc-ncp": (LTC, LTCConfig, {"wiring": "auto_ncp", "units": 19}),
    "cfc": (CfC, CfCConfig, {}),
    "cfc-ncp": (WiredCfC, WiredCfCConfig, {}),
    "ctrnn": (CTRNN, CTRNNConfig, {}),
    "lstm": (LSTMCore, GatedRNNConfig, {}),
    "gru": (GRUCore, GatedRNNConfig, {}),
    "mlp": (MLPCore, MLPConfig, {}),
    "ode-rnn": (ODERNN, ODERNNConfig, {}),
}
CORE_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def make_core(name: str, input_size: int, output_size: int, **config: Any) -> RecurrentCore:
    """Build a core by registry name.

    Args:
        name: one of :data:`CORE_NAMES`.
        input_size: features per step F.
        output_size: outputs per step O.
        **config: fields of the core's config dataclass (e.g. ``units=19, unfolds=6``).

    Returns:
        The core; ``core.core_name == name`` and ``core_config_dict(core)`` rebuilds it.

    Raises:
        CoreConfigError: unknown name or config key (the message lists the valid ones), bad values.
    """
    if name not in _REGISTRY:
        raise CoreConfigError(f"unknown core {name!r}; valid names: {list(CORE_NAMES)}")
    if input_size < 1 or output_size < 1:
        raise CoreConfigError(f"input_size and output_size must be >= 1, got {input_size}, {output_size}")
    cls, cfg_cls, defaults = _REGISTRY[name]
    cfg = build_config(cfg_cls, name, {**defaults, **config})
    core = cls(input_size, output_size, cfg)
    core.core_name = name
    return core


def core_config_dict(core: RecurrentCore) -> dict[str, Any]:
    """JSON-friendly config of a core (tuples become lists)."""
    out = dataclasses.asdict(core.config)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
