"""Check that the package's behaviour is unchanged against what is committed (run it after a refactor).

Checks (``--only`` picks a subset; each prints PASS or FAIL; the exit code is 1 on any failure):

* ``analysis``: for every committed grid ``benchmarks/<name>.yaml`` with results in ``results/<name>/``,
  ``ltc-drones benchmark --grid ... --analyse-only`` is run into a copy of the results folder (its cell records,
  ``grid.json`` and ``diagnostics.json``; the files the analysis writes are deleted from the copy first) and
  every file must come out byte-identical to the committed one (none missing, none new).
  The committed results are never written.
* ``cells``: for every shipped rgb agent of a benchmark (``agents/*/eval.json`` naming a grid, arch and training
  seed), one evaluation shard cell of that grid (``results/<grid>/cells/eval__<arch>__seed<s>__<shard>.json``)
  is flown again as the cell flies it (``ltc_drones.evaluation.evaluate`` with the grid's task, eval seed and
  team) with the shipped ``agent.pt``: the success and crash bits (and a team's per-agent bits) must be
  identical and, when every episode of the scenario is flown, the summary floats within 1e-9.
  ``--scenarios-per-cell`` and ``--episodes`` limit the work (default: the shard's ``@3`` level, all episodes).
  Known: on a 2-core x86_64 machine the ltc-ncp agent's cells differ from the committed records (summary floats
  by ~1e-5, once a crash flag), with the code that wrote those records too; cfc-ncp and lstm match exactly. The
  LTC's arithmetic depends on the machine (its native kernel is built with -march=native; the torch path differs
  again), so its records are reproducible only where they were made.
* ``cards``: every shipped agent flies its model card's first test episode (seed 20000, nominal, the card's
  task and team size); its record must equal ``results/shipped_first_episodes.json`` (discrete fields exactly,
  floats within 1e-9) and agree with the card's counts (all test episodes succeeded: the first did).
  ``--record`` (re)writes that file from the code checked out: do it only on code known to be right.
* ``revision`` (with ``--against REV``): the same cells flown here by this checkout and by revision ``REV`` (a
  temporary git worktree): every field of every record must agree (floats within 1e-9). This is the check for
  the agent whose committed records were made on another machine.
* ``vector``: the vector-vs-PyBullet parity tests of ``tests/envs/test_vector_env.py`` (pytest, in a
  subprocess), and the largest position difference over their whole expert episodes and physical shifts,
  which must be <= 1e-12 m.

Run from anywhere (it works in the repository root), e.g.::

    python scripts/check_unchanged.py                       # everything (about 5 minutes on 2 cores)
    python scripts/check_unchanged.py --only analysis,vector
    python scripts/check_unchanged.py --only cells --episodes 5 --workers 2
    python scripts/check_unchanged.py --only cards --record  # once, on the code the others are compared with
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's package, not whichever one the interpreter has installed
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # subprocesses
CHECKS = ("analysis", "cells", "cards", "vector", "revision")
FIRST_EPISODES = ROOT / "results" / "shipped_first_episodes.json"
ANALYSIS_INPUTS = {"cells", "grid.json", "diagnostics.json"}  # what write_analysis reads, kept in the copy
TOL = 1e-9
VECTOR_TOL_M = 1e-12


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def check_analysis(args, tmp: Path) -> list[str]:
    from ltc_drones.cli import main

    problems = []
    for grid_file in sorted((ROOT / "benchmarks").glob("*.yaml")):
        committed = ROOT / "results" / grid_file.stem
        if not (committed / "cells").is_dir():
            print(f"  {grid_file.name}: no results committed, skipped")
            continue
        copy = tmp / "analysis" / grid_file.stem
        shutil.copytree(committed, copy)
        outputs = [p for p in copy.iterdir() if p.is_file() and p.name not in ANALYSIS_INPUTS]
        for p in outputs:
            p.unlink()  # so that an output the analysis no longer writes shows up as missing
        t0 = time.perf_counter()
        code = main(["benchmark", "--grid", str(grid_file), "--analyse-only", "--results", str(copy)])
        want, got = files(committed), files(copy)
        bad = [f"{n} differs" for n in want if n in got and got[n] != want[n]]
        bad += [f"{n} not written" for n in want if n not in got] + [f"{n} is new" for n in got if n not in want]
        bad += [f"exit code {code}"] if code else []
        print(f"  {grid_file.stem}: {len(outputs)} outputs rewritten, {len(want)} files compared, {len(bad)} problems "
              f"({time.perf_counter() - t0:.1f} s)")
        problems += [f"{grid_file.stem}: {b}" for b in bad]
    return problems


def compare_summary(want: dict, got: dict, where: str) -> tuple[list[str], float]:
    """Problems (ints, None and key sets exactly; floats within TOL) and the largest float difference."""
    problems, worst = [], 0.0
    for key in sorted(set(want) | set(got)):
        a, b = np.asarray(want.get(key), dtype=object).ravel(), np.asarray(got.get(key), dtype=object).ravel()
        if key not in want or key not in got or a.shape != b.shape:
            problems.append(f"{where}: {key}: {want.get(key)!r} != {got.get(key)!r}")
            continue
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and isinstance(y, (int, float)) and not isinstance(y, bool):
                worst = max(worst, abs(x - y))
                if not abs(x - y) <= TOL:
                    problems.append(f"{where}: {key}: {x!r} != {y!r}")
            elif x != y or type(x) is not type(y):
                problems.append(f"{where}: {key}: {x!r} != {y!r}")
    return problems, worst


def eval_cell(grid, arch: str, seed: int, shard: str | None) -> tuple[str, dict]:
    """The committed eval record of (arch, seed) for ``shard``; default: the shard with the most failed or crashed
    episodes at level 3 (so both outcomes are compared)."""
    cells = {p.stem.rsplit("__", 1)[1]: p for p in
             (ROOT / "results" / grid.name / "cells").glob(f"eval__{arch}__seed{seed}__*.json")}
    if shard is None:
        def misses(s):
            return sum(len(v["success"]) - sum(v["success"]) + sum(v["crashed"])
                       for k, v in json.loads(cells[s].read_text())["scenarios"].items() if k.endswith("@3"))
        shard = max(sorted(cells), key=misses)
    return shard, json.loads(cells[shard].read_text())


def check_cells(args, tmp: Path) -> list[str]:
    from ltc_drones.agents import load_agent
    from ltc_drones.benchmark import load_grid
    from ltc_drones.evaluation import evaluate
    from ltc_drones.models import trainable_parameters

    problems = []
    for folder in sorted(p for p in (ROOT / "agents").iterdir() if (p / "eval.json").is_file()):
        card = json.loads((folder / "eval.json").read_text())
        if "grid" not in card or load_grid(ROOT / card["grid"]).obs != "rgb":
            print(f"  {folder.name}: not an rgb benchmark cell's agent (eval.json names no rgb grid), skipped")
            continue
        grid = load_grid(ROOT / card["grid"])
        arch, seed = card["arch"], card["training_seed"]
        train = json.loads((ROOT / "results" / grid.name / "cells" / f"train__{arch}__seed{seed}.json").read_text())
        params = train["parameters"] == card["parameters"] == trainable_parameters(load_agent(folder).policy)
        print(f"  {folder.name}: card names {grid.name} {arch} seed {seed}; trainable parameters agree with the "
              f"train cell: {params} (the cell's best.pt is in the uncommitted work folder: no byte comparison)")
        problems += [] if params else [f"{folder.name}: parameter count differs from the train cell"]
        shard, record = eval_cell(grid, arch, seed, args.shard)
        for scenario, v in record["scenarios"].items():  # the card's shift table is the cell's
            if card["scenarios"].get(scenario) != {k: v["summary"][k] for k in ("successes", "episodes",
                                                                                "success_ci95")}:
                problems.append(f"{folder.name}: card's {scenario} differs from {record['cell']}")
        names = sorted(record["scenarios"], key=lambda s: (not s.endswith("@3"), list(record["scenarios"]).index(s)))
        for scenario in names[: args.scenarios_per_cell]:
            want = record["scenarios"][scenario]
            n = min(args.episodes or len(want["success"]), len(want["success"]))
            t0 = time.perf_counter()
            result = evaluate(str(folder), grid.task, [scenario], n, seed=grid.eval_seed, workers=args.workers,
                              out=tmp / "cells" / folder.name / scenario, progress=False, **grid.team)
            recs, where = result.records, f"{folder.name} {record['cell']} {scenario}"
            got = {"seeds": [r["seed"] for r in recs], "success": [int(r["success"]) for r in recs],
                   "crashed": [int(r["crashed"]) for r in recs]}
            if grid.num_drones is not None:
                got.update(agent_success=[[int(s) for s in r["agent_success"]] for r in recs],
                           collided=[int(r["collided"]) for r in recs])
            bad = [f"{where}: {k} differs at episodes {[i for i, a in enumerate(v) if a != want[k][i]]}: "
                   f"committed {want[k][:n]}, now {v}" for k, v in got.items() if want[k][:n] != v]
            worst, note = 0.0, "summary not compared (episodes capped)"
            if n == len(want["success"]):
                more, worst = compare_summary(want["summary"], result.summaries[scenario], where)
                bad, note = bad + more, f"summary largest float difference {worst:.3g}"
            print(f"  {where}: {n}/{len(want['success'])} episodes, {sum(got['success'])} successes, "
                  f"{sum(got['crashed'])} crashes, {'same' if not bad else 'DIFFERENT'}; {note} "
                  f"({time.perf_counter() - t0:.1f} s)")
            problems += bad
    return problems


def card_episode(folder: Path, tmp: Path) -> tuple[dict, dict]:
    """The first test episode of the agent's card, flown now, and the card's test counts."""
    from ltc_drones.agents import load_agent
    from ltc_drones.evaluation import evaluate

    card = json.loads((folder / "eval.json").read_text())
    test = card.get("test", {})
    start = test.get("seed_start") or re.search(r"seeds (\d+)\.\.", (folder / "README.md").read_text()).group(1)
    task = card.get("task") or load_agent(folder).env_spec["task"]
    team = {"num_drones": card["num_drones"]} if "num_drones" in card else {}
    agent = str(folder.relative_to(ROOT))  # the record names it: relative, so any checkout records the same
    result = evaluate(agent, task, ["nominal"], 1, seed=int(start), workers=1, out=tmp / "cards" / folder.name,
                      progress=False, **team)
    counts = (test.get("successes", card.get("successes")), test.get("episodes", card.get("test_episodes")))
    return result.records[0], {"successes": counts[0], "episodes": counts[1]}


def check_cards(args, tmp: Path) -> list[str]:
    problems, recorded = [], {}
    stored = json.loads(FIRST_EPISODES.read_text()) if FIRST_EPISODES.is_file() else None
    if stored is None and not args.record:
        return [f"{FIRST_EPISODES.relative_to(ROOT)} missing: make it with --record on known-good code"]
    for folder in sorted(p for p in (ROOT / "agents").iterdir() if (p / "eval.json").is_file()):
        t0 = time.perf_counter()
        rec, counts = card_episode(folder, tmp)
        recorded[folder.name] = rec
        bad = []
        if counts["successes"] in (0, counts["episodes"]) and bool(rec["success"]) != bool(counts["successes"]):
            bad.append(f"{folder.name}: success {rec['success']} but the card has {counts['successes']}/"
                       f"{counts['episodes']} test successes")
        if stored is not None and not args.record:
            if folder.name not in stored:
                bad.append(f"{folder.name}: not in {FIRST_EPISODES.name}")
            else:
                bad += compare_summary(stored[folder.name], rec, folder.name)[0]
        print(f"  {folder.name}: seed {rec['seed']} success {rec['success']} crashed {rec['crashed']} "
              f"steps {rec.get('steps')} -> {'ok' if not bad else 'DIFFERS'} ({time.perf_counter() - t0:.1f} s)")
        problems += bad
    if args.record:
        FIRST_EPISODES.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
        print(f"  recorded {len(recorded)} first episodes in {FIRST_EPISODES.relative_to(ROOT)}")
    elif stored is not None:
        gone = sorted(set(stored) - set(recorded))
        problems += [f"{name}: in {FIRST_EPISODES.name} but not shipped" for name in gone]
    return problems


def check_vector(args, tmp: Path) -> list[str]:
    test_file = ROOT / "tests" / "envs" / "test_vector_env.py"
    tests = "matches_the_pybullet_env or crash_rules_agree or match_the_pybullet_env"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file), "-k", tests],
                         cwd=ROOT, capture_output=True, text=True)
    print("  pytest: " + (run.stdout.strip().splitlines() or ["no output"])[-1])
    problems = [] if run.returncode == 0 else [f"pytest failed:\n{run.stdout[-3000:]}"]
    spec = importlib.util.spec_from_file_location("vector_parity", test_file)
    tv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tv)  # its pybullet_episode and replay: the same episodes as the tests
    cases = [(task, seed, "nominal", 700) for task, seed in
             (("hover", 0), ("fly-to-target", 1), ("follow-target", 2), ("hiking", 3))]
    cases += [("fly-to-target", 4, s, 30) for s in ("wind-gusts@5", "latency@3", "motor-weakness@5")]
    for task, seed, scenario, steps in cases:
        start, fields, pb = tv.pybullet_episode(task, seed, scenario=scenario, max_steps=steps)
        vec = tv.replay(task, start, fields, pb["actions"], scenario=scenario)
        err = float(np.abs(np.array(vec["pos"]) - np.array(pb["pos"])).max())
        print(f"  {task} seed {seed} {scenario}: {len(pb['pos'])} steps, largest position difference {err:.2g} m")
        if not err <= VECTOR_TOL_M:
            problems.append(f"{task} {scenario}: vector backend {err:.3g} m from PyBullet (> {VECTOR_TOL_M} m)")
    return problems


FLY_CELL = """
import json, sys, torch
torch.set_num_threads(1)
from ltc_drones.evaluation import evaluate
agent, task, scenario, episodes, seed, out = sys.argv[1:7]
records = evaluate(agent, task, [scenario], int(episodes), seed=int(seed), workers=1, progress=False).records
json.dump([{k: v for k, v in r.items() if k != "controller"} for r in records], open(out, "w"))
"""


def check_revision(args, tmp: Path) -> list[str]:
    """The rgb agents' cells flown by this checkout and by ``--against REV`` (a git worktree of it), here."""
    if not args.against:
        print("  skipped: give --against REV (e.g. the revision before a refactor)")
        return []
    from ltc_drones.benchmark import load_grid

    old = tmp / "against"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.against], check=True,
                   capture_output=True)
    problems = []
    try:
        for folder in sorted(p for p in (ROOT / "agents").iterdir() if (p / "eval.json").is_file()):
            card = json.loads((folder / "eval.json").read_text())
            if "grid" not in card or load_grid(ROOT / card["grid"]).obs != "rgb":
                continue
            grid = load_grid(ROOT / card["grid"])
            shard, record = eval_cell(grid, card["arch"], card["training_seed"], args.shard)
            scenario = sorted(record["scenarios"], key=lambda s: not s.endswith("@3"))[0]
            n = args.episodes or len(record["scenarios"][scenario]["success"])
            got = {}
            for label, code in (("now", ROOT), (args.against, old)):
                out = tmp / f"{folder.name}__{label}.json"
                env = {**os.environ, "PYTHONPATH": str(code)}
                subprocess.run([sys.executable, "-c", FLY_CELL, str(folder), grid.task, scenario, str(n),
                                str(grid.eval_seed), str(out)], check=True, cwd=code, env=env)
                got[label] = json.loads(out.read_text())
            bad, worst = [], 0.0
            for a, b in zip(got["now"], got[args.against], strict=True):
                for key, va in a.items():
                    vb = b.get(key)
                    if isinstance(va, float) and isinstance(vb, float):
                        worst = max(worst, abs(va - vb))
                    elif va != vb:
                        bad.append(f"episode {a['episode']} {key}: {vb!r} at {args.against}, {va!r} now")
            bad += [f"floats differ by {worst:.3g}"] if worst > TOL else []
            print(f"  {folder.name} {scenario}: {n} episodes, {'same' if not bad else 'DIFFERENT'} records "
                  f"(largest float difference {worst:.3g})")
            problems += [f"{folder.name} {scenario}: {b}" for b in bad]
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(CHECKS), help=f"comma-separated subset of {', '.join(CHECKS)}")
    parser.add_argument("--scenarios-per-cell", type=int, default=1, help="scenarios of each cell (@3 level first)")
    parser.add_argument("--episodes", type=int, default=0, help="episodes per scenario (default: all of the cell's)")
    parser.add_argument("--shard", default=None, help="shard of the cells (default: the one with most misses at @3)")
    parser.add_argument("--workers", type=int, default=1, help="the evaluator's worker processes (cells check)")
    parser.add_argument("--record", action="store_true", help=f"write {FIRST_EPISODES.relative_to(ROOT)} instead "
                                                              "of comparing with it (cards check)")
    parser.add_argument("--against", default=None, help="revision: the revision check flies the rgb agents' cells "
                                                         "with this revision's code too and compares the records")
    args = parser.parse_args()
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    if unknown := sorted(set(only) - set(CHECKS)):
        parser.error(f"--only: unknown check(s) {', '.join(unknown)}; valid: {', '.join(CHECKS)}")
    import torch

    import ltc_drones

    os.chdir(ROOT)
    torch.set_num_threads(1)
    print(f"package: {Path(ltc_drones.__file__).parent}")
    outcome = {}
    with tempfile.TemporaryDirectory(prefix="check_unchanged_") as tmp:
        for name in (c for c in CHECKS if c in only):
            print(f"== {name}", flush=True)
            t0 = time.perf_counter()
            problems = globals()[f"check_{name}"](args, Path(tmp))
            for p in problems:
                print(f"  FAIL {p}")
            outcome[name] = (not problems, time.perf_counter() - t0)
    print("\nsummary:")
    for name, (ok, wall) in outcome.items():
        print(f"  {name:9s} {'PASS' if ok else 'FAIL'}  ({wall:.0f} s)")
    return 0 if all(ok for ok, _ in outcome.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
