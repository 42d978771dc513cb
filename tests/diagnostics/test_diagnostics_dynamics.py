"""Neural dynamics: PCA shares, per-layer recording of every core in closed loop, synapse activity, drawing;
expressivity (trajectory length)."""

import numpy as np
import pytest
import torch

from ltc_drones.diagnostics.dynamics import (
    ActivityTrace,
    activity_summary,
    components_for,
    draw_active_wiring,
    explained_variance,
    record_activity,
    state_groups,
    synapse_activity,
)
from ltc_drones.diagnostics.expressivity import (
    arc_length,
    circle_inputs,
    core_kwargs,
    measure,
    pca_project,
    scale_weights,
    seeded_core,
    trajectory_length,
)
from ltc_drones.envs import make_env
from ltc_drones.models import CORE_NAMES, Policy, PolicyConfig, draw_wiring, make_core

torch.set_num_threads(1)


def test_explained_variance_sums_to_one_and_a_rank_one_trace_needs_one_component():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)) * np.array([5.0, 3.0, 1.0, 1.0, 0.5, 0.1])
    ev = explained_variance(x)
    assert ev.shape == (6,) and ev.sum() == pytest.approx(1.0) and np.all(np.diff(ev) <= 1e-12)
    assert 0.6 < ev[0] < 0.8  # 25 of 37.26 units of variance, up to sampling
    rank1 = np.outer(np.sin(np.linspace(0, 6, 80)), rng.normal(size=7)) + rng.normal(size=7)
    ev1 = explained_variance(rank1)
    assert ev1[0] == pytest.approx(1.0) and components_for(ev1, 0.99) == 1
    assert components_for(ev, 0.9) >= 2
    assert not explained_variance(np.ones((10, 3))).any() and components_for(explained_variance(np.ones((10, 3)))) == 0
    with pytest.raises(ValueError, match=r"\[T, N\]"):
        explained_variance(np.ones(5))


@pytest.fixture(scope="module")
def env():
    e = make_env("fly-to-target", obs="kin")
    yield e
    e.close()


def small_config(core):
    return {"ltc": {"units": 8}, "ltc-ncp": {"units": 12}, "cfc-ncp": {"units": 12}, "mlp": {"hidden": [8]},
            }.get(core, {"units": 6})


@pytest.mark.parametrize("core", CORE_NAMES)
def test_every_core_is_recorded_per_layer_with_the_policys_own_actions(env, core):
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(obs_kind="kin", obs_dim=16, core=core, core_config=small_config(core),
                                 feature_dim=8))
    trace = record_activity(policy, env, seed=5, max_steps=6)
    assert trace.inputs.shape == (6, 8) and trace.actions.shape == (6, 4) and trace.states.shape[0] == 6
    groups = trace.groups
    assert sorted(i for g in groups.values() for i in g) == list(range(policy.core.state_size))
    expected = {"ltc-ncp": ["inter", "command", "motor"], "cfc-ncp": ["inter", "command", "motor"],
                "ltc": ["hidden", "motor"], "lstm": ["h", "c"], "mlp": []}.get(core, ["hidden"])
    assert list(groups) == expected
    if core in ("ltc-ncp", "cfc-ncp"):
        assert [tuple(g) for g in groups.values()] == list(policy.core.graph.layers)
        assert groups["motor"] == list(range(policy.core.state_size - 4, policy.core.state_size))
    assert trace.layer_names[-1] == ("output" if core == "mlp" else expected[-1])
    obs, _ = env.reset(seed=5)  # the same episode through Policy.act
    state = None
    for k in range(6):
        action, state = policy.act(torch.as_tensor(obs)[None], state, dt=1 / 30)
        np.testing.assert_allclose(action[0].numpy(), trace.actions[k], atol=1e-6)
        obs, *_ = env.step(action[0].numpy())
    summary = activity_summary(trace)
    for name, row in summary["layers"].items():
        assert row["neurons"] == (trace.states.shape[1] if name == "all_state" else trace.layer(name).shape[1])
        assert sum(row["explained_variance"]) <= 1 + 1e-9


def synthetic_trace(core, steps=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, steps, core.input_size, generator=g)
    with torch.no_grad():
        y, _ = core(x, dt=1.0)
        states = []
        h = None
        for t in range(steps):
            _, h = core.step(x[:, t], h, dt=1.0)
            states.append(h[0].numpy())
    return ActivityTrace(core.core_name, 1.0, x[0].numpy(), np.array(states), y[0].numpy(),
                         np.tanh(y[0].numpy()), state_groups(core))


