"""Neural dynamics of a policy in closed loop: activity per layer, the most active synapses, PCA.

:func:`record_activity` flies one episode with a policy and keeps, at every control
step, the core's input (the perception features: the NCP's *sensory* neurons), its state after the
step, its output and the action. The state is split into named groups (:func:`state_groups`):

| core | groups (state indices) |
|------|------------------------|
| NCP wirings (``ltc-ncp``, ``cfc-ncp``; state index = neuron id, layer by layer) | ``inter``, ``command``, ``motor`` |
| ``ltc`` (fully connected) | ``hidden`` (non-motor neurons), ``motor`` (the last ``output_size``) |
| ``lstm`` (state ``[h, c]``) | ``h``, ``c`` |
| ``gru``, ``cfc``, ``ctrnn``, ``ode-rnn`` | ``hidden`` |
| ``mlp`` (no state) | none; its output is reported as ``output`` |

Synapse activity (:func:`synapse_activity`, NCP and ``ltc`` cores), the mean over the episode of the
magnitude of what synapse i -> j feeds into neuron j:

* LTC: the synaptic conductance ``w_ij sigmoid(sigma_ij (v_i - mu_ij))`` of the LTC equation
  (:mod:`ltc_drones.models.ltc`; with the mapped input in place of ``v_i`` for a sensory synapse): how
  far the synapse is open, i.e. how strongly it pulls neuron j toward its reversal potential. (Not
  the current ``g (E_ij - v_j)``: a dominant synapse pulls ``v_j`` to ``E_ij``, so its own current shrinks.)
* wired CfC: ``|W1_ji a_i| + |W2_ji a_i|`` (its share of the two masked heads ``ff1``, ``ff2``; ``ff1``
  only in ``pure`` mode), with ``a_i`` the presynaptic output at the same step.

Explained variance (:func:`explained_variance`): the squared singular values of the centred activity
``[T, N]`` over their sum (numpy SVD): the share of the activity's variance along each principal
component, in decreasing order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..models import LTC, Policy, RecurrentCore, WiredCfC


def state_groups(core: RecurrentCore) -> dict[str, list[int]]:
    """Named groups of state indices of ``core`` (see the module table)."""
    graph = getattr(core, "graph", None)
    if graph is not None:
        if len(graph.layers) == 3:
            return {name: list(layer) for name, layer in zip(("inter", "command", "motor"), graph.layers, strict=True)}
        motor = list(graph.motor_neurons)
        hidden = [i for i in range(core.state_size) if i not in set(motor)]
        return {**({"hidden": hidden} if hidden else {}), "motor": motor}
    if core.state_size == 0:
        return {}
    if core.core_name == "lstm":
        half = core.state_size // 2
        return {"h": list(range(half)), "c": list(range(half, core.state_size))}
    return {"hidden": list(range(core.state_size))}


@dataclass
class ActivityTrace:
    """What a policy's core did over one episode (``T`` control steps).

    Attributes:
        core_name: registry name of the core.
        dt_s: control period (s).
        inputs: core inputs ``[T, F]`` (perception features; the NCP's sensory neurons).
        states: core state after each step ``[T, S]``.
        outputs: core outputs ``[T, O]``.
        actions: actions ``[T, A]`` in [-1, 1].
        groups: state groups (:func:`state_groups`).
        episode: the episode's seed and outcome.
    """

    core_name: str
    dt_s: float
    inputs: np.ndarray
    states: np.ndarray
    outputs: np.ndarray
    actions: np.ndarray
    groups: dict[str, list[int]]
    episode: dict[str, Any] = field(default_factory=dict)

    @property
    def layer_names(self) -> list[str]:
        """``sensory``, the state groups in order, and ``output`` for a core without state."""
        return ["sensory", *self.groups, *([] if self.groups else ["output"])]

    def layer(self, name: str) -> np.ndarray:
        """Activity ``[T, n]`` of layer ``name`` (one of :attr:`layer_names`)."""
        if name == "sensory":
            return self.inputs
        if name == "output":
            return self.outputs
        if name not in self.groups:
            raise KeyError(f"no layer {name!r} in a {self.core_name} core; layers: {', '.join(self.layer_names)}")
        return self.states[:, self.groups[name]]


class _Recorder:
    """Flies a policy as a controller (one env), keeping the core's input, state, output and the action of
    every step (:meth:`~ltc_drones.models.Policy.act_traced`)."""

    def __init__(self, policy: Policy, dt_s: float) -> None:
        self.policy, self.dt_s = policy, dt_s
        self.rows: dict[str, list[np.ndarray]] = {"inputs": [], "states": [], "outputs": [], "actions": []}

    def reset(self, num_envs: int = 1) -> None:
        self.state = self.policy.initial_state(num_envs)

    def act(self, obs: Any, episode_start: Any = None) -> np.ndarray:
        action, self.state, seen = self.policy.act_traced(obs, self.state, episode_start=episode_start, dt=self.dt_s)
        for key, value in (("inputs", seen["inputs"]), ("states", self.state), ("outputs", seen["outputs"]),
                           ("actions", action)):
            self.rows[key].append(value[0].numpy().astype(np.float64))
        return action.numpy()


def record_activity(agent, env, seed: int, max_steps: int | None = None) -> ActivityTrace:
    """Fly one episode of ``env`` (reset with ``seed``) with ``agent`` and record its core's activity.

    Args:
        agent: a :class:`~ltc_drones.models.Policy` or anything holding one as ``.policy`` (an Agent).
        env: the env the policy was trained for.
        seed: the episode's env seed.
        max_steps: stop after this many control steps (default: the episode's end).

    The actions are those of ``Policy.act`` on the raw observations, at the env's control period.
    """
    from ..envs.rollout import run_episode

    policy: Policy = getattr(agent, "policy", agent)
    policy.eval()
    dt = env.unwrapped.clock.ctrl_dt_s
    recorder = _Recorder(policy, dt)
    record = run_episode(env, recorder, seed, max_steps=max_steps)
    arrays = {k: np.array(v).reshape(len(v), -1) for k, v in recorder.rows.items()}
    episode = {"seed": int(seed), "steps": record.steps, "success": record.success, "crashed": record.crashed}
    core = policy.core
    return ActivityTrace(core.core_name or type(core).__name__, dt, groups=state_groups(core), episode=episode,
                         **arrays)


def explained_variance(activity: np.ndarray) -> np.ndarray:
    """Share of the variance of ``activity [T, N]`` along each principal component (decreasing).

    Returns ``min(T, N)`` ratios summing to 1, or zeros when the activity is constant (nothing to explain).
    """
    x = np.asarray(activity, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"activity must be [T, N] with T, N >= 1, got shape {x.shape}")
    s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    power = s * s
    total = power.sum()
    return power / total if total > 1e-24 else np.zeros_like(power)


def components_for(ratios: np.ndarray, fraction: float = 0.9) -> int:
    """How many leading components explain at least ``fraction`` of the variance (0 for constant activity)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    total = float(np.sum(ratios))
    if total == 0:
        return 0
    return int(np.searchsorted(np.cumsum(ratios), fraction * total - 1e-12) + 1)


def activity_summary(trace: ActivityTrace, top_components: int = 3) -> dict[str, Any]:
    """Per layer (and ``all_state``): neurons, mean |activity|, mean std over time, the first PCs' variance shares
    and how many components explain 90 %."""
    names = [*trace.layer_names, *(["all_state"] if trace.groups else [])]
    out: dict[str, Any] = {"core": trace.core_name, "episode": trace.episode, "layers": {}}
    for name in names:
        a = trace.states if name == "all_state" else trace.layer(name)
        ratios = explained_variance(a)
        out["layers"][name] = {
            "neurons": int(a.shape[1]), "mean_abs": float(np.abs(a).mean()), "mean_std": float(a.std(axis=0).mean()),
            "explained_variance": [float(r) for r in ratios[:top_components]],
            "components_90": components_for(ratios, 0.9),
        }
    return out


@torch.no_grad()
def synapse_activity(core: RecurrentCore, trace: ActivityTrace) -> tuple[np.ndarray, np.ndarray]:
    """Mean synapse activity (module docstring) as ``(sensory [F, N], recurrent [N, N])`` over the wiring's
    synapses (0 where there is none)."""
    graph = getattr(core, "graph", None)
    if graph is None:
        raise ValueError(f"{core.core_name or type(core).__name__} has no wiring; synapse activity needs an LTC or "
                         "a wired CfC core (ltc, ltc-ncp, cfc-ncp)")
    dtype = next(core.parameters()).dtype
    x = torch.as_tensor(trace.inputs, dtype=dtype)
    v = torch.as_tensor(trace.states, dtype=dtype)
    n, f = graph.units, graph.input_dim
    sens, rec = torch.zeros(f, n, dtype=dtype), torch.zeros(n, n, dtype=dtype)
    if isinstance(core, LTC):
        for name, pre, out in (("sens", core.map_inputs(x), sens), ("rec", v, rec)):
            sigma, negsm, _, w = core.synapse_vectors(name)
            src, dst = getattr(core, f"{name}_src"), getattr(core, f"{name}_dst")
            conductance = w * torch.sigmoid(sigma * pre[:, src] + negsm)  # [T, K], w > 0
            out[src, dst] = conductance.mean(0)
    elif isinstance(core, WiredCfC):
        prev: list[int] | None = None
        for layer_ids, layer in zip(graph.layers, core.layers, strict=True):
            heads = [layer.ff1] if layer.mode == "pure" else [layer.ff1, layer.ff2]
            weights = [h.weight * layer.mask for h in heads]  # [H, in + H]
            pre = x if prev is None else v[:, prev]
            srcs = range(f) if prev is None else prev
            for b, src in enumerate(srcs):
                contrib = sum((pre[:, b:b + 1] * w[:, b]).abs() for w in weights)  # [T, H]
                (sens if prev is None else rec)[src, list(layer_ids)] = contrib.mean(0)
            for b, src in enumerate(layer_ids):  # recurrent synapses inside the layer
                contrib = sum((v[:, src:src + 1] * w[:, layer.in_features + b]).abs() for w in weights)
                rec[src, list(layer_ids)] = contrib.mean(0)
            prev = list(layer_ids)
    else:
        raise ValueError(f"synapse activity is defined for LTC and wired CfC cores, not {type(core).__name__}")
    s, r = sens.numpy(), rec.numpy()
    return s * (graph.sensory_adjacency != 0), r * (graph.adjacency != 0)


def plot_activity(trace: ActivityTrace, path: str | os.PathLike, title: str | None = None) -> None:
    """PNG: one panel per layer, every neuron's activity against time (s), with its PCA shares in the title."""
    from ..plotting import pyplot, save_figure

    plt = pyplot()
    names = trace.layer_names
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 1.6 * len(names) + 0.6), sharex=True, squeeze=False)
    t = np.arange(1, len(trace.inputs) + 1) * trace.dt_s
    for ax, name in zip(axes[:, 0], names, strict=True):
        a = trace.layer(name)
        ax.plot(t, a, lw=0.8)
        ev = explained_variance(a)
        ax.set_title(f"{name} ({a.shape[1]}): PC1-3 explain " + ", ".join(f"{r:.0%}" for r in ev[:3]), fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(title or f"{trace.core_name} activity, seed {trace.episode.get('seed')}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, os.fspath(path))
    plt.close(fig)


def draw_active_wiring(core: RecurrentCore, trace: ActivityTrace, path: str | os.PathLike, top: int = 12,
                       title: str | None = None) -> list[tuple[str, int, int, float]]:
    """Draw ``core``'s wiring with its ``top`` most active synapses highlighted; returns them as
    ``(kind "sensory"/"neuron", source, target, activity)``, most active first."""
    from ..models.wiring_draw import draw_wiring

    sens, rec = synapse_activity(core, trace)
    ranked = sorted([("sensory", int(i), int(j), float(sens[i, j])) for i, j in zip(*np.nonzero(sens), strict=True)]
                    + [("neuron", int(i), int(j), float(rec[i, j])) for i, j in zip(*np.nonzero(rec), strict=True)],
                    key=lambda s: -s[3])
    draw_wiring(core.graph, path, title or f"{trace.core_name}: {top} most active synapses",
                activity=(sens, rec), highlight=top)
    return ranked[:top]
