"""The closed-loop evaluator: many seeded episodes per scenario, in parallel, resumable.

``evaluate(controller, task, scenarios, episodes, seed, workers, out)`` flies a controller (a trained
agent, the privileged expert, or a scripted controller) for ``episodes`` seeded episodes in each
scenario (``"nominal"``, ``"fog@3"``, ...). Every scenario uses the same episode seeds, so scenarios and
controllers are compared on paired episodes. Episodes run in worker processes (spawned, one torch
thread each); a record depends only on the controller, the scenario and the seed, so the records are
identical whatever the number of workers.

Output folder (``out``): ``meta.json`` (the request), ``records.partial.jsonl`` while running (one line
per finished episode, appended and flushed, so an interrupted evaluation resumes without repeating or
losing an episode), then ``records.jsonl`` (sorted by scenario and episode), ``summary.json`` and
``summary.csv`` (one row per scenario, see :func:`ltc_drones.evaluation.metrics.summarize`) and
``table.md``.

With ``diagnostics`` (a provider, see :mod:`.probes`) the records, summaries and tables also carry what
it measures (attention on the target, sanity checks, causal interventions); without, nothing changes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..atomic import write_atomic, write_json_atomic
from ..envs.rollout import run_episode
from .metrics import Trajectory, episode_metrics, summarize
from .probes import UNITS_PARTIAL, DiagnosedRun, Diagnostics, EpisodeProbe, write_interventions
from .tables import TABLE_COLUMNS, summary_csv, summary_table  # noqa: F401 - TABLE_COLUMNS re-exported

RECORDS = "records.jsonl"
PARTIAL = "records.partial.jsonl"
META = "meta.json"
FOLLOW_TASKS = ("follow-target",)


class EvaluationError(ValueError):
    """An evaluation request is invalid (unknown controller, task or scenario, mismatched agent or folder)."""


@dataclass(frozen=True)
class ControllerSpec:
    """What flies: ``agent`` (a checkpoint path), ``expert`` (privileged), or ``scripted`` (a name).

    Specs are plain data so that worker processes can rebuild the controller.
    """

    kind: Literal["agent", "expert", "scripted"]
    path: str = ""
    """Checkpoint file or folder (agents) or the scripted controller's name."""

    @classmethod
    def parse(cls, text: str | os.PathLike | ControllerSpec) -> ControllerSpec:
        """``"expert"``, ``"scripted:<name>"`` or a path to an agent checkpoint (file or folder)."""
        if isinstance(text, ControllerSpec):
            return text
        s = os.fspath(text)
        if s == "expert":
            return cls("expert")
        if s.startswith("scripted:"):
            from ..control.scripted import SCRIPTED

            name = s.split(":", 1)[1]
            if name not in SCRIPTED:
                raise EvaluationError(f"unknown scripted controller {name!r}; valid: {', '.join(sorted(SCRIPTED))}")
            return cls("scripted", name)
        if not Path(s).exists():
            raise EvaluationError(f"no agent at {s!r}: give a checkpoint file or folder, 'expert', or "
                                  "'scripted:<name>'")
        return cls("agent", str(Path(s)))

    @property
    def label(self) -> str:
        return {"agent": f"agent:{self.path}", "expert": "expert", "scripted": f"scripted:{self.path}"}[self.kind]

    def env_spec(self) -> dict[str, Any] | None:
        """The env an agent was trained for (None for experts and scripted controllers)."""
        if self.kind != "agent":
            return None
        from ..training import load_agent

        return load_agent(self.path).env_spec

    def build(self, env):
        """The controller for ``env`` (an object with ``reset(num_envs=1)`` and ``act(obs, episode_start=None)``)."""
        if self.kind == "expert":
            from ..control import make_expert

            return make_expert(env)
        if self.kind == "scripted":
            from ..control.scripted import make_scripted

            return make_scripted(self.path, env)
        from ..training import load_agent

        return load_agent(self.path, env)


