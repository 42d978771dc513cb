"""Wirings: seeded, serialisable (config round-trip = same graph), NCP structure, errors, drawing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ltc_drones.models import NCP, AutoNCP, ExplicitWiring, FullyConnected, draw_wiring, wiring_from_config

WIRINGS = [
    FullyConnected(8, 3, seed=5),
    FullyConnected(6, None, self_connections=False),
    NCP(6, 5, 3, sensory_fanout=3, inter_fanout=2, recurrent_command_synapses=4, motor_fanin=2, seed=9),
    AutoNCP(19, 4),
    AutoNCP(32, 6, sparsity=0.7, seed=3),
]


@pytest.mark.parametrize("wiring", WIRINGS, ids=lambda w: w.kind)
def test_config_round_trip_gives_same_graph(wiring):
    graph = wiring.build(7)
    rebuilt = wiring_from_config(json.loads(json.dumps(wiring.to_config())))
    assert rebuilt.build(7).same_as(graph)
    explicit = ExplicitWiring(graph.sensory_adjacency, graph.adjacency, graph.layers, graph.output_dim)
    assert wiring_from_config(json.loads(json.dumps(explicit.to_config()))).build(7).same_as(graph)


def test_seed_controls_graph():
    assert AutoNCP(19, 4, seed=1).build(5).same_as(AutoNCP(19, 4, seed=1).build(5))
    assert not AutoNCP(19, 4, seed=1).build(5).same_as(AutoNCP(19, 4, seed=2).build(5))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ncp_structure(seed):
    w = NCP(6, 5, 3, sensory_fanout=3, inter_fanout=2, recurrent_command_synapses=4, motor_fanin=2, seed=seed)
    g = w.build(4)
    inter, command, motor = (list(layer) for layer in g.layers)
    assert g.motor_neurons == tuple(motor) == (11, 12, 13)
    sens, adj = g.sensory_adjacency, g.adjacency
    # sensory -> inter only, each input with at least `sensory_fanout` synapses (more when it reconnects
    # an unreached neuron)
    assert not sens[:, command + motor].any()
    assert (np.count_nonzero(sens[:, inter], axis=1) >= 3).all()
    # inter -> command only; command -> command / motor; nothing out of motor neurons
    assert not adj[inter][:, inter + motor].any()
    assert not adj[command][:, inter].any()
    assert not adj[motor].any()
    assert (np.count_nonzero(adj[inter][:, command], axis=1) >= 2).all()
    assert (np.count_nonzero(adj[command][:, motor], axis=0) >= 2).all()
    # every neuron receives input, every command neuron drives a motor neuron
    assert (np.count_nonzero(sens, axis=0)[inter] > 0).all()
    assert (np.count_nonzero(adj, axis=0)[command + motor] > 0).all()
    assert (np.count_nonzero(adj[command][:, motor], axis=1) > 0).all()
    assert set(np.unique(np.concatenate([sens.ravel(), adj.ravel()]))) <= {-1, 0, 1}
    assert (sens == -1).any() and (sens == 1).any()


def test_auto_ncp_sizes():
    w = AutoNCP(19, 4, sparsity=0.5)
    assert (w.ncp.inter_neurons, w.ncp.command_neurons, w.ncp.motor_neurons) == (9, 6, 4)
    g = w.build(16)
    assert g.units == 19 and g.output_dim == 4 and g.input_dim == 16


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: NCP(3, 5, 2, sensory_fanout=4, inter_fanout=2, recurrent_command_synapses=1, motor_fanin=2),
         "sensory_fanout"),
        (lambda: NCP(3, 2, 2, sensory_fanout=2, inter_fanout=3, recurrent_command_synapses=1, motor_fanin=2),
         "inter_fanout"),
        (lambda: AutoNCP(6, 4), "outputs < units - 2"),
        (lambda: AutoNCP(19, 4, sparsity=0.95), "sparsity"),
        (lambda: FullyConnected(4, 5), "does not fit"),
        (lambda: wiring_from_config({"kind": "ncpp"}), "valid kinds"),
        (lambda: wiring_from_config({"kind": "auto_ncp", "units": 19, "output": 4}), "valid keys"),
        (lambda: AutoNCP(19, 4).build(0), "input_dim"),
    ],
)
def test_bad_wirings_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_explicit_wiring_rejects_other_input_size():
    g = AutoNCP(19, 4).build(5)
    with pytest.raises(ValueError, match="inputs"):
        ExplicitWiring(g.sensory_adjacency, g.adjacency, g.layers, 4).build(6)


def test_draw_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "ncp.png"
    draw_wiring(AutoNCP(19, 4).build(6), path, title="AutoNCP(19, 4)")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    draw_wiring(FullyConnected(5, 2).build(3), tmp_path / "fc.png")
    assert (tmp_path / "fc.png").read_bytes()[:4] == b"\x89PNG"
