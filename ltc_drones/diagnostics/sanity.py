"""Model-randomisation sanity checks for saliency methods (Adebayo et al., "Sanity checks for saliency maps",
NeurIPS 2018).

A saliency map that explains a policy must change when the policy's learned weights are replaced by random
ones. Cascading randomisation re-initialises the layers from the top down (action head, core, fusion, the
encoder's projection, then each conv or MLP layer from the last to the first); its last stage has every layer
randomised (full randomisation). At each stage the maps of the randomised policy are compared with the
trained policy's maps on the same inputs (observation and recurrent state) by Spearman rank correlation of
the absolute values, per frame, averaged over frames. A method whose maps after full randomisation still
correlate above :data:`SANITY_THRESHOLD` is flagged ``failed_sanity``; every report that uses it carries the
flag.

Conventions: a pair of maps where one is constant (no ranking) counts as correlation 0, two constant maps as 1.
Random weights are those of a freshly built policy of the same configuration (the architecture's own
initialisation, same NCP wiring), drawn under a torch seed taken from the caller's generator inside
``torch.random.fork_rng`` (the global torch generator is left as it was).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from ..models import Policy
from .saliency import Target, saliency_map

SANITY_THRESHOLD = 0.5
"""Mean Spearman correlation above which a method's maps "stay similar" under full randomisation
(Adebayo et al. judge visually and by rank correlation; methods passing their test drop well below 0.5)."""

MapFn = Callable[[Policy, object, torch.Tensor], np.ndarray]
"""``map_fn(policy, obs_batch, states) -> [N, ...]`` non-negative maps; see :func:`map_functions`."""


@dataclass(frozen=True)
class SanityResult:
    """The randomisation test of one method.

    Attributes:
        method: the method's name.
        stages: cascade stages, top down; stage k has the layers of stages 0..k randomised.
        spearman: mean rank correlation with the trained policy's maps at each stage (averaged over draws).
        threshold: the flag's threshold.
        frames: frames compared.
    """

    method: str
    stages: tuple[str, ...]
    spearman: tuple[float, ...]
    threshold: float
    frames: int

    @property
    def full_spearman(self) -> float:
        """Correlation with every layer randomised (the last cascade stage)."""
        return self.spearman[-1]

    @property
    def failed_sanity(self) -> bool:
        """True when the maps stay similar (correlation > threshold) with every layer randomised."""
        return self.full_spearman > self.threshold

    def to_dict(self) -> dict:
        return {"method": self.method, "cascade_stages": list(self.stages),
                "cascade_spearman": [round(s, 4) for s in self.spearman],
                "full_randomisation_spearman": round(self.full_spearman, 4), "threshold": self.threshold,
                "failed_sanity": self.failed_sanity, "frames": self.frames}


def cascade_stages(policy: Policy) -> list[tuple[str, list[str]]]:
    """``[(stage name, [module names])]`` from the output down to the input (names of ``policy.named_modules``)."""
    stages: list[tuple[str, list[str]]] = [("head", ["head"]), ("core", ["core"])]
    if policy.fuse is not None:
        stages.append(("fuse", ["fuse", "fuse_norm"]))
    if policy.rgb_encoder is not None:
        stages.append(("rgb_encoder.fc", ["rgb_encoder.fc", "rgb_encoder.norm"]))
        convs = [i for i, m in enumerate(policy.rgb_encoder.conv) if isinstance(m, nn.Conv2d)]
        stages += [(f"rgb_encoder.conv{k + 1}", [f"rgb_encoder.conv.{i}"]) for k, i in reversed(list(enumerate(convs)))]
    if policy.kin_encoder is not None:
        lins = [i for i, m in enumerate(policy.kin_encoder.net) if isinstance(m, nn.Linear)]
        stages += [(f"kin_encoder.linear{k + 1}", [f"kin_encoder.net.{i}"]) for k, i in reversed(list(enumerate(lins)))]
    return stages


def _build(policy: Policy, seed: int, state: dict | None = None) -> Policy:
    """A new policy of ``policy``'s configuration initialised under torch seed ``seed`` (the global torch
    generator is restored afterwards), then loaded with ``state`` if given."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = Policy(policy.config)
    if state is not None:
        fresh.load_state_dict(state)
    return fresh.to(policy.head.weight.dtype).eval()


