"""Diagnostics logged during closed-loop evaluation: ``evaluate(..., diagnostics=ClosedLoopDiagnostics())``.

:class:`ClosedLoopDiagnostics` is the evaluator's diagnostics provider (``ltc_drones.evaluation.probes``):

* **Sanity checks, once per evaluation** (image agents): the cascading model-randomisation test
  (:func:`~.sanity.sanity_check`) of every method in ``methods``, on ``sanity_frames`` frames (observation and
  recurrent state) evenly spaced over ``sanity_episodes`` episodes of the task's *nominal* scenario (test
  seeds from the evaluation seed), so an agent's verdict does not depend on the scenarios evaluated. Weights
  are drawn from a generator seeded by the evaluation seed. A gradient method that fails is not measured;
  VisualBackProp, the papers' method, is measured and flagged (``failed_sanity``) in every summary and table.
* **Attention, at every step of every episode**: before each action, the saliency of each measured method
  (:func:`~.attention.step_attention`, gradient methods at every ``gradient_every``-th step) and its attention
  ratios on the segmentation classes of the same view (target, distractor, scenery, ground, sky; rendered
  again without noise, so the flight is unchanged); the episode record holds their means over the frames
  where the region is in view (:class:`~.summary.EpisodeLog`). A scenario's summary is the mean over episodes
  with a 95 % percentile bootstrap interval (:func:`~.summary.scenario_attention`; a generator seeded by the
  evaluation seed and the scenario's name, so it does not depend on the order of scenarios or on workers).
* **Causal interventions** (fly-to-target and follow-target): ``intervention_episodes`` episodes per kind
  (:data:`~.interventions.KINDS`: jump, swap, hide), on the first ``intervention_episodes`` test seeds of the
  evaluation, in its first scenario (``intervention_scenarios="first"``, the default: the nominal world in a
  benchmark) or in every scenario (``"all"``). Each (scenario, kind) is one unit, flown by
  :func:`~.interventions.intervention_suite`; summaries give response and success rates with 95 % Wilson
  intervals and response times (:func:`~.interventions.summarize_interventions`).

* **Multi-agent tasks** (a shared agent flying a team): the sanity frames are every flying agent's observations
  with its own recurrent state; the probe (:class:`AttentionProbe`) takes each flying agent's saliency on its
  own view at every step. Records hold the agents pooled (``attention``: per region the mean over agents, plus
  ``target_over_drone``: how often the leader's ratio exceeds the other drones' on frames with both in view) and
  each agent's (``agent_attention``); summaries and tables add the ``drone`` region and that contrast.

Experts, scripted controllers and ``kin`` agents have no image saliency: their checks say so and only the
interventions are flown.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from ..envs.rollout import agent_observation
from ..tasks import is_team_env, task_spec
from .attention import step_attention
from .interventions import KINDS, intervention_suite, summarize_interventions
from .saliency import METHODS, Target, check_method
from .sanity import SANITY_THRESHOLD, map_functions, sanity_check
from .summary import INTERVAL, EpisodeLog, pool_agents, scenario_attention, scenario_contrast
from .team_report import CONTRAST, CONTRAST_KEY

"""Tasks with one target to move or hide (see :func:`~.interventions.run_intervention`)."""
TABLE_REGIONS = ("target", "distractor", "scenery")
# Stream keys of the generators derived from the evaluation seed.
_SANITY_KEY, _BOOTSTRAP_KEY = 1, 2


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(keys)))


def _round(v: Any) -> Any:
    """Floats rounded to 6 decimals, recursively (stable text across processes)."""
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_round(x) for x in v]
    return v


class AttentionProbe:
    """Saliency and attention ratios before every action of one episode (see the module docstring): each flying
    agent's saliency on its own onboard view, through its own recurrent state (a single env is a team of one).
    Records hold ``attention``; in a team env the agents pooled (plus the leader-against-drones contrast) and
    each agent's (``agent_attention``)."""

    def __init__(self, env, agent, methods: tuple[str, ...], target: Target, gradient_every: int) -> None:
        self.env, self.agent, self.methods = env, agent, methods
        self.target, self.every = target, gradient_every
        self.team = is_team_env(env)
        names = env.possible_agents if self.team else [""]
        self.logs = {a: EpisodeLog(contrasts=(CONTRAST,)) if self.team else EpisodeLog() for a in names}
        self.step = 0

    def before_act(self, batch: Any, live: np.ndarray) -> None:
        take = [m for m in self.methods if m == "visual_backprop" or self.step % self.every == 0]
        for i, log in enumerate(self.logs.values()):
            if not live[i]:
                continue  # done: its row of the batch is a stale observation
            # no noise drawn: the episode stays the same
            seg = (self.env.onboard_camera(i, postprocess=False) if self.team
                   else self.env.unwrapped.onboard_camera(postprocess=False))[1]
            log.add(step_attention(self.agent.policy, self.agent.state[i:i + 1].clone(), agent_observation(batch, i),
                                   seg, dt=self.agent.dt_s, methods=take, target=self.target))
        self.step += 1

    def record(self) -> dict[str, Any]:
        per = {a: log.attention() for a, log in self.logs.items()}
        if not self.team:
            return {"attention": per[""]}
        return {"attention": pool_agents(list(per.values()), (CONTRAST,)), "agent_attention": per}