@dataclass(frozen=True)
class EvalRequest:
    """One evaluation: what flies, where, how often, from which seed."""

    controller: ControllerSpec
    task: str
    scenarios: tuple[str, ...]
    episodes: int
    seed: int = 0
    obs: str = "kin"
    act: str = "vel"
    seeds: tuple[int, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"controller": self.controller.label, "task": self.task, "scenarios": list(self.scenarios),
                "episodes": self.episodes, "seed": self.seed, "obs": self.obs, "act": self.act,
                "seeds": list(self.seeds)}


def episode_seeds(seed: int, episodes: int) -> list[int]:
    """The env seeds of an evaluation (test seeds, disjoint from training and model selection)."""
    from ..seeding import test_seeds

    return list(test_seeds(seed, episodes))


# ---- workers ----------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_env(request: EvalRequest, scenario: str):
    key = (request.controller, request.task, request.obs, request.act, scenario)
    if _WORKER.get("key") != key:
        if "env" in _WORKER:
            _WORKER["env"].close()
        from ..envs import make_env

        env = make_env(request.task, obs=request.obs, act=request.act, scenario=scenario)
        _WORKER.update(key=key, env=env, controller=request.controller.build(env))
    return _WORKER["env"], _WORKER["controller"]


def fly_episode(env, controller, seed: int, task: str, probe: EpisodeProbe | None = None) -> dict[str, Any]:
    """Fly one episode with ``controller`` and return its metrics (plus the return and end flags).

    ``probe.before_act(obs)`` (if given) sees every observation before the controller acts on it.
    """
    base = env.unwrapped
    band = tuple(base.scenario.follow_distance_m) if task in FOLLOW_TASKS else None
    pos, goal, actions, tracked, last = [], [], [], [], {}

    def where() -> None:  # after the reset and after every step
        pos.append(base.state.pos_m.copy())
        goal.append(np.array(base.goal_pos_m, float))

    def transition(action, info: dict) -> None:
        actions.append(np.asarray(action, dtype=np.float32).reshape(-1))
        if band is not None:
            tracked.append(band[0] <= info["distance_m"] <= band[1] and bool(info["target_in_view"]))
        if info["is_success"] and "success_step" not in last:
            last["success_step"] = len(actions)
        last["info"] = info

    record = run_episode(env, controller, seed, on_step=where, on_transition=transition,
                         before_act=probe.before_act if probe is not None else None)
    info = last["info"]
    traj = Trajectory(base.clock.ctrl_dt_s, np.array(pos), np.array(goal), np.array(actions),
                      bool(info["is_success"]), bool(info["crashed"]), last.get("success_step"),
                      np.array(tracked) if band is not None else None, band, moving_goal=task in FOLLOW_TASKS)
    return {**episode_metrics(traj), "return": record.episode_return,
            "out_of_bounds": bool(info.get("out_of_bounds", False))}


