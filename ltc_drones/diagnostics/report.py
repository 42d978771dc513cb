"""``diagnose``: fly an agent for a few seeded episodes, take saliency at its steps, write a report folder.

Report folder:

- ``metrics.json``: the request, per-episode outcomes with attention ratios (image agents) or feature
  attributions (``kin``), the scenario summary with 95 % intervals, the sanity checks and their flags, the
  stability curve;
- ``gallery.png``: the first episode's onboard frames with each method's saliency (image agents);
- ``attention.png``: attention ratio per region and method, with intervals (image agents);
- ``stability.png``: SSIM of clean against noisy maps, against pixel noise (image agents);
- ``features.png``: attribution share per state-vector entry (``kin`` and ``rgb_kin`` agents);
- ``video.mp4``: the first episode, chase view beside the onboard view and its saliency overlay (image agents).

Cost: VisualBackProp runs at every step; gradient methods at every ``gradient_every``-th step (integrated
gradients costs ~16 forward-backward passes). Frames every ``sample_every``-th step feed the stability test
(noise drawn from the episode's ``rngs.diagnostics`` stream) and the sanity checks (run once at the end on
at most ``sanity_frames`` of them, evenly spaced).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_json_atomic
from .attention import NOISE_STD, StepAttention, step_attention
from .attention import stability as stability_at
from .saliency import METHODS, Target, check_method, feature_names
from .sanity import SANITY_THRESHOLD, map_functions, sanity_check
from .summary import INTERVAL, EpisodeLog, scenario_attention, scenario_features

SCHEMA_VERSION = 1
GALLERY_FRAMES = 8


@dataclass(frozen=True)
class DiagnoseConfig:
    """What a diagnosis flies and measures."""

    agent: str
    """Agent checkpoint file or folder (e.g. agents/fly-to-target__ltc-ncp__rgb)."""
    task: str | None = None
    """Task key; default: the agent's own task."""
    scenario: str = "nominal"
    """Scenario (name or name@level; `ltc-drones envs` lists them)."""
    episodes: int = 10
    """Episodes to fly (test seeds --seed, --seed + 1, ...)."""
    seed: int = 0
    """First test seed (see ltc_drones.seeding); also seeds the weight randomisation and the bootstrap."""
    methods: tuple[str, ...] = METHODS
    """Saliency methods: visual_backprop (image agents only; dropped for kin agents), saliency,
    input_x_gradient, integrated_gradients."""
    target: str = "norm"
    """What the gradient methods attribute: norm (the action's Euclidean norm) or one action index, 0-3 (in vel
    mode: vx, vy, vz, yaw rate)."""
    gradient_every: int = 1
    """Take the gradient methods at every k-th step (VisualBackProp runs at every step)."""
    sample_every: int = 15
    """Every k-th step is a sample frame for the stability test and the sanity checks."""
    sanity_frames: int = 24
    """Sample frames used by the sanity checks (evenly spaced over all sample frames)."""
    sanity_draws: int = 2
    """Random initialisations per sanity check (correlations averaged)."""
    sanity_threshold: float = SANITY_THRESHOLD
    """A method whose maps correlate above this (Spearman) with every layer randomised fails the sanity check."""
    noise_std: tuple[float, ...] = NOISE_STD
    """Pixel-noise standard deviations of the stability test (grey levels, 0..255)."""
    video: bool = True
    """Write video.mp4 of the first episode (image agents)."""
    num_drones: int | None = None
    """Multi-agent tasks: drones in the team (default: the agent's trained team size)."""
    drones: tuple[str, ...] = ()
    """Multi-agent tasks: the agents to diagnose, e.g. drone_0 (default: every agent)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "drones", tuple(self.drones))
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "noise_std", tuple(float(s) for s in self.noise_std))
        for m in self.methods:
            check_method(m)
        if not self.methods:
            raise ValueError("give at least one saliency method")
        for name in ("episodes", "gradient_every", "sample_every", "sanity_frames", "sanity_draws"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.target != "norm" and not self.target.isdigit():
            raise ValueError(f"target must be 'norm' or an action index such as 0, got {self.target!r}")
        if not 0.0 < self.sanity_threshold < 1.0:
            raise ValueError(f"sanity_threshold must lie in (0, 1), got {self.sanity_threshold}")
        if not self.noise_std or min(self.noise_std) < 0:
            raise ValueError(f"noise_std must be non-negative grey levels, got {self.noise_std}")

    @property
    def attributed(self) -> Target:
        """``target`` as the saliency functions take it (``"norm"`` or an int)."""
        return "norm" if self.target == "norm" else int(self.target)


@dataclass
class Collected:
    """What the episodes leave for the report."""

    episodes: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[Any, Any]] = field(default_factory=list)
    ssim: dict[str, list[list[float]]] = field(default_factory=dict)
    first: list[dict[str, Any]] = field(default_factory=list)
    video: list[np.ndarray] = field(default_factory=list)


def prepare(cfg: DiagnoseConfig):
    """Validate the request before anything flies: returns ``(request, agent)`` (raises ``ValueError``)."""
    from ..agents import load_agent
    from ..evaluation.evaluator import make_request
    from ..tasks import TEAM_TASKS, task_spec

    agent = load_agent(cfg.agent)
    trained = agent.env_spec["task"]
    task = cfg.task or trained
    multi = task_spec(task).team
    if multi != task_spec(trained).team:
        kind = "multi-agent" if multi else "single-agent"
        raise ValueError(f"agent {cfg.agent} was trained on {trained}, but {task} is {kind}: give an agent trained "
                         f"on {task} (or leave --task out)")
    if not multi and (cfg.num_drones is not None or cfg.drones):
        raise ValueError(f"--num-drones and --drones apply to the multi-agent tasks ({', '.join(TEAM_TASKS)}); "
                         f"{task} flies one drone: leave them out")
    request = make_request(cfg.agent, task, [cfg.scenario], cfg.episodes, cfg.seed, num_drones=cfg.num_drones)
    if multi:
        names = [f"drone_{i}" for i in range(request.num_drones)]
        unknown = [d for d in cfg.drones if d not in names]
        if unknown or len(set(cfg.drones)) != len(cfg.drones):
            raise ValueError(f"--drones must name distinct agents of the {request.num_drones}-drone team "
                             f"({', '.join(names)}), got {list(cfg.drones)}")
        if agent.policy.rgb_encoder is None:
            raise ValueError(f"agent {cfg.agent} observes {agent.obs_mode!r} (no image): per-agent diagnostics "
                             "measure attention on the leader and the other drones in the onboard view, so they "
                             "need an rgb or rgb_kin agent")
    action_dim = agent.policy.config.action_dim
    if cfg.target != "norm" and int(cfg.target) >= action_dim:
        raise ValueError(f"target {cfg.target} is no action index of agent {cfg.agent}; use norm or "
                         f"0..{action_dim - 1}")
    if cfg.methods == ("visual_backprop",) and agent.policy.rgb_encoder is None:
        raise ValueError(f"agent {cfg.agent} observes {agent.obs_mode!r} (no image): visual_backprop does not "
                         "apply; choose a gradient method")
    return request, agent


def diagnose_single(cfg: DiagnoseConfig, request, agent, out: str | Path, progress: bool = True) -> dict[str, Any]:
    """Fly ``cfg.episodes`` episodes of a single-agent task, measure saliency, run the checks, write the report
    folder ``out`` (``request, agent``: from :func:`prepare`).

    Returns:
        The content of ``metrics.json``.
    """
    from ..envs import make_env

    t0 = time.perf_counter()
    policy = agent.policy
    image = policy.rgb_encoder is not None
    methods = [m for m in cfg.methods if image or m != "visual_backprop"]
    env = make_env(request.task, obs=request.obs, act=request.act, scenario=cfg.scenario, render_mode="rgb_array")
    try:
        agent.check_env(env)
        got = _fly(cfg, env, agent, request.seeds, methods, image, progress)
    finally:
        env.close()
    report, boot_rng = checked_report(cfg, request, agent, got, methods)
    flags = report["failed_sanity"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    add_summaries(report, cfg, got, methods, image, flags, boot_rng, policy)
    report["success_rate"] = float(np.mean([ep["success"] for ep in got.episodes]))
    report["episodes"] = got.episodes
    report["files"] = write_pictures(out, cfg, report, got, methods, image, flags, env_fps=round(1 / agent.dt_s))
    report["wall_time_s"] = round(time.perf_counter() - t0, 2)
    write_json_atomic(out / "metrics.json", report)
    return report


def checked_report(cfg: DiagnoseConfig, request, agent, got: Collected,
                   methods: list[str]) -> tuple[dict[str, Any], np.random.Generator]:
    """The sanity checks on the sample frames (flags copied into every episode record) and the report's header;
    returns ``(report, bootstrap generator)``. The weight randomisation and the bootstrap draw from children of
    the diagnosis seed."""
    sanity_rng, boot_rng = (np.random.default_rng(c) for c in np.random.SeedSequence(cfg.seed).spawn(2))
    fns = map_functions(methods, dt=agent.dt_s, target=cfg.attributed)
    frames = [got.samples[i] for i in evenly(len(got.samples), cfg.sanity_frames)]
    sanity = sanity_check(agent.policy, frames, fns, sanity_rng,
                          draws=cfg.sanity_draws, threshold=cfg.sanity_threshold)
    flags = {m: r.failed_sanity for m, r in sanity.items()}
    for ep in got.episodes:
        ep["failed_sanity"] = flags
    report: dict[str, Any] = {
        "format": "ltc_drones.diagnostics", "schema_version": SCHEMA_VERSION, "config": asdict(cfg),
        "task": request.task, "obs": request.obs, "seeds": list(request.seeds), "methods": methods,
        "target": "norm of the action" if cfg.target == "norm" else f"action component {cfg.target}",
        "interval": INTERVAL, "failed_sanity": flags,
        "sanity": {m: r.to_dict() for m, r in sanity.items()},
    }
    return report, boot_rng


def measure_step(cfg: DiagnoseConfig, got: Collected, policy, dt: float, methods: list[str], step: int, obs,
                 state, seg, rng: np.random.Generator) -> StepAttention:
    """Saliency of one step (gradient methods every ``gradient_every``-th step); on sample steps, keep the frame
    for the sanity checks and run the stability test (noise from ``rng``)."""
    take = [m for m in methods if m == "visual_backprop" or step % cfg.gradient_every == 0]
    sa = step_attention(policy, state, obs, seg, dt=dt, methods=take, target=cfg.attributed)
    if step % cfg.sample_every == 0:
        got.samples.append((obs, state))
        for m in got.ssim:
            got.ssim[m].append(stability_at(policy, state, obs, dt=dt, method=m, target=cfg.attributed, rng=rng,
                                            noise_std=cfg.noise_std))
    return sa


def picture_method(methods: list[str]) -> str:
    """The method whose maps the video and gallery show: VisualBackProp when measured, else the first."""
    return "visual_backprop" if "visual_backprop" in methods else methods[0]


def onboard_frame(rgb: np.ndarray, saliency: np.ndarray | None) -> np.ndarray:
    """The onboard image beside its saliency overlay (a video frame's right half)."""
    from .plots import overlay

    return np.concatenate([rgb, np.full((rgb.shape[0], 2, 3), 255, np.uint8), overlay(rgb, saliency)], axis=1)


def _fly(cfg: DiagnoseConfig, env, agent, seeds, methods: list[str], image: bool, progress: bool) -> Collected:
    from tqdm import tqdm

    from ..envs.rollout import agent_observation, run_episode
    from ..evaluation.video import side_by_side

    base, policy = env.unwrapped, agent.policy
    got = Collected(ssim={m: [] for m in methods} if image else {})
    video_method = picture_method(methods)
    for index, seed in enumerate(tqdm(seeds, desc="diagnose", unit="episode", disable=not progress)):
        log, step, last_map = EpisodeLog(), 0, None

        def measure(batch, live: np.ndarray, index: int = index, log: EpisodeLog = log) -> None:
            nonlocal step, last_map
            obs = agent_observation(batch, 0)
            seg = base.onboard_camera()[1] if image else None
            sa = measure_step(cfg, got, policy, agent.dt_s, methods, step, obs, agent.state.clone(), seg,
                              base.rngs.diagnostics)
            log.add(sa)
            if index == 0 and image:
                rgb = obs["rgb"] if isinstance(obs, dict) else obs
                if len(sa.maps) == len(methods):
                    got.first.append({"step": step, "rgb": rgb, "seg": seg, "maps": dict(sa.maps)})
                last_map = sa.maps.get(video_method, last_map)
                if cfg.video:
                    got.video.append(side_by_side(env.render(), onboard_frame(rgb, last_map)))
            step += 1

        record = run_episode(env, agent, int(seed), before_act=measure)
        got.episodes.append({"episode": index, "seed": int(seed), "success": record.success,
                             "crashed": record.crashed, "steps": record.steps, "time_s": round(record.time_s, 3),
                             "attention": log.attention(), "features": log.features()})
    return got


def add_summaries(report, cfg, got: Collected, methods, image, flags, rng, policy) -> None:
    if image:
        att = scenario_attention(got.episodes, methods, rng)
        report["summary"] = {m: {"failed_sanity": flags[m], "attention": att.get(m)} for m in methods}
        report["stability"] = {
            "noise_std": list(cfg.noise_std), "frames": len(got.samples),
            "methods": {m: {"ssim_mean": [round(float(v), 5) for v in np.mean(got.ssim[m], axis=0)],
                            "failed_sanity": flags[m]} for m in methods}}
    names = feature_names(policy.config.obs_dim) if policy.kin_encoder is not None else ()
    if names:
        feats = scenario_features(got.episodes, [m for m in methods if m != "visual_backprop"], names, rng)
        report["feature_names"] = list(names)
        report["features"] = {m: {"failed_sanity": flags[m], "share": s} for m, s in feats.items()}


def evenly(n: int, k: int) -> list[int]:
    """At most ``k`` distinct indices evenly spaced over ``range(n)``, first and last included."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int)).tolist() if n else []


def write_pictures(out: Path, cfg, report, got: Collected, methods, image, flags, env_fps: int,
                    draw_gallery: Callable[[Path], Any] | None = None) -> list[str]:
    """The report's pictures; ``draw_gallery(path)`` replaces the single-agent gallery (multi-agent reports)."""
    from ..evaluation.video import write_video
    from . import plots

    files = ["metrics.json"]
    if image:
        if draw_gallery is not None:
            draw_gallery(out / "gallery.png")
        else:
            plots.gallery(out / "gallery.png", [got.first[i] for i in evenly(len(got.first), GALLERY_FRAMES)],
                          methods, flags)
        plots.attention_bars(out / "attention.png", {m: report["summary"][m]["attention"] for m in methods}, flags)
        plots.stability_curve(out / "stability.png", cfg.noise_std, report["stability"]["methods"], flags)
        files += ["gallery.png", "attention.png", "stability.png"]
        if cfg.video and got.video:
            write_video(out / "video.mp4", got.video, fps=env_fps)
            files.append("video.mp4")
    if "features" in report:
        plots.feature_bars(out / "features.png", {m: b["share"] for m, b in report["features"].items()}, flags)
        files.append("features.png")
    return files


def load_report(folder: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` of a report folder."""
    return json.loads((Path(folder) / "metrics.json").read_text())