@dataclass(frozen=True)
class ClosedLoopDiagnostics:
    """Attention, sanity checks and interventions logged by the evaluator (see the module docstring)."""

    methods: tuple[str, ...] = ("visual_backprop", "saliency")
    """Saliency methods (visual_backprop, saliency, input_x_gradient, integrated_gradients)."""
    target: str = "norm"
    """What the gradient methods attribute: norm (the action's norm) or an action index (0-3)."""
    gradient_every: int = 1
    """Take the gradient methods at every k-th step (VisualBackProp at every step)."""
    sanity_episodes: int = 2
    """Nominal episodes whose frames feed the sanity checks."""
    sanity_frames: int = 16
    """Frames compared by the sanity checks (evenly spaced over those episodes)."""
    sanity_draws: int = 2
    """Random initialisations per sanity check."""
    sanity_threshold: float = SANITY_THRESHOLD
    """Spearman correlation with every layer randomised above which a method fails."""
    intervention_episodes: int = 10
    """Episodes per intervention kind (0: no interventions)."""
    intervention_scenarios: str = "first"
    """Where interventions are flown: first (the evaluation's first scenario) or all."""
    intervention_kinds: tuple[str, ...] = ("jump", "swap", "hide")
    """Intervention kinds (none, jump, swap, hide)."""
    multi_agent: ClassVar[bool] = True
    """It also measures shared agents on multi-agent tasks (the evaluator refuses providers that do not)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "intervention_kinds", tuple(self.intervention_kinds))
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"give one or more distinct saliency methods ({', '.join(METHODS)}), got {self.methods}")
        for m in self.methods:
            check_method(m)
        if self.target != "norm" and not str(self.target).isdigit():
            raise ValueError(f"target must be 'norm' or an action index such as 0, got {self.target!r}")
        for name in ("gradient_every", "sanity_episodes", "sanity_frames", "sanity_draws"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.intervention_episodes < 0:
            raise ValueError(f"intervention_episodes must be >= 0 (0: none), got {self.intervention_episodes}")
        if self.intervention_scenarios not in ("first", "all"):
            raise ValueError(f"intervention_scenarios must be 'first' or 'all', got {self.intervention_scenarios!r}")
        unknown = [k for k in self.intervention_kinds if k not in KINDS]
        if unknown or not self.intervention_kinds:
            raise ValueError(f"intervention_kinds must be one or more of {', '.join(KINDS)}, got "
                             f"{list(self.intervention_kinds)}")
        if not 0.0 < self.sanity_threshold < 1.0:
            raise ValueError(f"sanity_threshold must lie in (0, 1), got {self.sanity_threshold}")

    @property
    def attributed(self) -> Target:
        return "norm" if self.target == "norm" else int(self.target)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    # ---- once per evaluation --------------------------------------------------------------------------------
    def prepare(self, request) -> dict[str, Any]:
        """The sanity checks of the request's agent: measured methods, flags, correlations."""
        none: dict[str, Any] = {"methods": [], "failed_sanity": {}, "sanity": {}}
        if request.controller.kind != "agent":
            return {**none, "note": f"{request.controller.label} has no policy: no saliency (interventions only)"}
        env = request.make_env("nominal")
        try:
            agent = request.controller.build(env)
            if agent.policy.rgb_encoder is None:
                return {**none, "note": f"obs {request.obs!r} has no image: no attention on the target"}
            frames = self._frames(env, agent, request.seed)
        finally:
            env.close()
        results = sanity_check(agent.policy, frames, map_functions(self.methods, dt=agent.dt_s, target=self.attributed),
                               _rng(request.seed, _SANITY_KEY), draws=self.sanity_draws,
                               threshold=self.sanity_threshold)
        flags = {m: r.failed_sanity for m, r in results.items()}
        return {"methods": [m for m in self.methods if m == "visual_backprop" or not flags[m]],
                "failed_sanity": flags, "sanity": {m: r.to_dict() for m, r in results.items()},
                "note": f"sanity frames: {len(frames)} from {self.sanity_episodes} nominal episode(s); gradient "
                        "methods that fail are not measured, VisualBackProp is measured and flagged"}

    def _frames(self, env, agent, seed: int) -> list[tuple[Any, Any]]:
        from ..envs.rollout import run_episode
        from ..seeding import test_seeds

        frames = []

        def keep(batch, live: np.ndarray) -> None:  # every flying agent's observation with its own state
            frames.extend((agent_observation(batch, i), agent.state[i:i + 1].clone()) for i in np.flatnonzero(live))

        for s in test_seeds(seed, self.sanity_episodes):  # every observation with the state it meets
            run_episode(env, agent, s, before_act=keep)
        pick = np.unique(np.linspace(0, len(frames) - 1, min(self.sanity_frames, len(frames))).round().astype(int))
        return [frames[i] for i in pick]

    # ---- per episode and scenario ---------------------------------------------------------------------------
    def probe(self, env, controller, checks: dict[str, Any]) -> AttentionProbe | None:
        if not checks["methods"]:
            return None
        return AttentionProbe(env, controller, tuple(checks["methods"]), self.attributed, self.gradient_every)

    def summarize(self, request, scenario: str, records: list[dict[str, Any]],
                  checks: dict[str, Any]) -> dict[str, Any]:
        if not checks["methods"]:
            return {}
        rng = _rng(request.seed, _BOOTSTRAP_KEY, zlib.crc32(scenario.encode()))
        att = scenario_attention(records, checks["methods"], rng)
        out = {"attention": {m: {"failed_sanity": checks["failed_sanity"][m], "interval": INTERVAL,
                                 "regions": att[m]} for m in checks["methods"] if m in att}}
        if request.multi_agent:  # how often the leader outranks the other drones (frames with both in view)
            for m, block in out["attention"].items():
                block[CONTRAST_KEY] = scenario_contrast(records, m, CONTRAST_KEY, rng)
        return out

    # ---- interventions --------------------------------------------------------------------------------------
    def interventions(self, request) -> list[tuple[str, str]]:
        if self.intervention_episodes == 0 or not task_spec(request.task).interventions:
            return []
        scenarios = request.scenarios[:1] if self.intervention_scenarios == "first" else request.scenarios
        return [(s, k) for s in scenarios for k in self.intervention_kinds]

    def intervene(self, request, scenario: str, kind: str) -> dict[str, Any]:
        r = intervention_suite(request.controller, request.task, scenario, self.intervention_episodes, request.seed,
                               kinds=(kind,), obs=request.obs)
        return {"scenario": scenario, "kind": kind, "flown": r["scenarios"][kind], "records": _round(r["records"])}

    def summarize_interventions(self, units: list[dict[str, Any]]) -> dict[str, Any]:
        records = [r for u in units for r in u["records"]]
        return {"episodes_per_kind": self.intervention_episodes, "flown": {u["kind"]: u["flown"] for u in units},
                "kinds": _round(summarize_interventions(records))}

    # ---- outputs ----------------------------------------------------------------------------------------------
    def columns(self, summary: dict[str, Any]) -> dict[str, Any]:
        """``att_<region>_<method>`` (target with ``_ci95_low``/``_high``), ``failed_sanity_<method>``, and per
        intervention kind ``<kind>_response_rate`` (with its Wilson interval), ``<kind>_response_time_s``
        (median) and ``<kind>_success_rate``."""
        cols: dict[str, Any] = {}
        for m, block in summary.get("attention", {}).items():
            for region in TABLE_REGIONS:
                s = block["regions"][region]
                cols[f"att_{region}_{m}"] = s["mean"]
                if region == "target":
                    cols[f"att_target_{m}_ci95_low"], cols[f"att_target_{m}_ci95_high"] = s["ci95"] or (None, None)
            if CONTRAST_KEY in block:  # multi-agent: the other drones, and how often the leader outranks them
                cols[f"att_drone_{m}"] = block["regions"]["drone"]["mean"]
                cols[f"att_{CONTRAST_KEY}_{m}"] = block[CONTRAST_KEY]["mean"]
            cols[f"failed_sanity_{m}"] = block["failed_sanity"]
        for kind, row in summary.get("interventions", {}).get("kinds", {}).items():
            if "response" in row:
                cols[f"{kind}_response_rate"] = row["response"]["rate"]
                cols[f"{kind}_response_ci95_low"], cols[f"{kind}_response_ci95_high"] = row["response"]["wilson95"]
                cols[f"{kind}_response_time_s"] = row["response_time_s"]["median"]
            cols[f"{kind}_success_rate"] = row["success"]["rate"]
        return cols

    def table(self, summaries: dict[str, dict[str, Any]], checks: dict[str, Any]) -> str:
        """Markdown: sanity verdicts, attention per scenario and method, intervention outcomes."""
        lines = ["", "Diagnostics: " + checks.get("note", "")]
        for m in (m for m in self.methods if m in checks["sanity"]):  # settings order (checks.json sorts keys)
            s = checks["sanity"][m]
            lines.append(f"- sanity check of {m}: {'FAILED' if s['failed_sanity'] else 'passed'} (Spearman "
                         f"{s['full_randomisation_spearman']:.2f} with every layer randomised; fails above "
                         f"{s['threshold']:.2f})")
        if checks["methods"]:
            team = any(CONTRAST_KEY in b for s in summaries.values() for b in s.get("attention", {}).values())
            regions = (*TABLE_REGIONS, "drone") if team else TABLE_REGIONS
            heads = [f"{m}{' (failed sanity)' if checks['failed_sanity'][m] else ''} {r}"
                     for m in checks["methods"] for r in regions]
            lines += ["", "Attention ratio (saliency share in the region / its area share; 1 = no preference), mean "
                      "over episodes [95 % bootstrap over episodes]:", "",
                      "| scenario | " + " | ".join(heads) + " |", "|---" + "|---:" * len(heads) + "|"]
            for scenario, summary in summaries.items():
                att = summary.get("attention", {})
                cells = [_interval(att[m]["regions"][r]) if m in att else "–"
                         for m in checks["methods"] for r in regions]
                lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
        rows = [(s, kind, row) for s, summary in summaries.items()
                for kind, row in summary.get("interventions", {}).get("kinds", {}).items()]
        if rows:
            lines += ["", f"Causal interventions ({self.intervention_episodes} episode(s) per kind): response and "
                      "success after the intervention [95 % Wilson], median response time:", "",
                      "| scenario | kind | applied | response | t_response_s | success |",
                      "|---|---|---:|---:|---:|---:|"]
            for scenario, kind, row in rows:
                t = row.get("response_time_s", {}).get("median")
                lines.append(f"| {scenario} | {kind} | {row['applied']}/{row['episodes']} | "
                             f"{_rate(row.get('response'))} | {'–' if t is None else f'{t:.2f}'} | "
                             f"{_rate(row['success'])} |")
        return "\n".join(lines) + "\n"




def _interval(block: dict[str, Any]) -> str:
    if block["mean"] is None:
        return "–"
    ci = block["ci95"]
    return f"{block['mean']:.2f}" + ("" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def _rate(block: dict[str, Any] | None) -> str:
    if block is None or block["rate"] is None:
        return "–"
    lo, hi = block["wilson95"]
    return f"{block['count']}/{block['n']} [{lo:.2f}, {hi:.2f}]"