def test_ltc_synapse_activity_is_the_synaptic_conductance_and_finds_a_strong_synapse(tmp_path):
    torch.manual_seed(1)
    core = make_core("ltc-ncp", 5, 2, units=10, backend="reference")
    graph = core.graph
    s, n = map(int, np.argwhere(graph.sensory_adjacency != 0)[0])
    with torch.no_grad():
        core.sensory_w[s, n] = 20.0  # softplus(20) = 20, against 0.7..1.3 for the others
    trace = synthetic_trace(core)
    sens, rec = synapse_activity(core, trace)
    assert not sens[graph.sensory_adjacency == 0].any() and not rec[graph.adjacency == 0].any()
    # Recompute one recurrent synapse's conductance from the LTC equation.
    i, j = map(int, np.argwhere(graph.adjacency != 0)[0])
    v = torch.as_tensor(trace.states)
    with torch.no_grad():
        w = torch.nn.functional.softplus(core.w[i, j])
        conductance = w * torch.sigmoid(core.sigma[i, j] * (v[:, i] - core.mu[i, j]))
    assert rec[i, j] == pytest.approx(float(conductance.mean()), rel=1e-5)
    top = draw_active_wiring(core, trace, tmp_path / "active.png", top=5)
    assert top[0][:3] == ("sensory", s, n) and [t[3] for t in top] == sorted([t[3] for t in top], reverse=True)
    draw_wiring(graph, tmp_path / "plain.png")
    assert (tmp_path / "active.png").read_bytes() != (tmp_path / "plain.png").read_bytes()
    with pytest.raises(ValueError, match="activity must be"):
        draw_wiring(graph, tmp_path / "bad.png", activity=(sens.T, rec), highlight=3)


def test_wired_cfc_synapse_activity_follows_the_masked_weights():
    torch.manual_seed(2)
    core = make_core("cfc-ncp", 5, 2, units=10)
    graph = core.graph
    inter, command = graph.layers[0], graph.layers[1]
    src, dst = next((int(a), int(b)) for a, b in np.argwhere(graph.adjacency != 0) if a in inter and b in command)
    layer = core.layers[1]
    with torch.no_grad():
        layer.ff1.weight[command.index(dst), inter.index(src)] = 50.0
    sens, rec = synapse_activity(core, synthetic_trace(core))
    assert np.unravel_index(np.argmax(rec), rec.shape) == (src, dst) and rec[src, dst] > sens.max()
    assert not rec[graph.adjacency == 0].any()


def test_synapse_activity_needs_a_wiring():
    core = make_core("gru", 3, 2, units=4)
    with pytest.raises(ValueError, match="no wiring"):
        synapse_activity(core, synthetic_trace(core))


# ---- expressivity (trajectory length) --------------------------------------------------------------------------
def test_arc_length_of_the_input_circle_is_its_circumference():
    circle = circle_inputs(2000, amplitude=2.0)
    closed = np.vstack([circle, circle[:1]])
    assert arc_length(closed) == pytest.approx(4 * np.pi, rel=1e-5)
    assert arc_length(pca_project(closed, 2)) == pytest.approx(4 * np.pi, rel=1e-5)  # a plane keeps its lengths


@pytest.mark.parametrize("core", CORE_NAMES)
def test_trajectory_length_is_zero_without_weights_and_grows_with_amplitude_and_weight_scale(core):
    def length(amplitude=0.5, scale=1.0):
        c = seeded_core(core, 4, 0, **core_kwargs(core, 8, 0))
        return trajectory_length(scale_weights(c, scale), amplitude, steps=40)

    assert length(scale=0.0) < 1e-6
    assert length(0.25) < length(0.5) < length(1.0)
    assert length(scale=0.25) < length(scale=0.5)


def test_seeded_cores_are_reproducible_and_leave_torchs_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = measure("ltc-ncp", 12, seed=4)
    assert torch.equal(torch.rand(3), expected)
    b = measure("ltc-ncp", 12, seed=4)
    assert a == b and measure("ltc-ncp", 12, seed=5)["length_full"] != a["length_full"]


def test_an_explicit_ltc_solver_that_diverges_reports_infinity():
    assert measure("ltc", 32, 0, unfolds=1, solver="euler")["length_full"] == float("inf")
    assert np.isfinite(measure("ltc", 32, 0, unfolds=1, solver="semi_implicit")["length_full"])
    with pytest.raises(ValueError, match="LTC options"):
        core_kwargs("gru", 8, 0, unfolds=2)
