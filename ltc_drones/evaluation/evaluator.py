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

Multi-agent tasks (``multi-follow``, ``multi-fly-to-target``; ``num_drones`` drones) work the same way, one
record per team episode: one controller flies every agent (the team expert, a scripted controller per agent,
or a shared-parameter agent with one recurrent state per agent); records and summaries are those of
:mod:`.team` (team success, per-agent success, collision and crash rates, the task's metrics).

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
from typing import Any

import numpy as np

from ..atomic import write_atomic, write_json_atomic
from ..envs.rollout import run_episode
from ..tasks import check_num_drones, task_spec
from .controllers import ControllerSpec, EvaluationError  # noqa: F401 - re-exported
from .metrics import Trajectory, episode_metrics, summarize
from .probes import UNITS_PARTIAL, DiagnosedRun, Diagnostics, EpisodeProbe, write_interventions
from .tables import TABLE_COLUMNS, summary_csv, summary_table  # noqa: F401 - TABLE_COLUMNS re-exported

RECORDS = "records.jsonl"
PARTIAL = "records.partial.jsonl"
META = "meta.json"


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
    num_drones: int | None = None
    """Drones of a multi-agent task (None for single-agent tasks)."""

    @property
    def multi_agent(self) -> bool:
        return self.num_drones is not None

    def make_env(self, scenario: str, **kwargs):
        """The env of this request in ``scenario`` (a team env of ``num_drones`` for a team task)."""
        from ..tasks import make_env

        return make_env(self.task, obs=self.obs, act=self.act, scenario=scenario, num_drones=self.num_drones,
                        **kwargs)

    def to_dict(self) -> dict[str, Any]:
        d = {"controller": self.controller.label, "task": self.task, "scenarios": list(self.scenarios),
             "episodes": self.episodes, "seed": self.seed, "obs": self.obs, "act": self.act,
             "seeds": list(self.seeds)}
        return d if self.num_drones is None else {**d, "num_drones": self.num_drones}


def episode_seeds(seed: int, episodes: int) -> list[int]:
    """The env seeds of an evaluation (test seeds, disjoint from training and model selection)."""
    from ..seeding import test_seeds

    return list(test_seeds(seed, episodes))


# ---- workers ----------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_env(request: EvalRequest, scenario: str):
    key = (request.controller, request.task, request.obs, request.act, request.num_drones, scenario)
    if _WORKER.get("key") != key:
        if "env" in _WORKER:
            _WORKER["env"].close()
        env = request.make_env(scenario)
        _WORKER.update(key=key, env=env, controller=request.controller.build(env))
    return _WORKER["env"], _WORKER["controller"]


def measure_episode(env, controller, seed: int, task: str, probe: EpisodeProbe | None = None) -> dict[str, Any]:
    """Fly one episode with ``controller`` and return its metrics (plus the return and end flags).

    ``probe.before_act(batch, live)`` (if given) sees every observation batch before the controller acts on it.
    """
    base = env.unwrapped
    moving = task_spec(task).moving_target
    band = tuple(base.scenario.follow_distance_m) if moving else None
    pos, goal, actions, tracked, last = [], [], [], [], {}

    def where() -> None:  # after the reset and after every step
        pos.append(base.state.pos_m.copy())
        goal.append(np.array(base.goal_pos_m, float))

    def transition(action: np.ndarray, _rewards, infos: list[dict]) -> None:
        info = infos[0]
        actions.append(action[0])
        if band is not None:
            tracked.append(band[0] <= info["distance_m"] <= band[1] and bool(info["target_in_view"]))
        if info["is_success"] and "success_step" not in last:
            last["success_step"] = len(actions)
        last["info"] = info

    record = run_episode(env, controller, seed, on_frame=where, after_step=transition,
                         before_act=probe.before_act if probe is not None else None)
    info = last["info"]
    traj = Trajectory(base.clock.ctrl_dt_s, np.array(pos), np.array(goal), np.array(actions),
                      bool(info["is_success"]), bool(info["crashed"]), last.get("success_step"),
                      np.array(tracked) if band is not None else None, band, moving_goal=moving)
    return {**episode_metrics(traj), "return": record.episode_return,
            "out_of_bounds": bool(info.get("out_of_bounds", False))}


def evaluate_episode(request: EvalRequest, scenario: str, index: int,
                     diagnostics: tuple[Diagnostics, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Worker: one episode of ``scenario`` (episode ``index`` of the request); returns its record.

    ``diagnostics``: ``(provider, checks)``; its probe's fields are added to the record.
    """
    env, controller = _worker_env(request, scenario)
    seed = request.seeds[index]
    record = {"scenario": scenario, "episode": index, "seed": seed, "controller": request.controller.label,
              "task": request.task}
    probe = diagnostics[0].probe(env, controller, diagnostics[1]) if diagnostics is not None else None
    if request.multi_agent:
        from .team_metrics import measure_team_episode

        metrics = measure_team_episode(env, controller, seed, probe)
        record.update({"num_drones": request.num_drones, **{k: _round(v) for k, v in metrics.items()}})
        return record if probe is None else {**record, **probe.record()}
    metrics = measure_episode(env, controller, seed, request.task, probe)
    record.update({k: _round(v) for k, v in metrics.items()})
    return record if probe is None else {**record, **probe.record()}


def _round(v: Any) -> Any:
    # Rounded so that records are stable text (identical across worker counts and machines' last bits).
    if isinstance(v, list):
        return [_round(x) for x in v]
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
                 obs: str | None = None, act: str | None = None, num_drones: int | None = None) -> EvalRequest:
    """Validate everything before anything flies: controller, task, scenarios, the agent's env, the team size."""
    from ..envs import load_scenario

    spec = ControllerSpec.parse(controller)
    try:
        multi = task_spec(task).team
        check_num_drones(task, num_drones)
    except ValueError as exc:
        raise EvaluationError(str(exc)) from None
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
        if multi and num_drones is None:
            num_drones = env_spec.get("num_drones")
    obs = obs or "kin"
    act = act or "vel"
    try:
        num_drones = check_num_drones(task, num_drones)
    except ValueError as exc:
        raise EvaluationError(str(exc)) from None
    return EvalRequest(spec, task, scenarios, episodes, seed, obs, act, tuple(episode_seeds(seed, episodes)),
                       num_drones)


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
             progress: bool = True, diagnostics: Diagnostics | None = None,
             num_drones: int | None = None) -> Evaluation:
    """Fly ``controller`` for ``episodes`` seeded episodes in every scenario and summarise.

    Args:
        controller: an agent checkpoint path (file or folder), ``"expert"`` or ``"scripted:<name>"``.
        task: task key (``fly-to-target``, ..., or a multi-agent task: ``multi-follow``, ``multi-fly-to-target``).
        scenarios: scenario names, with severity levels as ``name@level`` (``"fog@3"``).
        episodes: episodes per scenario (the same seeds in every scenario).
        seed: evaluation seed; selects the episode seeds (see :mod:`ltc_drones.seeding`).
        workers: worker processes (1: in this process).
        out: folder for records and summaries; an interrupted evaluation into the same folder resumes.
        obs, act: the env's modes (agents: taken from the checkpoint; giving others is an error).
        progress: show a progress bar.
        diagnostics: a diagnostics provider (e.g. ``ltc_drones.diagnostics.ClosedLoopDiagnostics()``): its
            checks run first, its probe watches every episode, its intervention units fly beside the
            episodes (see :mod:`.probes`). Multi-agent tasks need a provider with ``multi_agent = True``.
        num_drones: drones of a multi-agent task (default: the agent's trained team size, else 4).

    Raises:
        EvaluationError: invalid request, or ``out`` holds another evaluation.
        ScenarioError: an unknown scenario or level.
        RuntimeError: a worker process died (finished episodes are kept: run again to resume).
    """
    if workers < 1:
        raise EvaluationError(f"workers must be >= 1, got {workers}")
    request = make_request(controller, task, scenarios, episodes, seed, obs, act, num_drones)
    if diagnostics is not None and request.multi_agent and not getattr(diagnostics, "multi_agent", False):
        raise EvaluationError(f"{type(diagnostics).__name__} runs on single-agent tasks only, not on {task}; use "
                              "ltc_drones.diagnostics.ClosedLoopDiagnostics, or leave diagnostics out and diagnose "
                              f"the team per agent with: ltc-drones diagnose --task {task} --agent AGENT")
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
    if request.multi_agent:
        from .team_metrics import summarize_team as summarize_one
    else:
        summarize_one = summarize
    summaries = {s: summarize_one([r for r in ordered if r["scenario"] == s]) for s in request.scenarios}
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
