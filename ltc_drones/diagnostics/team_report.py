"""Per-agent diagnostics of a shared policy on a multi-agent task: does a follower attend to its leader rather
than to the other drones? (``ltc-drones diagnose --task multi-follow --num-drones 2 --agent RUN``.)

The team flies seeded episodes with the shared policy (one batch, each agent with its own recurrent state,
:func:`~ltc_drones.envs.rollout.run_episode`). Before every action, for each diagnosed agent still
flying, the saliency of that agent's onboard image is taken through that agent's recurrent state (the same
per-step function as the single-agent report, :func:`.report.measure_step`), with the attention ratios of the
segmentation classes of its view: ``target`` (in MultiFollow the leader; in MultiFlyToTarget every drone's
target), ``drone`` (the other drones, ``envs.camera.SEG_DRONE``), distractor, scenery, ground, sky. On frames
where the leader and another drone are both in view, the report counts how often the leader's ratio is the
higher one (``target_over_drone``).

Records: one per team episode, with each agent's outcome and attention (``agents``) and the agents pooled
(``attention``: per region, the mean over agents of their episode means). Summaries: per agent, the mean over
episodes with a 95 % bootstrap interval; pooled, the same over the pooled episode values (the episode stays the
unit: the agents of one episode are not independent). Sanity checks and the stability test run on sample frames
of every diagnosed agent, as in the single-agent report; ``gallery.png`` shows each agent's view with its
saliency, ``video.mp4`` the chase view beside the first diagnosed agent's view and saliency.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_json_atomic
from ..envs.camera import SEG_DRONE
from ..envs.rollout import agent_observation, run_episode
from ..tasks import task_spec
from .report import (
    Collected,
    DiagnoseConfig,
    add_summaries,
    checked_report,
    evenly,
    measure_step,
    onboard_frame,
    picture_method,
    write_pictures,
)
from .summary import EpisodeLog, contrast_key, pool_agents, scenario_attention, scenario_contrast

TEAM_GALLERY_FRAMES = 6
"""Columns of the team gallery: steps where some diagnosed agent sees another drone (any episode, evenly spaced),
then steps of the first episode (evenly spaced) to fill the row."""
CONTRAST = ("target", "drone")
"""Regions compared frame by frame: the leader (target) against the other drones."""
CONTRAST_KEY = contrast_key(*CONTRAST)


def diagnose_team(cfg: DiagnoseConfig, request, agent, out: str | Path, progress: bool = True) -> dict[str, Any]:
    """Fly ``cfg.episodes`` team episodes, measure each diagnosed agent's saliency, write the report folder.

    Args:
        cfg: the request (``drones``: the agents to diagnose, default every agent).
        request, agent: from :func:`.report.prepare` (a multi-agent request and an image agent).
        out: the report folder.
        progress: show a progress bar.

    Returns:
        The content of ``metrics.json``.
    """
    t0 = time.perf_counter()
    methods = list(cfg.methods)
    env = request.make_env(cfg.scenario, render_mode="rgb_array")
    try:
        agent.check_env(env)
        drones = list(cfg.drones) or list(env.possible_agents)
        follow = task_spec(request.task).moving_target
        got, gallery = _diagnose_team_episodes(cfg, env, agent, request.seeds, methods, drones, progress)
    finally:
        env.close()
    report, rng = checked_report(cfg, request, agent, got, methods)
    flags = report["failed_sanity"]
    report.update(num_drones=request.num_drones, drones=drones,
                  regions={"target": "the leader" if follow else "the targets (every drone's)",
                           "drone": "the other drones"})
    add_summaries(report, cfg, got, methods, True, flags, rng, agent.policy)  # pooled over the agents
    for m in methods:
        block = report["summary"][m]
        block[CONTRAST_KEY] = scenario_contrast(got.episodes, m, CONTRAST_KEY, rng)
        per = {a: [ep["agents"][a] for ep in got.episodes] for a in drones}
        block["agents"] = {a: {"attention": scenario_attention(eps, [m], rng).get(m),
                               CONTRAST_KEY: scenario_contrast(eps, m, CONTRAST_KEY, rng)} for a, eps in per.items()}
    report["success_rate"] = float(np.mean([ep["success"] for ep in got.episodes]))
    report["agent_success_rate"] = {a: float(np.mean([ep["agents"][a]["success"] for ep in got.episodes]))
                                    for a in drones}
    report["episodes"] = got.episodes
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    primary = picture_method(methods)

    def draw(path: Path) -> None:
        from .plots import team_gallery

        keys = sorted({k for frames in gallery.values() for k in frames})
        crowded = [k for k in keys if _crowded(gallery, k)]
        first = [k for k in keys if k[0] == 0 and k not in crowded]
        show = [crowded[i] for i in evenly(len(crowded), TEAM_GALLERY_FRAMES)]
        show += [first[i] for i in evenly(len(first), TEAM_GALLERY_FRAMES - len(show))]
        team_gallery(path, sorted(show), gallery, primary, flags)

    report["files"] = write_pictures(out, cfg, report, got, methods, True, flags, round(1 / agent.dt_s), draw)
    if len(drones) > 1:
        from .plots import attention_bars

        attention_bars(out / "attention_agents.png", {**{a: report["summary"][primary]["agents"][a]["attention"]
                                                         for a in drones},
                                                      "pooled": report["summary"][primary]["attention"]}, {})
        report["files"].append("attention_agents.png")
    report["wall_time_s"] = round(time.perf_counter() - t0, 2)
    write_json_atomic(out / "metrics.json", report)
    return report


Frames = dict[str, dict[tuple[int, int], dict[str, Any]]]
"""Gallery frames: agent -> (episode, step) -> ``{"rgb", "seg", "maps": {primary method: map}}``."""


def _crowded(frames: Frames, key: tuple[int, int]) -> bool:
    return any(key in f and np.any(f[key]["seg"] == SEG_DRONE) for f in frames.values())


class _TeamProbe:
    """One episode's per-step measurements, called by ``run_episode`` before every action. Keeps gallery
    frames of the first episode, and of every step of any episode where some diagnosed agent sees another drone."""

    def __init__(self, cfg: DiagnoseConfig, env, agent, got: Collected, methods: list[str], drones: list[str],
                 gallery: Frames, episode: int) -> None:
        self.cfg, self.env, self.agent, self.got, self.methods = cfg, env, agent, got, methods
        self.index_of = {a: list(env.possible_agents).index(a) for a in drones}
        self.primary = picture_method(methods)
        self.logs = {a: EpisodeLog(contrasts=(CONTRAST,)) for a in drones}
        self.gallery, self.episode, self.video_agent = gallery, episode, drones[0]
        self.step, self.last_map = 0, None

    def before_act(self, batch, live: np.ndarray) -> None:
        from ..evaluation.video import side_by_side

        env, agent = self.env, self.agent
        frames = {}
        for a, i in self.index_of.items():
            if not live[i]:
                continue
            obs = agent_observation(batch, i)
            seg = env.onboard_camera(i, postprocess=False)[1]  # no noise drawn: the flight stays the same
            sa = measure_step(self.cfg, self.got, agent.policy, agent.dt_s, self.methods, self.step, obs,
                              agent.state[i:i + 1].clone(), seg, env.rngs.diagnostics)
            self.logs[a].add(sa)
            rgb = obs["rgb"] if isinstance(obs, dict) else obs
            if self.primary in sa.maps:
                frames[a] = {"rgb": rgb, "seg": seg, "maps": {self.primary: sa.maps[self.primary]}}
            if self.cfg.video and self.episode == 0 and a == self.video_agent:
                self.last_map = sa.maps.get(self.primary, self.last_map)
                self.got.video.append(side_by_side(env.render(), onboard_frame(rgb, self.last_map)))
        key = (self.episode, self.step)
        if self.episode == 0 or any(np.any(f["seg"] == SEG_DRONE) for f in frames.values()):
            for a, f in frames.items():
                self.gallery[a][key] = f
        self.step += 1


def _diagnose_team_episodes(cfg: DiagnoseConfig, env, agent, seeds, methods: list[str], drones: list[str],
              progress: bool) -> tuple[Collected, Frames]:
    """Fly the episodes; returns what the report needs and the gallery's frames (see :class:`_TeamProbe`)."""
    from tqdm import tqdm

    got = Collected(ssim={m: [] for m in methods})
    gallery: Frames = {a: {} for a in drones}
    for episode, seed in enumerate(tqdm(seeds, desc="diagnose", unit="episode", disable=not progress)):
        probe = _TeamProbe(cfg, env, agent, got, methods, drones, gallery, episode)
        record = run_episode(env, agent, int(seed), before_act=probe.before_act)
        per_agent = {a: {"success": bool(record.agent_success[i]), "crashed": bool(record.agent_crashed[i]),
                         "collided": bool(record.agent_collided[i]), "steps": int(record.agent_steps[i]),
                         "attention": probe.logs[a].attention(), "features": probe.logs[a].features()}
                     for a, i in probe.index_of.items()}
        feats = [p["features"] for p in per_agent.values()]
        got.episodes.append({
            "episode": episode, "seed": int(seed), "success": bool(record.team_success),
            "collisions": int(record.collisions), "steps": int(record.steps), "time_s": round(record.time_s, 3),
            "agents": per_agent, "attention": pool_agents([p["attention"] for p in per_agent.values()], (CONTRAST,)),
            "features": {m: np.mean([f[m] for f in feats if m in f], axis=0).round(5).tolist()
                         for m in sorted({m for f in feats for m in f})}})
    return got, gallery
