"""Convert ``ncps`` (1.0.1) LTC / CfC modules into our cores with identical behaviour.

Neuron order: ``ncps``' ``LTCCell`` numbers motor neurons first (NCP: motor, command, inter); ours are
numbered from the sensory side (inter, command, motor), so LTC parameters are permuted. ``ncps``'
``WiredCfCCell`` already stores its state layer by layer (inter, command, motor), like ours.

``ncps`` is only needed by the caller (it is a test dependency); this module does not import it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ltc_drones.models.base import CoreConfigError, RecurrentCore
from ltc_drones.models.cfc import CfC, CfCConfig
from ltc_drones.models.ltc import LTC, LTCConfig
from ltc_drones.models.wired_cfc import WiredCfC, WiredCfCConfig
from ltc_drones.models.wiring import ExplicitWiring


class ConversionError(TypeError):
    """The module cannot be converted (unsupported type or option)."""


def _layers_of(wiring: Any) -> list[list[int]] | None:
    """ncps neuron ids per layer (inter, command, motor) for an NCP wiring, else None."""
    if type(wiring).__name__ in ("NCP", "AutoNCP"):
        return [list(wiring.get_neurons_of_layer(i)) for i in range(wiring.num_layers)]
    return None


def _explicit_wiring(wiring: Any, perm: list[int], layers: list[list[int]]) -> ExplicitWiring:
    adj = wiring.adjacency_matrix[perm][:, perm]
    sens = wiring.sensory_adjacency_matrix[:, perm]
    sizes, start, ours = [len(layer) for layer in layers], 0, []
    for size in sizes:
        ours.append(tuple(range(start, start + size)))
        start += size
    return ExplicitWiring(sens, adj, tuple(ours), int(wiring.output_dim))


def _ltc_from_ncps(module: nn.Module) -> LTC:
    cell = getattr(module, "rnn_cell", module)
    if getattr(module, "use_mixed", False):
        raise ConversionError("ncps LTC with mixed_memory=True is not supported; use mixed_memory=False")
    wiring = cell._wiring
    n, o = int(wiring.units), int(wiring.output_dim)
    layers = _layers_of(wiring)
    if layers is not None:
        perm = [i for layer in layers for i in layer]
    else:  # fully connected / random: motor neurons are ncps ids 0..o-1; ours are the last o
        perm = list(range(o, n)) + list(range(o))
        layers = [perm]
    explicit = _explicit_wiring(wiring, perm, layers)

    def mapping(name: str) -> str:
        return name if name in ("affine", "linear") else "none"

    config = LTCConfig(
        wiring_config=explicit.to_config(), units=n, unfolds=int(cell._ode_unfolds),
        input_mapping=mapping(cell._input_mapping), output_mapping=mapping(cell._output_mapping),
        epsilon=float(cell._epsilon), positive="softplus" if cell._implicit_param_constraints else "clip",
    )
    ref = next(iter(cell.parameters()))
    core = LTC(int(wiring.input_dim), o, config).to(dtype=ref.dtype, device=ref.device)
    p = cell._params
    idx = torch.as_tensor(perm, device=ref.device)
    with torch.no_grad():
        for name in ("gleak", "vleak", "cm"):
            getattr(core, name).copy_(p[name][idx])
        for name in ("sigma", "mu", "w", "erev"):
            getattr(core, name).copy_(p[name][idx][:, idx])
        for name in ("sensory_sigma", "sensory_mu", "sensory_w", "sensory_erev"):
            getattr(core, name).copy_(p[name][:, idx])
        for name in ("input_w", "input_b", "output_w", "output_b"):
            if getattr(core, name) is not None:
                getattr(core, name).copy_(p[name])
    return core


def _cfc_from_ncps(module: nn.Module) -> RecurrentCore:
    if getattr(module, "use_mixed", False):
        raise ConversionError("ncps CfC with mixed_memory=True is not supported; use mixed_memory=False")
    cell = getattr(module, "rnn_cell", module)
    fc = getattr(module, "fc", None)
    ref = next(iter(cell.parameters()))
    if type(cell).__name__ == "WiredCfCCell":
        if isinstance(fc, nn.Linear):
            raise ConversionError("wired ncps CfC with proj_size is not supported; use proj_size=None")
        wiring = cell._wiring
        layers = _layers_of(wiring) or [list(range(int(wiring.units)))]
        perm = [i for layer in layers for i in layer]
        explicit = _explicit_wiring(wiring, perm, layers)
        mode = cell._layers[0].mode
        wcore = WiredCfC(int(wiring.input_dim), int(wiring.output_dim),
                         WiredCfCConfig(wiring_config=explicit.to_config(), mode=mode))
        wcore = wcore.to(dtype=ref.dtype, device=ref.device)
        for ours, theirs in zip(wcore.layers, cell._layers, strict=True):
            ours.load_ncps(theirs)
        core: RecurrentCore = wcore
    else:
        if cell.sparsity_mask is not None:
            raise ConversionError("a bare CfCCell with a sparsity mask is not supported; use WiredCfCCell")
        backbone = cell.backbone
        act = type(backbone[1]).__name__ if backbone is not None else "LeCun"
        activation = {"LeCun": "lecun_tanh", "SiLU": "silu", "ReLU": "relu", "Tanh": "tanh",
                      "GELU": "gelu"}[act]
        linears = [m for m in backbone if isinstance(m, nn.Linear)] if backbone is not None else []
        dropouts = [m.p for m in backbone if isinstance(m, nn.Dropout)] if backbone is not None else []
        proj = fc if isinstance(fc, nn.Linear) else None
        cfg = CfCConfig(
            units=int(cell.hidden_size), mode=cell.mode, backbone_activation=activation,
            backbone_units=linears[0].out_features if linears else 0, backbone_layers=len(linears),
            backbone_dropout=float(dropouts[0]) if dropouts else 0.0, projection=proj is not None,
        )
        out = proj.out_features if proj is not None else int(cell.hidden_size)
        ccore = CfC(int(cell.input_size), out, cfg).to(dtype=ref.dtype, device=ref.device)
        ccore.load_ncps(cell, proj)
        core = ccore
    return core


def from_ncps(module: nn.Module) -> RecurrentCore:
    """Turn an ``ncps.torch`` ``LTC``/``LTCCell``/``CfC``/``CfCCell``/``WiredCfCCell`` into our core.

    The result computes the same outputs for the same inputs, state (in our neuron order) and elapsed
    times. For the LTC the state is permuted: ``our_state = ncps_state[:, perm]`` with ``perm`` the
    inter, command, motor ids of the ncps wiring (motor ids last for a fully connected wiring).

    Raises:
        ConversionError: unsupported module or option (e.g. ``mixed_memory=True``).
    """
    cls = type(module).__name__
    if cls in ("LTC", "LTCCell"):
        return _ltc_from_ncps(module)
    if cls in ("CfC", "CfCCell", "WiredCfCCell"):
        return _cfc_from_ncps(module)
    raise ConversionError(
        f"cannot convert {cls}; expected an ncps LTC, LTCCell, CfC, CfCCell or WiredCfCCell"
    )


__all__ = ["ConversionError", "CoreConfigError", "from_ncps"]