def evaluate_episode(request: EvalRequest, scenario: str, index: int,
                     diagnostics: tuple[Diagnostics, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Worker: one episode of ``scenario`` (episode ``index`` of the request); returns its record.

    ``diagnostics``: ``(provider, checks)``; its probe's fields are added to the record.
    """
    env, controller = _worker_env(request, scenario)
    seed = request.seeds[index]
    probe = diagnostics[0].probe(env, controller, diagnostics[1]) if diagnostics is not None else None
    metrics = fly_episode(env, controller, seed, request.task, probe)
    record = {"scenario": scenario, "episode": index, "seed": seed, "controller": request.controller.label,
              "task": request.task, **{k: _round(v) for k, v in metrics.items()}}
    return record if probe is None else {**record, **probe.record()}


def _round(v: Any) -> Any:
    # Rounded so that records are stable text (identical across worker counts and machines' last bits).
    return round(v, 6) if isinstance(v, float) else v


# ---- orchestration ----------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """The result: the records (sorted) and one summary per scenario."""

    request: EvalRequest
    records: list[dict[str, Any]]
    summaries: dict[str, dict[str, Any]]
    out: Path | None = None
    diagnostics: dict[str, Any] | None = None
    """With a diagnostics provider: ``config``, ``checks``, intervention ``units``, CSV ``columns`` per scenario and
    the markdown ``table`` (see :meth:`.probes.DiagnosedRun.finish`)."""

    def table(self) -> str:
        extra = self.diagnostics["table"] if self.diagnostics else ""
        return summary_table(self.summaries) + extra


def make_request(controller, task: str, scenarios: Sequence[str], episodes: int, seed: int = 0,
                 obs: str | None = None, act: str | None = None) -> EvalRequest:
    """Validate everything before anything flies: controller, task, scenarios, the agent's env."""
    from ..envs import ENV_IDS, load_scenario

    spec = ControllerSpec.parse(controller)
    if task not in ENV_IDS:
        raise EvaluationError(f"unknown task {task!r}; valid tasks: {', '.join(ENV_IDS)}")
    if episodes < 1:
        raise EvaluationError(f"episodes must be >= 1, got {episodes}")
    scenarios = tuple(scenarios)
    if not scenarios or len(set(scenarios)) != len(scenarios):
        raise EvaluationError(f"give one or more distinct scenarios, got {list(scenarios)}")
    for name in scenarios:
        load_scenario(task, name)  # raises ScenarioError naming the entry and the valid choices
    env_spec = spec.env_spec()
    if env_spec is not None:
        if env_spec["task"] != task:
            raise EvaluationError(f"agent {spec.path} was trained on task {env_spec['task']!r}, not {task!r}")
        if obs is not None and obs != env_spec["obs"]:
            raise EvaluationError(f"agent {spec.path} was trained on obs={env_spec['obs']!r}, not obs={obs!r}")
        if act is not None and act != env_spec["act"]:
            raise EvaluationError(f"agent {spec.path} acts in mode {env_spec['act']!r}, not {act!r}")
        obs, act = env_spec["obs"], env_spec["act"]
    obs = obs or "kin"
    act = act or "vel"
    return EvalRequest(spec, task, scenarios, episodes, seed, obs, act, tuple(episode_seeds(seed, episodes)))


def _read_partial(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    """Finished records of an interrupted run; a torn last line (killed mid-write) is dropped."""
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if not path.is_file():
        return done
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        done[(rec["scenario"], rec["episode"])] = rec
    return done


def _prepare_folder(out: Path, request: EvalRequest,
                    diagnostics: Diagnostics | None = None) -> dict[tuple[str, int], dict[str, Any]]:
    meta = {**request.to_dict(), "format": "ltc_drones.evaluation", "schema_version": 1}
    if diagnostics is not None:
        meta["diagnostics"] = diagnostics.to_dict()
    if (out / META).is_file():
        old = json.loads((out / META).read_text())
        if old != meta:
            diff = sorted(k for k in meta if old.get(k) != meta[k])
            raise EvaluationError(f"{out} holds an evaluation of another request (differs in {', '.join(diff)}); "
                                  "choose another --out folder or delete it")
    elif out.exists() and any(out.iterdir()):
        raise EvaluationError(f"{out} exists, is not empty and holds no {META}; choose an empty --out folder")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / META, meta)
    done = _read_partial(out / PARTIAL)
    if (out / RECORDS).is_file():
        done.update(_read_partial(out / RECORDS))
    return done


def evaluate(controller, task: str, scenarios: Sequence[str] = ("nominal",), episodes: int = 100, seed: int = 0,
             workers: int = 1, out: str | os.PathLike | None = None, obs: str | None = None, act: str | None = None,
             progress: bool = True, diagnostics: Diagnostics | None = None) -> Evaluation:
    """Fly ``controller`` for ``episodes`` seeded episodes in every scenario and summarise.

    Args:
        controller: an agent checkpoint path (file or folder), ``"expert"`` or ``"scripted:<name>"``.
        task: task key (``fly-to-target``, ...).
        scenarios: scenario names, with severity levels as ``name@level`` (``"fog@3"``).
        episodes: episodes per scenario (the same seeds in every scenario).
        seed: evaluation seed; selects the episode seeds (see :mod:`ltc_drones.seeding`).
        workers: worker processes (1: in this process).
        out: folder for records and summaries; an interrupted evaluation into the same folder resumes.
        obs, act: the env's modes (agents: taken from the checkpoint; giving others is an error).
        progress: show a progress bar.
        diagnostics: a diagnostics provider (e.g. ``ltc_drones.diagnostics.ClosedLoopDiagnostics()``): its
            checks run first, its probe watches every episode, its intervention units fly beside the
            episodes (see :mod:`.probes`).

    Raises:
        EvaluationError: invalid request, or ``out`` holds another evaluation.
        ScenarioError: an unknown scenario or level.
        RuntimeError: a worker process died (finished episodes are kept: run again to resume).
    """
    if workers < 1:
        raise EvaluationError(f"workers must be >= 1, got {workers}")
    request = make_request(controller, task, scenarios, episodes, seed, obs, act)
    out_path = Path(out) if out is not None else None
    done = _prepare_folder(out_path, request, diagnostics) if out_path is not None else {}
    diagnosed = DiagnosedRun(diagnostics, request, out_path) if diagnostics is not None else None
    todo = [(s, k) for s in request.scenarios for k in range(episodes) if (s, k) not in done]
    records = dict(done)
    sink = open(out_path / PARTIAL, "a") if out_path is not None else None  # noqa: SIM115 - closed below
    unit_sink = open(out_path / UNITS_PARTIAL, "a") if out_path and diagnosed else None  # noqa: SIM115 - as sink
    from tqdm import tqdm

    bar = tqdm(total=len(request.scenarios) * episodes, initial=len(done), unit="episode", disable=not progress,
               desc=f"evaluate {task}")

    def keep(rec: dict[str, Any]) -> None:
        records[(rec["scenario"], rec["episode"])] = rec
        if sink is not None:
            sink.write(json.dumps(rec, sort_keys=True) + "\n")
            sink.flush()
            os.fsync(sink.fileno())
        bar.update(1)

    extra = diagnosed.extra if diagnosed is not None else ()
    jobs = [(evaluate_episode, (request, s, k, *extra), keep) for s, k in todo]
    if diagnosed is not None:  # intervention units first: they are the longest jobs
        jobs = diagnosed.unit_jobs(lambda unit: diagnosed.keep_unit(unit, unit_sink)) + jobs
    try:
        if workers == 1 or len(jobs) <= 1:
            for fn, args, callback in jobs:
                callback(fn(*args))
        else:
            from ..parallel import process_pool

            with process_pool(workers) as pool:
                futures = {pool.submit(fn, *args): callback for fn, args, callback in jobs}
                for fut in as_completed(futures):
                    futures[fut](fut.result())
    except BrokenProcessPool as exc:
        raise RuntimeError(f"an evaluation worker died; {len(records)} finished episodes are kept in {out_path}. "
                           "Run the same command again to resume.") from exc
    finally:
        bar.close()
        for f in (sink, unit_sink):
            if f is not None:
                f.close()
        _WORKER.clear()
    ordered = [records[(s, k)] for s in request.scenarios for k in range(episodes)]
    summaries = {s: summarize([r for r in ordered if r["scenario"] == s]) for s in request.scenarios}
    result = Evaluation(request, ordered, summaries, out_path)
    if diagnosed is not None:
        result.diagnostics = diagnosed.finish(ordered, summaries)
    if out_path is not None:
        write_outputs(result)
    return result


def write_outputs(result: Evaluation) -> None:
    """``records.jsonl``, ``summary.json``, ``summary.csv`` and ``table.md`` (atomic), then drop the partial file."""
    out = result.out
    assert out is not None
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in result.records)
    write_atomic(out / RECORDS, lambda tmp: Path(tmp).write_text(text))
    summary: dict[str, Any] = {"request": result.request.to_dict(), "scenarios": result.summaries}
    columns = None
    if result.diagnostics is not None:
        d = result.diagnostics
        summary["diagnostics"] = {"config": d["config"], "checks": d["checks"]}
        columns = d["columns"]
        write_interventions(out, d["units"])
    write_json_atomic(out / "summary.json", summary)
    write_atomic(out / "summary.csv", lambda tmp: Path(tmp).write_text(summary_csv(result.summaries, columns)))
    write_atomic(out / "table.md", lambda tmp: Path(tmp).write_text(result.table()))
    (out / PARTIAL).unlink(missing_ok=True)
