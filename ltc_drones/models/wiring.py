"""Wirings: seeded synapse graphs for liquid cores (fully connected, NCP, AutoNCP, explicit).

A *wiring* is a small frozen spec (sizes, fan-outs, seed). ``wiring.build(input_dim)`` turns it into a
:class:`WiringGraph`: the sensory and recurrent adjacency matrices with synapse polarity (+1 excitatory,
-1 inhibitory, 0 no synapse) and the neuron layers.

Neuron order convention (ours, for every wiring): neurons are numbered layer by layer from the sensory
side to the motor side, so an NCP is ``[inter..., command..., motor...]`` and the **output (motor)
neurons are always the last** ``output_dim`` neurons. (``ncps``' ``LTCCell`` stores motor neurons first;
:func:`ltc_drones.models.from_ncps` permutes.)

The NCP construction follows Lechner et al., "Neural circuit policies enabling auditable autonomy",
Nature Machine Intelligence 2020: sensory -> inter (fan-out), inter -> command (fan-out), recurrent
command synapses, command -> motor (fan-in); neurons left unreached get a minimal set of synapses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

WIRING_KINDS = ("fully_connected", "ncp", "auto_ncp", "explicit")


@dataclass(frozen=True, eq=False)
class WiringGraph:
    """A built wiring: who connects to whom, with which polarity.

    Attributes:
        sensory_adjacency: int8 array [input_dim, units]; entry [s, n] is the polarity of the synapse from
            input feature s to neuron n (0 = none).
        adjacency: int8 array [units, units]; entry [i, j] is the polarity of synapse i -> j.
        layers: neuron ids per layer, from the first layer after the inputs to the motor layer.
        output_dim: number of motor neurons; they are the last ``output_dim`` neurons.
    """

    sensory_adjacency: np.ndarray
    adjacency: np.ndarray
    layers: tuple[tuple[int, ...], ...]
    output_dim: int

    def __post_init__(self) -> None:
        n = self.adjacency.shape[0]
        if self.adjacency.shape != (n, n):
            raise ValueError(f"adjacency must be square, got {self.adjacency.shape}")
        if self.sensory_adjacency.ndim != 2 or self.sensory_adjacency.shape[1] != n:
            raise ValueError(
                f"sensory_adjacency must be [input_dim, {n}], got {self.sensory_adjacency.shape}"
            )
        for name, mat in (("adjacency", self.adjacency), ("sensory_adjacency", self.sensory_adjacency)):
            if not np.isin(mat, (-1, 0, 1)).all():
                raise ValueError(f"{name} entries must be -1, 0 or +1 (synapse polarity)")
        ids = sorted(i for layer in self.layers for i in layer)
        if ids != list(range(n)):
            raise ValueError(f"layers must partition the {n} neurons exactly once, got {self.layers}")
        if not 1 <= self.output_dim <= n:
            raise ValueError(f"output_dim must be in [1, {n}], got {self.output_dim}")

    @property
    def units(self) -> int:
        """Number of neurons (state size)."""
        return int(self.adjacency.shape[0])

    @property
    def input_dim(self) -> int:
        """Number of input features (sensory neurons)."""
        return int(self.sensory_adjacency.shape[0])

    @property
    def motor_neurons(self) -> tuple[int, ...]:
        """Ids of the output neurons (the last ``output_dim``)."""
        return tuple(range(self.units - self.output_dim, self.units))

    @property
    def synapse_count(self) -> int:
        """Number of recurrent (neuron -> neuron) synapses."""
        return int(np.count_nonzero(self.adjacency))

    @property
    def sensory_synapse_count(self) -> int:
        """Number of input -> neuron synapses."""
        return int(np.count_nonzero(self.sensory_adjacency))


    def same_as(self, other: WiringGraph) -> bool:
        """True when both graphs have identical matrices, layers and outputs."""
        return (
            np.array_equal(self.adjacency, other.adjacency)
            and np.array_equal(self.sensory_adjacency, other.sensory_adjacency)
            and self.layers == other.layers
            and self.output_dim == other.output_dim
        )


class Wiring:
    """Base class: a frozen spec that builds a :class:`WiringGraph` for a given input size."""

    kind: str = ""
    units: int
    output_dim: int

    def build(self, input_dim: int) -> WiringGraph:
        """Build the graph for ``input_dim`` input features (deterministic for a given spec)."""
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """JSON-serialisable config; ``wiring_from_config(w.to_config())`` rebuilds the same graph."""
        out = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            val = getattr(self, f.name)
            out[f.name] = val.tolist() if isinstance(val, np.ndarray) else val
        return out


def _check_input_dim(input_dim: int) -> None:
    if not isinstance(input_dim, int | np.integer) or input_dim < 1:
        raise ValueError(f"input_dim must be a positive int, got {input_dim!r}")


@dataclass(frozen=True)
class FullyConnected(Wiring):
    """Every neuron connects to every neuron and every input feeds every neuron.

    Args:
        units: number of neurons.
        output_dim: number of motor (output) neurons, the last ``output_dim`` ones; ``None`` = all.
        seed: seed for the synapse polarities (2/3 excitatory).
        self_connections: keep i -> i synapses.
    """

    units: int
    output_dim: int | None = None
    seed: int = 1111
    self_connections: bool = True
    kind = "fully_connected"

    def __post_init__(self) -> None:
        if self.units < 1:
            raise ValueError(f"units must be >= 1, got {self.units}")
        if self.output_dim is not None and not 1 <= self.output_dim <= self.units:
            raise ValueError(
                f"output_dim={self.output_dim} does not fit {self.units} units; use 1..{self.units}"
            )

    def build(self, input_dim: int) -> WiringGraph:
        _check_input_dim(input_dim)
        rng = np.random.default_rng(self.seed)
        n = self.units
        adj = np.where(rng.random((n, n)) < 2.0 / 3.0, 1, -1).astype(np.int8)
        if not self.self_connections:
            np.fill_diagonal(adj, 0)
        sens = np.where(rng.random((input_dim, n)) < 2.0 / 3.0, 1, -1).astype(np.int8)
        out = self.units if self.output_dim is None else self.output_dim
        return WiringGraph(sens, adj, (tuple(range(n)),), out)


@dataclass(frozen=True)
class NCP(Wiring):
    """Neural circuit policy wiring: sensory -> inter -> command (recurrent) -> motor.

    Args:
        inter_neurons: size of the inter layer (receives the inputs).
        command_neurons: size of the command layer.
        motor_neurons: size of the motor layer (= number of outputs).
        sensory_fanout: synapses from each input to distinct inter neurons.
        inter_fanout: synapses from each inter neuron to distinct command neurons.
        recurrent_command_synapses: number of random command -> command synapses.
        motor_fanin: synapses into each motor neuron from distinct command neurons.
        seed: seed of the graph and polarities (polarity is +1/-1 with equal odds).
    """

    inter_neurons: int
    command_neurons: int
    motor_neurons: int
    sensory_fanout: int
    inter_fanout: int
    recurrent_command_synapses: int
    motor_fanin: int
    seed: int = 22222
    kind = "ncp"

    def __post_init__(self) -> None:
        for name in ("inter_neurons", "command_neurons", "motor_neurons", "sensory_fanout",
                     "inter_fanout", "motor_fanin"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.recurrent_command_synapses < 0:
            raise ValueError("recurrent_command_synapses must be >= 0")
        if self.sensory_fanout > self.inter_neurons:
            raise ValueError(
                f"sensory_fanout={self.sensory_fanout} exceeds inter_neurons={self.inter_neurons}; "
                "lower the fan-out or add inter neurons"
            )
        if self.inter_fanout > self.command_neurons:
            raise ValueError(
                f"inter_fanout={self.inter_fanout} exceeds command_neurons={self.command_neurons}; "
                "lower the fan-out or add command neurons"
            )
        if self.motor_fanin > self.command_neurons:
            raise ValueError(
                f"motor_fanin={self.motor_fanin} exceeds command_neurons={self.command_neurons}; "
                "lower the fan-in or add command neurons"
            )

    @property
    def units(self) -> int:  # type: ignore[override]
        return self.inter_neurons + self.command_neurons + self.motor_neurons

    @property
    def output_dim(self) -> int:  # type: ignore[override]
        return self.motor_neurons

    def build(self, input_dim: int) -> WiringGraph:
        _check_input_dim(input_dim)
        rng = np.random.default_rng(self.seed)
        n_i, n_c = self.inter_neurons, self.command_neurons
        inter = np.arange(0, n_i)
        command = np.arange(n_i, n_i + n_c)
        motor = np.arange(n_i + n_c, self.units)
        sens = np.zeros((input_dim, self.units), np.int8)
        adj = np.zeros((self.units, self.units), np.int8)

        def fan(mat: np.ndarray, srcs: np.ndarray, dsts: np.ndarray, fanout: int) -> None:
            # Each source gets `fanout` distinct targets; targets left without input then get
            # roughly the mean fan-in (at least 1) from random sources.
            reached = set()
            for s in srcs:
                for d in rng.choice(dsts, size=fanout, replace=False):
                    mat[s, d] = 1 if rng.random() < 0.5 else -1
                    reached.add(int(d))
            fanin = int(np.clip(len(srcs) * fanout // len(dsts), 1, len(srcs)))
            for d in dsts:
                if int(d) not in reached:
                    for s in rng.choice(srcs, size=fanin, replace=False):
                        mat[s, d] = 1 if rng.random() < 0.5 else -1

        fan(sens, np.arange(input_dim), inter, self.sensory_fanout)
        fan(adj, inter, command, self.inter_fanout)
        for _ in range(self.recurrent_command_synapses):
            s, d = rng.choice(command), rng.choice(command)
            adj[s, d] = 1 if rng.random() < 0.5 else -1
        # Command -> motor is specified by fan-in: build it transposed, then copy back.
        unreached = set(int(c) for c in command)
        for d in motor:
            for s in rng.choice(command, size=self.motor_fanin, replace=False):
                adj[s, d] = 1 if rng.random() < 0.5 else -1
                unreached.discard(int(s))
        fanout = int(np.clip(len(motor) * self.motor_fanin // len(command), 1, len(motor)))
        for s in sorted(unreached):
            for d in rng.choice(motor, size=fanout, replace=False):
                adj[s, d] = 1 if rng.random() < 0.5 else -1
        layers = (tuple(int(i) for i in inter), tuple(int(i) for i in command), tuple(int(i) for i in motor))
        return WiringGraph(sens, adj, layers, self.motor_neurons)


@dataclass(frozen=True)
class AutoNCP(Wiring):
    """NCP sized from a neuron budget (same sizing rule as ``ncps.wirings.AutoNCP``).

    40 % of the non-motor neurons are command neurons, the rest inter neurons; fan-outs are the layer
    sizes times the density ``1 - sparsity``.

    Args:
        units: total neurons (state size); must exceed ``outputs + 2``.
        outputs: motor neurons (= core outputs).
        sparsity: in [0.1, 0.9]; higher means fewer synapses.
        seed: graph seed.
    """

    units: int
    outputs: int
    sparsity: float = 0.5
    seed: int = 22222
    kind = "auto_ncp"

    def __post_init__(self) -> None:
        if self.outputs < 1 or self.outputs >= self.units - 2:
            raise ValueError(
                f"AutoNCP needs 1 <= outputs < units - 2, got units={self.units}, outputs={self.outputs}; "
                "use more units or fewer outputs"
            )
        if not 0.1 <= self.sparsity <= 0.9:
            raise ValueError(f"sparsity must be in [0.1, 0.9], got {self.sparsity}")

    @property
    def output_dim(self) -> int:  # type: ignore[override]
        return self.outputs

    @property
    def ncp(self) -> NCP:
        """The equivalent explicit :class:`NCP` spec."""
        density = 1.0 - self.sparsity
        rest = self.units - self.outputs
        n_c = max(int(0.4 * rest), 1)
        n_i = rest - n_c
        return NCP(
            inter_neurons=n_i, command_neurons=n_c, motor_neurons=self.outputs,
            sensory_fanout=max(int(n_i * density), 1), inter_fanout=max(int(n_c * density), 1),
            recurrent_command_synapses=max(int(n_c * density * 2), 1),
            motor_fanin=max(int(n_c * density), 1), seed=self.seed,
        )

    def build(self, input_dim: int) -> WiringGraph:
        return self.ncp.build(input_dim)


@dataclass(frozen=True, eq=False)
class ExplicitWiring(Wiring):
    """A wiring given by its matrices (e.g. converted from ``ncps``); see :class:`WiringGraph`."""

    sensory_adjacency: np.ndarray
    adjacency: np.ndarray
    layers: tuple[tuple[int, ...], ...]
    output_dim: int
    kind = "explicit"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sensory_adjacency", np.asarray(self.sensory_adjacency, np.int8))
        object.__setattr__(self, "adjacency", np.asarray(self.adjacency, np.int8))
        object.__setattr__(self, "layers", tuple(tuple(int(i) for i in layer) for layer in self.layers))
        self.build(self.sensory_adjacency.shape[0])  # validates

    @property
    def units(self) -> int:  # type: ignore[override]
        return int(self.adjacency.shape[0])

    def build(self, input_dim: int) -> WiringGraph:
        if input_dim != self.sensory_adjacency.shape[0]:
            raise ValueError(
                f"this explicit wiring was made for {self.sensory_adjacency.shape[0]} inputs, "
                f"got input_dim={input_dim}; rebuild the wiring for the new input size"
            )
        return WiringGraph(self.sensory_adjacency.copy(), self.adjacency.copy(), self.layers,
                           self.output_dim)


_KIND_TO_CLASS: dict[str, type] = {
    "fully_connected": FullyConnected, "ncp": NCP, "auto_ncp": AutoNCP, "explicit": ExplicitWiring,
}


def wiring_from_config(config: dict[str, Any]) -> Wiring:
    """Rebuild a wiring from :meth:`Wiring.to_config` output.

    Raises:
        ValueError: unknown ``kind`` or keys (the message lists the valid ones).
    """
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in _KIND_TO_CLASS:
        raise ValueError(f"unknown wiring kind {kind!r}; valid kinds: {sorted(_KIND_TO_CLASS)}")
    cls = _KIND_TO_CLASS[kind]
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(config) - set(valid))
    if unknown:
        raise ValueError(f"unknown keys {unknown} for wiring {kind!r}; valid keys: {valid}")
    return cls(**config)
