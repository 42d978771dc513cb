"""Model cards: the record of a shipped agent (``eval.json``) in prose and tables (``README.md``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..evaluation.metrics import wilson_interval
from ..tasks import task_spec

BUDGET_KEYS = ("demo_episodes", "iterations", "dagger_rounds", "dagger_episodes", "finetune_iterations",
               "takeover_lost_s", "seed")
"""The training configuration fields a run's card names."""


def score(k: int, n: int) -> str:
    """``"k/n [lo, hi]"``: successes with their 95 % Wilson interval."""
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} [{lo:.2f}, {hi:.2f}]"


def _team_row(name: str, s: dict[str, Any], multi: bool) -> str:
    cells = [score(s["successes"], s["episodes"])]
    if multi:
        lo, hi = s["agent_success_ci95"]
        cells += [f"{s['agent_success_rate']:.2f} [{lo:.2f}, {hi:.2f}]", f"{s['collision_rate']:.2f}"]
    return f"| {name} | " + " | ".join(cells) + " |"


def _how_trained(r: dict[str, Any]) -> str:
    c = r["config"]
    if c.get("algo") == "ppo":
        return f"Trained by PPO (run `{r['run']}`, the full configuration is in `eval.json`)."
    budget = ", ".join(f"{k}={c[k]}" for k in BUDGET_KEYS if k in c)
    return (f"Trained by the\nimitation pipeline (`{c.get('algo')}`: {budget}; run `{r['run']}`, the full "
            "configuration is in `eval.json`).")


def run_card(r: dict[str, Any], folder: str | os.PathLike) -> str:
    """The model card of a record written by :func:`ship_run`."""
    multi = r["num_drones"] is not None and task_spec(r["task"]).team
    c = r["config"]
    what = (f"one shared policy flying each of {r['num_drones']} drones of `{r['task']}` (each with its own "
            "recurrent state)" if multi else f"`{r['task']}`")
    head = "| scenario | team success | per-drone success | collision rate |\n|---|---:|---:|---:|" if multi else \
        "| scenario | success |\n|---|---:|"
    rows = [_team_row("nominal", r["test"], multi)] + [_team_row(s, v, multi) for s, v in r["scenarios"].items()]
    facts = "".join(f"| {k} | {v} |\n" for k, v in r.get("facts", {}).items())
    folder = Path(folder).as_posix()
    note = f"{r['note']}\n\n" if r.get("note") else "\n"
    return f"""# {r['agent']}

A `{r['arch']}` policy ({r['parameters']} trainable parameters; synapses masked by an NCP wiring not counted):
{what}, from `{r['obs']}` observations with `{c.get('act', 'vel')}` actions at 30 Hz. {_how_trained(r)}

Success with 95 % Wilson intervals; nominal: {r['test']['episodes']} test episodes (seeds {r['test']['seed_start']}..,
never used in training or model selection); shifted scenarios: the first of those seeds.

{head}
{chr(10).join(rows)}

| date, package version, machine | {r['date']}, {r['package_version']}, {r['machine']} |
|---|---|
{facts}
{note}Produced by `{r['train_command']}` (the run's `config.json`), then `{r['command']}`.
Load it with `ltc_drones.load_agent("{folder}")`; fly it with
`ltc-drones rollout --agent {folder} --episodes 1 --video out.mp4`.
"""


def benchmark_card(r: dict[str, Any], grid, folder: str | os.PathLike) -> str:
    """The model card of a record written by :func:`ship_benchmark_cell` (``grid``: its ``Grid``)."""
    t = r["test"]
    by_shift: dict[str, dict[int, dict[str, Any]]] = {}
    for scenario, v in r["scenarios"].items():
        shift, _, level = scenario.partition("@")
        by_shift.setdefault(shift, {})[int(level or 0)] = v
    levels = sorted({lv for d in by_shift.values() for lv in d if lv}) or [0]
    rows = []
    for shift, d in by_shift.items():
        cells = [score(d[lv]["successes"], d[lv]["episodes"]) if lv in d else "–" for lv in levels]
        if shift == "nominal":
            cells = [score(d[0]["successes"], d[0]["episodes"])] + [""] * (len(levels) - 1)
        rows.append(f"| {shift} | " + " | ".join(cells) + " |")
    train = ", ".join(f"{k}={v}" for k, v in r["train"].items()) or "the default training configuration"
    test = f"{t['episodes']} nominal test episodes (seeds {t['seed_start']}..)"
    camera = " (64×48 onboard camera)" if "rgb" in grid.obs else ""
    folder = Path(folder).as_posix()
    last_seed = grid.eval_seed + grid.episodes - 1
    note = f"{r['note']}\n\n" if r.get("note") else ""
    return f"""# {r['agent']}

A `{r['arch']}` policy ({r['parameters']} trainable parameters; synapses masked by an NCP wiring not counted)
that flies `{task_spec(grid.task).env_id}` from `{grid.obs}` observations{camera} with `{grid.act}`
actions at 30 Hz. It is the training-seed-{r['training_seed']} cell of the benchmark `{grid.name}`
(`{r['grid']}`): {r['demo_episodes']} expert demonstrations, then {train}.

| metric | value |
|---|---|
| closed-loop success, {test} | {score(t['successes'], t['episodes'])} (95 % Wilson) |
| date, package version, machine | {r['date']}, {r['package_version']}, {r['machine']} |

Success under each shift (benchmark evaluation cells: {grid.episodes} paired episodes per scenario, seeds \
{grid.eval_seed}..{last_seed};
95 % Wilson intervals; columns are severity levels):

| scenario | {' | '.join(f'level {lv}' for lv in levels)} |
|---|{'---:|' * len(levels)}
{chr(10).join(rows)}

{note}Produced by `ltc-drones benchmark --grid {r['grid']} --archs {r['arch']} --seeds {r['training_seed']}`, then
`{r['command']}`; the full record is `eval.json`. Load it with
`ltc_drones.load_agent("{folder}")`; fly it with
`ltc-drones rollout --agent {folder} --episodes 3 --video out.mp4`.
"""