def random_policy(policy: Policy, rng: np.random.Generator) -> Policy:
    """A freshly initialised policy of ``policy``'s configuration (weights drawn under a seed from ``rng``)."""
    return _build(policy, int(rng.integers(2**62)))


def cascading_randomisations(policy: Policy, rng: np.random.Generator) -> list[tuple[str, Policy]]:
    """``[(stage, policy with that stage and all above it randomised)]``, top down; the last is fully random."""
    fresh = dict(random_policy(policy, rng).named_modules())
    state = {k: v.clone() for k, v in policy.state_dict().items()}
    out = []
    for name, modules in cascade_stages(policy):
        for m in modules:
            state.update({f"{m}.{k}": v.clone() for k, v in fresh[m].state_dict().items()})
        out.append((name, _build(policy, 0, state)))  # copies (deep copies would carry compiled-kernel caches)
    return out


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation of ``|a|`` and ``|b|`` flattened (constant maps: see the module docstring)."""
    x, y = np.abs(np.ravel(a)), np.abs(np.ravel(b))
    const_x, const_y = np.ptp(x) == 0, np.ptp(y) == 0
    if const_x or const_y:
        return 1.0 if const_x and const_y else 0.0
    return float(spearmanr(x, y).statistic)


def mean_rank_correlation(maps_a: np.ndarray, maps_b: np.ndarray) -> float:
    """Mean over frames of :func:`rank_correlation` of ``[N, ...]`` maps."""
    return float(np.mean([rank_correlation(a, b) for a, b in zip(maps_a, maps_b, strict=True)]))


def map_functions(methods: Sequence[str], *, dt: float, target: Target = "norm") -> dict[str, MapFn]:
    """The map function of each named saliency method (see :func:`~ltc_drones.diagnostics.saliency.saliency_map`)."""

    def make(method: str) -> MapFn:
        return lambda policy, obs, states: saliency_map(policy, obs, states, dt=dt, method=method, target=target)

    return {m: make(m) for m in methods}


def stack_frames(frames: Sequence[tuple[object, torch.Tensor | None]], policy: Policy) -> tuple[object, torch.Tensor]:
    """A batch ``(obs [N, ...], states [N, state_size])`` from ``(observation, state [1, S] or None)`` pairs."""
    if not frames:
        raise ValueError("the sanity check needs at least one frame")
    obs = [o for o, _ in frames]
    states = torch.cat([policy.initial_state(1) if s is None else s.detach() for _, s in frames])
    if isinstance(obs[0], dict):
        return {k: torch.as_tensor(np.stack([np.asarray(o[k]) for o in obs])) for k in obs[0]}, states
    return torch.as_tensor(np.stack([np.asarray(o) for o in obs])), states


def sanity_check(policy: Policy, frames: Sequence[tuple[object, torch.Tensor | None]], map_fns: dict[str, MapFn],
                 rng: np.random.Generator, *, draws: int = 2,
                 threshold: float = SANITY_THRESHOLD) -> dict[str, SanityResult]:
    """Cascading model randomisation test of each method on ``frames``.

    Args:
        policy: the trained policy.
        frames: ``(observation, recurrent state before the step)`` pairs, e.g. sampled from closed-loop episodes.
        map_fns: method name -> map function (:func:`map_functions`, or any function of the same form).
        rng: draws the random weights.
        draws: independent random initialisations; correlations are averaged over them.
        threshold: see :data:`SANITY_THRESHOLD`.
    """
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    obs, states = stack_frames(frames, policy)
    trained = {name: fn(policy, obs, states) for name, fn in map_fns.items()}
    per_draw: dict[str, list[list[float]]] = {name: [] for name in map_fns}
    stages: list[str] = []
    for _ in range(draws):
        cascade = cascading_randomisations(policy, rng)
        stages = [name for name, _ in cascade]
        for name, fn in map_fns.items():
            per_draw[name].append([mean_rank_correlation(trained[name], fn(p, obs, states)) for _, p in cascade])
    return {name: SanityResult(name, tuple(stages), tuple(float(v) for v in np.mean(rows, axis=0)), threshold,
                               len(frames)) for name, rows in per_draw.items()}
