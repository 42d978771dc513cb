"""Causal interventions in closed loop: change the world at a set time and measure the response.

After the NeurIPS 2021 "Causal navigation" tests: a controller flies a target task
(FlyToTarget, FollowTarget) and, ``at_s`` seconds after the reset, one scripted change happens
between two control steps. Every random draw of an intervention comes from the episode's
``diagnostics`` stream, so the rest of the world (layout, wind, noise) is the episode it always was,
and the flight before the intervention is identical to the flight without it.

Kinds (:data:`KINDS`):

* ``none``: nothing changes (the control condition).
* ``jump``: the target jumps to a new *acceptable place* (below), drawn from the diagnostics stream.
* ``swap``: the target and a distractor of another colour swap places. When that distractor's place
  is not acceptable, the target goes to a new acceptable place instead and the distractor still
  takes the target's old place (``literal_swap`` False in the record). Needs a scenario with
  distractors.
* ``hide``: the target disappears from every camera for ``hide_s`` and reappears where it is then.
  ``kin`` observations are privileged (they hold the goal vector); while the target is hidden the
  controller is given the goal vector of its last observation before the hiding (a sensor that holds
  its last reading), so a ``kin`` agent has to hold its course too. Experts read the true state.

An *acceptable place* for the target, seen from the drone when the world changes: the onboard camera
sees it; its horizontal bearing differs by at least ``min_turn_deg`` from the drone's heading, from
its course (the direction of its horizontal velocity, when the drone moves at ``min_speed_mps`` or
more) and from the bearing of the target's old place; the straight path to it keeps ``clearance_m``
plus their radius from every solid scenery object; it keeps 1 m from the other distractors; and
(for jumps) its horizontal distance lies in ``jump_distance_m``.

Response criteria (state after every control step; ``dt`` the control period):

* *aimed* at step j: horizontal speed ≥ ``min_speed_mps`` and the course lies within ``aim_tol_deg``
  of the horizontal bearing from the drone to the target's current position;
* *responded*: within ``window_s`` after the start time, the drone stays aimed for ``hold_s`` (every
  step of it), or reaches the target (success); the *response time* (s) is the first step of that
  hold (or the success step) minus the start time. The start time is the intervention for
  ``jump`` and ``swap`` (acceptable places guarantee that a drone which keeps its course is not
  aimed) and the reappearance for ``hide`` ("reacquired"; 0 when still aimed at the reappearance);
* *success*: the episode's own success (``info["is_success"]``), i.e. at the target's new place.

Extras: ``swap``: ``decoy_reached`` (came within the success radius of the target's old place, where
the distractor now stands, before any success); ``hide``: ``held_course`` (the camera sees the target's
place at the reappearance, or the target was reached while hidden; a drone that stays put passes it
too, so read it with ``responded``) and ``reached_while_hidden``.

A camera agent sees a change in the first observation after it (one control period later); the
privileged expert reads the world when it acts. Records whose intervention could not be applied
(episode over before ``at_s``, no acceptable place) carry ``applied`` False and are left out of rates.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ..envs.rollout import run_episode
from ..envs.scenery import corridor_distance
from ..evaluation.metrics import wilson_interval
from ..sim.rotation import yaw_of

KINDS = ("none", "jump", "swap", "hide")


@dataclass(frozen=True)
class InterventionConfig:
    """When and how the world changes, and the response criteria (see the module docstring)."""

    at_s: float = 0.5
    """Time of the change after the reset (s)."""
    hide_s: float = 1.0
    """How long ``hide`` keeps the target out of view (s)."""
    jump_distance_m: tuple[float, float] = (1.5, 3.0)
    """Horizontal distance from the drone to the target's new place (m)."""
    min_turn_deg: float = 20.0
    """Least bearing change an acceptable place asks of the drone (deg)."""
    aim_tol_deg: float = 10.0
    """Course error to the target's bearing that counts as aimed (deg)."""
    hold_s: float = 0.2
    """How long the drone must stay aimed to count as a response (s)."""
    min_speed_mps: float = 0.2
    """Least horizontal speed that gives a course (m/s)."""
    window_s: float = 3.0
    """Time after the start in which a response counts (s)."""
    clearance_m: float = 0.5
    """Extra clearance of the path to a new place from solid scenery (m)."""

    def __post_init__(self) -> None:
        lo, hi = self.jump_distance_m
        if not 0 < lo <= hi:
            raise ValueError(f"jump_distance_m must be (lo, hi) with 0 < lo <= hi, got {self.jump_distance_m}")
        for name in ("at_s", "hide_s", "hold_s", "window_s", "aim_tol_deg", "min_turn_deg"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.min_turn_deg <= self.aim_tol_deg:
            raise ValueError(f"min_turn_deg ({self.min_turn_deg}) must exceed aim_tol_deg ({self.aim_tol_deg}), "
                             "else a drone that keeps its course may count as responding")


def _wrap_deg(a_rad: float) -> float:
    return abs(math.degrees(math.remainder(a_rad, 2 * math.pi)))


def _bearing(from_m: np.ndarray, to_m: np.ndarray) -> float:
    return math.atan2(to_m[1] - from_m[1], to_m[0] - from_m[0])


def _solids(base) -> list[tuple[np.ndarray, float]]:
    """Placed solid scenery objects: (position (3,), radius m)."""
    out = []
    for obj in base.scene.scenery.objects:
        p = base.sim.world.body_position(obj.body)
        if p[2] > -1.0:  # unplaced objects wait far below the ground
            out.append((p, obj.radius_m))
    return out


def _acceptable(base, p: np.ndarray, old_m: np.ndarray, cfg: InterventionConfig, others: list[np.ndarray]) -> bool:
    s = base.state
    if not base.camera.sees(s, p):
        return False
    b = _bearing(s.pos_m, p)
    refs = [yaw_of(s.R), _bearing(s.pos_m, old_m)]
    v = s.vel_world_mps
    if math.hypot(v[0], v[1]) >= cfg.min_speed_mps:
        refs.append(math.atan2(v[1], v[0]))
    if any(_wrap_deg(b - r) < cfg.min_turn_deg for r in refs):
        return False
    if any(np.linalg.norm(p - q) < 1.0 for q in others):
        return False
    path = [s.pos_m, p]
    return all(corridor_distance(q, path) >= r + cfg.clearance_m for q, r in _solids(base))


def _new_place(base, rng: np.random.Generator, cfg: InterventionConfig, others: list[np.ndarray],
               tries: int = 200) -> np.ndarray | None:
    """An acceptable place drawn from ``rng`` (``tries`` attempts), or None."""
    s = base.state
    half_fov = 0.5 * base.camera.config.hfov_deg
    lo_h, hi_h = base.scenario.target_height_m
    for _ in range(tries):
        off = math.radians(rng.choice([-1.0, 1.0]) * rng.uniform(cfg.min_turn_deg, max(half_fov, cfg.min_turn_deg)))
        d = rng.uniform(*cfg.jump_distance_m)
        a = yaw_of(s.R) + off
        p = s.pos_m + np.array([d * math.cos(a), d * math.sin(a), 0.0])
        p[2] = rng.uniform(lo_h, hi_h)
        if _acceptable(base, p, base.target_pos_m, cfg, others):
            return p
    return None


def _other_colour_distractors(base) -> list[int]:
    s = base.scenario
    colours = s.distractor_colors
    ids = base.scene.distractor_ids
    return [b for k, b in enumerate(ids) if not np.allclose(colours[k % len(colours)][:3], s.target_color[:3])]


def _apply(base, kind: str, cfg: InterventionConfig) -> dict[str, Any] | None:
    """Change the world now; returns what was done, or None when no acceptable place exists."""
    rng = base.rngs.diagnostics
    old = np.array(base.target_pos_m, float)
    event: dict[str, Any] = {"old_target_m": old.tolist()}
    if kind == "hide":
        base.set_target_visible(False)
        return event
    distractors = [base.sim.world.body_position(b) for b in base.scene.distractor_ids]
    if kind == "jump":
        p = _new_place(base, rng, cfg, distractors)
        if p is None:
            return None
        base.move_target(p)
        return {**event, "new_target_m": p.tolist()}
    candidates = _other_colour_distractors(base)  # kind == "swap"
    if not candidates:
        raise ValueError("a swap needs a distractor of another colour than the target; use a scenario with "
                         "`distractors: N` (e.g. 'distractors@1') whose distractor_colors differ from target_color")
    body, p, literal = candidates[0], None, False
    for b in candidates:
        q = base.sim.world.body_position(b)
        others = [d for d, i in zip(distractors, base.scene.distractor_ids, strict=True) if i != b]
        if np.linalg.norm(q[:2] - base.state.pos_m[:2]) >= cfg.jump_distance_m[0] and _acceptable(base, q, old, cfg,
                                                                                                  others):
            body, p, literal = b, q, True
            break
    if p is None:
        others = [d for d, i in zip(distractors, base.scene.distractor_ids, strict=True) if i != body]
        p = _new_place(base, rng, cfg, [*others, old])  # keep clear of the distractor's new place too
        if p is None:
            return None
    base.move_target(p)
    base.sim.world.move_body(body, old)
    return {**event, "new_target_m": p.tolist(), "distractor_id": int(body), "literal_swap": literal}


def _aimed(pos: np.ndarray, vel: np.ndarray, target: np.ndarray, cfg: InterventionConfig) -> np.ndarray:
    """Per logged state: horizontal speed >= min and course within aim_tol of the target's bearing."""
    speed = np.hypot(vel[:, 0], vel[:, 1])
    course = np.arctan2(vel[:, 1], vel[:, 0])
    bearing = np.arctan2(target[:, 1] - pos[:, 1], target[:, 0] - pos[:, 0])
    err = np.abs(np.degrees(np.remainder(course - bearing + np.pi, 2 * np.pi) - np.pi))
    return (speed >= cfg.min_speed_mps) & (err <= cfg.aim_tol_deg)


def response(aimed: np.ndarray, start: int, success_step: int | None, dt_s: float,
             cfg: InterventionConfig) -> tuple[bool, float | None]:
    """``(responded, response time s)`` from per-state aim flags (index j = after j steps), see module doc."""
    hold = max(1, round(cfg.hold_s / dt_s))
    last = min(start + round(cfg.window_s / dt_s), len(aimed) - 1)
    a = np.asarray(aimed, dtype=bool).copy()
    if success_step is not None:  # reaching the target counts as aimed from then on
        a[success_step:] = True
        a = np.concatenate([a, np.ones(hold, dtype=bool)])
    for j in range(start, last + 1):
        if j + hold > len(a):
            break
        if a[j:j + hold].all():
            return True, (j - start) * dt_s
    return False, None


def run_intervention(env, controller, kind: str, seed: int, config: InterventionConfig | None = None,
                     **overrides: Any) -> dict[str, Any]:
    """Fly one episode of ``env`` with ``controller`` and intervention ``kind``; return its record.

    Args:
        env: a FlyToTarget or FollowTarget env (any observation mode).
        controller: a :class:`~ltc_drones.control.protocol.Controller` already built for ``env`` (agents,
            experts, scripted controllers), flown by :func:`~ltc_drones.envs.rollout.run_episode`.
        kind: one of :data:`KINDS`.
        seed: the episode's env seed.
        config: timing and criteria; ``overrides`` replace its fields (e.g. ``at_s=1.0``).

    Returns:
        A JSON-friendly record: ``kind``, ``seed``, ``applied``, ``t_intervention_s``, ``responded``,
        ``response_time_s``, ``success``, ``time_to_success_s``, ``crashed``, the intervention's places,
        the kind's extras, and ``trajectory`` (``pos_m``, ``target_m`` per logged state).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown intervention {kind!r}; choose one of {', '.join(KINDS)}")
    cfg = replace(config or InterventionConfig(), **overrides)
    base = env.unwrapped
    if not hasattr(base, "move_target"):
        raise ValueError(f"{type(base).__name__} has no single target to intervene on; use fly-to-target or "
                         "follow-target")
    dt = base.clock.ctrl_dt_s
    k_at = round(cfg.at_s / dt)
    k_back = k_at + max(1, round(cfg.hide_s / dt)) if kind == "hide" else None
    pos, vel, target = [], [], []
    event, held_goal, success_step, in_view_back = None, None, None, None
    k = 0

    def intervene(batch, live: np.ndarray) -> None:  # before the action of step k
        nonlocal event, held_goal, in_view_back
        if held_goal is not None and not base.target_visible:
            batch[0, :3] = held_goal  # a kin observation keeps the goal it last saw while the target is hidden
        if k == k_at:
            event = _apply(base, kind, cfg) if kind != "none" else {}
            if kind == "hide" and base.obs_mode == "kin":
                held_goal = np.array(batch[0, :3], copy=True)
        if k == k_back and event is not None:
            base.set_target_visible(True)
            in_view_back = bool(base.camera.sees(base.state, base.target_pos_m))

    def count(_actions, _rewards, infos: list[dict]) -> None:
        nonlocal k, success_step
        k += 1
        if infos[0]["is_success"] and success_step is None:
            success_step = k

    def log() -> None:  # after the reset and after every step
        pos.append(base.state.pos_m.copy())
        vel.append(base.state.vel_world_mps.copy())
        target.append(base.target_pos_m.copy())

    record = run_episode(env, controller, seed, before_act=intervene, after_step=count, on_frame=log)
    base.set_target_visible(True)
    pos_a, vel_a, tgt_a = np.array(pos), np.array(vel), np.array(target)
    rec: dict[str, Any] = {
        "kind": kind, "seed": int(seed), "applied": event is not None, "t_intervention_s": k_at * dt,
        "success": record.success, "crashed": record.crashed,
        "time_to_success_s": None if success_step is None else success_step * dt, "steps": k,
        "responded": None, "response_time_s": None, **(event or {}),
        "trajectory": {"pos_m": pos_a.round(4).tolist(), "target_m": tgt_a.round(4).tolist()},
    }
    if event is None or kind == "none":
        return rec
    start = k_at if kind != "hide" else k_back
    if kind == "hide" and in_view_back is None:  # the episode ended before the reappearance
        rec.update(reached_while_hidden=success_step is not None, held_course=success_step is not None,
                   responded=success_step is not None)
        return rec
    aimed = _aimed(pos_a, vel_a, tgt_a, cfg)
    rec["responded"], rec["response_time_s"] = response(aimed, start, success_step, dt, cfg)
    if kind == "swap":
        old = np.array(event["old_target_m"])
        near = np.linalg.norm(pos_a[k_at:] - old, axis=1) <= base.scenario.success_radius_m
        first = int(np.argmax(near)) + k_at if near.any() else None
        rec["decoy_reached"] = first is not None and (success_step is None or first < success_step)
    if kind == "hide":
        rec.update(reached_while_hidden=False, held_course=bool(in_view_back))
    return rec


def _rate(records: list[dict[str, Any]], key: str) -> dict[str, Any]:
    values = [bool(r[key]) for r in records if r.get(key) is not None]
    n, hits = len(values), sum(values)
    lo, hi = wilson_interval(hits, n)
    return {"n": n, "count": hits, "rate": hits / n if n else None, "wilson95": [lo, hi]}


def summarize_interventions(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind: episodes, applied, response / success rates with 95 % Wilson intervals, response times (s)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        recs = [r for r in records if r["kind"] == kind]
        if not recs:
            continue
        applied = [r for r in recs if r["applied"]]
        times = [r["response_time_s"] for r in applied if r.get("response_time_s") is not None]
        row: dict[str, Any] = {"episodes": len(recs), "applied": len(applied),
                               "success": _rate(applied, "success"), "crash": _rate(applied, "crashed")}
        if kind != "none":
            row["response"] = _rate(applied, "responded")
            row["response_time_s"] = {"n": len(times), "median": float(np.median(times)) if times else None,
                                      "mean": float(np.mean(times)) if times else None}
        if kind == "swap":
            row["decoy_reached"] = _rate(applied, "decoy_reached")
            row["literal_swap"] = _rate(applied, "literal_swap")
        if kind == "hide":
            row["held_course"] = _rate(applied, "held_course")
            row["reached_while_hidden"] = _rate(applied, "reached_while_hidden")
        out[kind] = row
    return out


def intervention_suite(controller, task: str = "fly-to-target", scenario: str = "nominal", episodes: int = 10,
                       seed: int = 0, kinds: tuple[str, ...] = ("jump", "swap", "hide"), obs: str | None = None,
                       config: InterventionConfig | None = None, keep_trajectories: bool = False) -> dict[str, Any]:
    """Fly ``episodes`` test seeds per intervention kind and summarise.

    Args:
        controller: ``"expert"``, ``"scripted:<name>"`` or an agent path (see
            :class:`ltc_drones.evaluation.evaluator.ControllerSpec`).
        task, scenario: as for the evaluator. A ``swap`` in a scenario without distractors flies the
            same scenario with one distractor added (distractors are laid out last, so the rest of
            the world is unchanged); ``scenarios`` in the result names what was flown.
        episodes, seed: the evaluator's test seeds (every kind flies the same seeds).
        kinds: subset of :data:`KINDS`.
        obs: observation mode for experts and scripted controllers (agents use their own).
        config: :class:`InterventionConfig`.
        keep_trajectories: keep each record's ``trajectory`` (dropped by default).

    Returns:
        ``{"request": ..., "config": ..., "scenarios": {kind: name}, "records": [...], "summary": {kind: ...}}``.
    """
    from ..envs import load_scenario, make_env
    from ..evaluation.evaluator import make_request

    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown intervention {kind!r}; choose from {', '.join(KINDS)}")
    request = make_request(controller, task, [scenario], episodes, seed, obs=obs)
    cfg = config or InterventionConfig()
    records, flown = [], {}
    for kind in kinds:
        scen: Any = scenario
        base_scen = load_scenario(task, scenario)
        if kind == "swap" and base_scen.distractors == 0:
            scen = replace(base_scen, distractors=1, name=f"{base_scen.name}+1 distractor")
        flown[kind] = scen if isinstance(scen, str) else scen.name
        env = make_env(task, obs=request.obs, act=request.act, scenario=scen)
        try:
            ctl = request.controller.build(env)
            for s in request.seeds:
                rec = run_intervention(env, ctl, kind, s, cfg)
                if not keep_trajectories:
                    rec.pop("trajectory")
                records.append(rec)
        finally:
            env.close()
    return {"request": request.to_dict(), "config": asdict(cfg), "scenarios": flown, "records": records,
            "summary": summarize_interventions(records)}
