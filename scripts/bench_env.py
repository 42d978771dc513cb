"""Env steps per second against the raw PyBullet ceiling (single drone, 240/30 Hz, resets included),
and of the multi-agent envs with N drones beside the single-drone env of the same kind.

Usage: python scripts/bench_env.py [--steps 6000] [--task fly-to-target] [--repeats 3]
           [--vector-drones 1 64 1024] [--vector-seconds 2.0]
           [--drones 2 4 8] [--multi-task multi-follow] [--multi-steps 1200]
           [--baseline-rev REV] [--out results/bench_env.txt]

Prints, for ``kin``/``rpm``, ``kin``/``vel`` and ``rgb``/``vel`` at 64×48, the median env steps/s over
``--repeats`` runs of ``--steps`` random actions (episodes reset as they end), beside the same loop
of raw PyBullet stepping (4 rotor forces + a yaw torque + state reads per physics step), and the
ratio of each to that ceiling.

Then the vectorised explicit backend: ``make_env(task, backend="vector", num_envs=N)``
with each of ``--vector-drones``, stepped for about ``--vector-seconds`` with pre-drawn random actions,
episodes autoresetting as they end; printed as drone-steps/s (N × vector steps/s), with the ratio to the
PyBullet env's ``kin``/``vel`` row of the same run and the verdict against the speed goal and aim at 1,024 drones.

Then the multi-agent rows: ``--multi-task`` (PettingZoo, ``kin``/``vel``) with each of ``--drones``,
every drone flown by the :class:`~ltc_drones.control.team_expert.TeamExpert`, so all N fly the whole
episode (random or zero actions would crash or lose drones early and time a smaller team); and
the single-drone task of the same kind (``follow-target`` for ``multi-follow``) flown by its
privileged expert, measured the same way in the same run. One env step moves every drone by one
control period. Only ``env.step`` and ``env.reset`` are timed (resets included, the experts' own
time excluded), median over ``--repeats`` runs of ``--multi-steps`` env steps; ``vs 1 drone`` is
the ratio of env steps/s to that single-drone row, ``drone-steps/s`` is N × env steps/s.

With ``--baseline-rev REV`` (e.g. ``e2b9091``), the expert-flown rows are also timed for that revision of
the package: ``git worktree add`` of REV in a temporary folder, and each measurement of those rows, of
this tree and of REV alike, runs the same loop (this script's) in a fresh subprocess whose ``PYTHONPATH``
is the tree being timed; the table beside them gives REV's figure and the ratio. The worktree is removed
at the end.

The repeats run round-robin over all rows (each row once per round), so a burst of other work hits
every row alike. Single thread, one process. The first and last lines give the 1-minute load average: other work
on the machine lowers every row, so compare rows of one run, not figures of different runs.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one thread, before numpy loads

import argparse  # noqa: E402 - after pinning the thread counts
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pybullet as pb  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
if os.environ.get("BENCH_ENV_TREE"):  # a worker timing another tree: import that tree's package
    sys.path.insert(0, os.environ["BENCH_ENV_TREE"])
else:  # time the package next to this script, not whichever one is installed
    sys.path.insert(0, str(REPO))

from ltc_drones.atomic import write_atomic  # noqa: E402
from ltc_drones.sim import QuadrotorParams  # noqa: E402

try:  # the task registry
    from ltc_drones.control.team_expert import TeamExpert
    from ltc_drones.tasks import TEAM_TASKS, make_env, make_expert, task_spec
except ImportError:  # a worker timing an older tree (--baseline-rev) from before the task registry: its own names
    from ltc_drones.control.team import TeamExpert

    from ltc_drones.control import make_expert
    from ltc_drones.envs import make_env as _make_single_env
    from ltc_drones.envs.multi import make_multi_env

    TEAM_TASKS, task_spec = ("multi-follow", "multi-fly-to-target"), None

    def make_env(task, num_drones=None, **kwargs):
        return _make_single_env(task, **kwargs) if num_drones is None else make_multi_env(task, num_drones=num_drones,
                                                                                          **kwargs)

VECTOR_GOAL_DRONE_STEPS = 100_000
VECTOR_AIM_DRONE_STEPS = 300_000
"""Speed goal and aim of the vectorised backend at 1,024 drones, kin/vel, one core (drone-steps/s)."""


def bench_env(task: str, obs: str, act: str, steps: int, seed: int = 0) -> float:
    env = make_env(task, obs=obs, act=act)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    t0 = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate


def bench_vector(task: str, num_envs: int, seconds: float, seed: int = 0) -> float:
    """Drone-steps/s of the vector backend with ``num_envs`` drones (``kin``/``vel``, random actions, autoresets)."""
    env = make_env(task, backend="vector", num_envs=num_envs, obs="kin", act="vel", seed=seed)
    env.reset()
    block = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(16, num_envs, 4)).astype(np.float32)
    steps, t0 = 0, time.perf_counter()
    while True:
        for a in block:
            env.step(a)
        steps += len(block)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    env.close()
    return steps * num_envs / elapsed


def vector_lines(task: str, drones: list[int], rate: dict[str, float], pybullet_row: str) -> list[str]:
    """The vector-backend section: drone-steps/s of each row beside the PyBullet ``kin``/``vel`` row."""
    ref = rate[pybullet_row]
    lines = ["", f"vectorised explicit backend (make_env, vector backend), {task} kin/vel, random actions, "
             "autoresets included",
             f"{'loop':48s} {'drone-steps/s':>14s} {'ms/step':>8s} {'vs PyBullet kin/vel':>20s}"]
    for n in drones:
        r = rate[f"vector N={n}"]
        lines.append(f"{f'{task} vector N={n}':48s} {r:14,.0f} {1e3 * n / r:8.3f} {r / ref:20.1f}")
    if 1024 in drones:
        r = rate["vector N=1024"]
        verdict = ("meets the aim" if r >= VECTOR_AIM_DRONE_STEPS else
                   "meets the goal" if r >= VECTOR_GOAL_DRONE_STEPS else "BELOW the goal")
        lines.append(f"1,024 drones: {r:,.0f} drone-steps/s, {verdict} (goal {VECTOR_GOAL_DRONE_STEPS:,}, "
                     f"aim {VECTOR_AIM_DRONE_STEPS:,})")
    return lines


def bench_expert_single(task: str, steps: int, seed: int = 0) -> float:
    """Env steps/s of one drone (``kin``/``vel``) flown by its expert; only ``step`` and ``reset`` are timed."""
    env = make_env(task, obs="kin", act="vel")
    expert = make_expert(env)
    env.reset(seed=seed)
    expert.reset()
    busy = 0.0
    for _ in range(steps):
        action = expert.act()
        t0 = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
        busy += time.perf_counter() - t0
        if terminated or truncated:
            expert.reset()
    env.close()
    return steps / busy


def bench_multi(task: str, num_drones: int, steps: int, seed: int = 0) -> float:
    """Env steps/s of a multi-agent env (``kin``/``vel``) flown by the TeamExpert; only ``step`` and ``reset`` timed."""
    env = make_env(task, num_drones=num_drones, obs="kin", act="vel")
    team = TeamExpert(env)
    env.reset(seed=seed)
    team.reset(num_drones)
    busy = 0.0
    for _ in range(steps):
        acts = team.act()
        actions = {name: acts[i] for i, name in enumerate(env.possible_agents) if name in env.agents}
        t0 = time.perf_counter()
        env.step(actions)
        over = not env.agents
        if over:
            env.reset()
        busy += time.perf_counter() - t0
        if over:
            team.reset(num_drones)
    env.close()
    return steps / busy


def load_note(own_load: float) -> str:
    """The 1-minute load average and whether other processes were running (``own_load``: this benchmark's share)."""
    load = os.getloadavg()[0]
    busy = "BUSY: other processes shared the cores" if load - own_load >= 0.5 else "quiet"
    return f"1-min load average {load:.2f}, {busy}"


def machine() -> str:
    """CPU model and core count, e.g. ``2-core AMD EPYC 7B13 (x86_64)``."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        lines = cpuinfo.read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        model = names[0] if names else model
    return f"{os.cpu_count()}-core {model} ({platform.machine()})"


def bench_raw_pybullet(steps: int, episode_steps: int = 30, seed: int = 0) -> float:
    """The ceiling: one drone body, four rotor forces and a yaw torque per physics step."""
    params = QuadrotorParams()
    rng = np.random.default_rng(seed)
    cid = pb.connect(pb.DIRECT)
    pb.setGravity(0, 0, -params.gravity_mps2, physicsClientId=cid)
    pb.setTimeStep(1 / 240, physicsClientId=cid)
    pb.createMultiBody(0, pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=cid), physicsClientId=cid)
    col = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=0.06, height=0.025, physicsClientId=cid)
    body = pb.createMultiBody(params.mass_kg, col, -1, [0, 0, 1], physicsClientId=cid)
    pb.changeDynamics(body, -1, linearDamping=0, angularDamping=0, physicsClientId=cid)
    rotors = [tuple(r) for r in params.rotor_pos_body_m]
    rpms = rng.uniform(0.0, params.max_rpm, size=(steps, 4))
    t0 = time.perf_counter()
    for k in range(steps):
        if k % episode_steps == 0:
            pb.resetBasePositionAndOrientation(body, [0, 0, 1], [0, 0, 0, 1], physicsClientId=cid)
            pb.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0], physicsClientId=cid)
        f = params.kf * rpms[k] ** 2
        tz = float(params.km * (rpms[k] ** 2) @ params.rotor_dirs)
        for _ in range(8):
            for i in range(4):
                pb.applyExternalForce(body, -1, (0, 0, f[i]), rotors[i], pb.LINK_FRAME, physicsClientId=cid)
            pb.applyExternalTorque(body, -1, (0, 0, tz), pb.LINK_FRAME, physicsClientId=cid)
            pb.stepSimulation(physicsClientId=cid)
            pb.getBasePositionAndOrientation(body, physicsClientId=cid)
            pb.getBaseVelocity(body, physicsClientId=cid)
    rate = steps / (time.perf_counter() - t0)
    pb.disconnect(cid)
    return rate


def expert_row(kind: str, task: str, num_drones: int, steps: int) -> float:
    """One measurement of an expert-flown row: ``kind`` is ``single`` (one drone) or ``multi`` (``num_drones``)."""
    return bench_expert_single(task, steps) if kind == "single" else bench_multi(task, num_drones, steps)


def expert_row_in(tree: Path, kind: str, task: str, num_drones: int, steps: int) -> float:
    """:func:`expert_row` in a fresh subprocess that imports the package of ``tree``."""
    env = {**os.environ, "BENCH_ENV_TREE": str(tree), "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, __file__, "--worker", kind, task, str(num_drones), str(steps)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


class Baseline:
    """A detached ``git worktree`` of revision ``rev`` in a temporary folder, removed on exit."""

    def __init__(self, rev: str) -> None:
        self.rev = rev
        self.commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], check=True,
                                     capture_output=True, text=True).stdout.strip()
        self.path = Path(tempfile.mkdtemp(prefix="bench_env_")) / "tree"

    def __enter__(self) -> Baseline:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(self.path), self.rev],
                       check=True)
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(self.path)], check=False)
        self.path.parent.rmdir()


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":  # one row's measurement, for --baseline-rev
        _, _, kind, task, n, steps = sys.argv
        print(expert_row(kind, task, int(n), int(steps)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--task", default="fly-to-target")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vector-drones", type=int, nargs="*", default=[1, 64, 1024],
                        help="drone counts of the vector-backend rows (none: skip them)")
    parser.add_argument("--vector-seconds", type=float, default=2.0, help="length of each vector measurement (s)")
    parser.add_argument("--drones", type=int, nargs="*", default=[2, 4, 8],
                        help="team sizes of the multi-agent rows (none: skip them)")
    parser.add_argument("--multi-task", default="multi-follow", choices=sorted(TEAM_TASKS))
    parser.add_argument("--multi-steps", type=int, default=1200, help="env steps per run of each multi-agent row")
    parser.add_argument("--baseline-rev", default=None,
                        help="also time the expert-flown rows for this git revision, side by side (subprocesses)")
    parser.add_argument("--out", default=None, help="also write the output to this file (atomically)")
    args = parser.parse_args()
    if args.baseline_rev and not args.drones:
        parser.error("--baseline-rev times the expert-flown rows: give --drones")
    with Baseline(args.baseline_rev) if args.baseline_rev else _no_baseline() as baseline:
        text = run(args, baseline)
    print(text, end="")
    if args.out:
        write_atomic(args.out, lambda tmp: Path(tmp).write_text(text))


class _no_baseline:  # noqa: N801 - a null context manager standing in for Baseline
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None


def run(args: argparse.Namespace, baseline: Baseline | None) -> str:
    """Every row's measurements, round-robin; the report's text."""
    lines = [f"# python {' '.join(sys.argv)}   ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, one process)",
             f"# at start: {load_note(0.0)}"]
    single_task = task_spec(args.multi_task).single_agent_task
    loops = {"raw PyBullet, 4 rotor forces (ceiling)": lambda: bench_raw_pybullet(args.steps)}
    for obs, act in (("kin", "rpm"), ("kin", "vel"), ("rgb", "vel")):
        steps = args.steps if obs == "kin" else max(args.steps // 4, 500)
        name = f"{args.task} obs={obs} act={act}" + (" 64x48" if obs == "rgb" else "")
        loops[name] = lambda obs=obs, act=act, steps=steps: bench_env(args.task, obs, act, steps)
    for n in args.vector_drones:
        loops[f"vector N={n}"] = lambda n=n: bench_vector(args.task, n, args.vector_seconds)
    expert_rows = []
    if args.drones:
        expert_rows = [(f"{single_task} 1 drone", "single", single_task, 1)]
        expert_rows += [(f"{args.multi_task} N={n}", "multi", args.multi_task, n) for n in args.drones]
    for name, kind, task, n in expert_rows:
        if baseline is None:
            loops[name] = lambda kind=kind, task=task, n=n: expert_row(kind, task, n, args.multi_steps)
        else:
            loops[name] = lambda kind=kind, task=task, n=n: expert_row_in(REPO, kind, task, n, args.multi_steps)
            loops[f"{name} @ {baseline.commit}"] = lambda kind=kind, task=task, n=n: expert_row_in(
                baseline.path, kind, task, n, args.multi_steps)
    runs: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.repeats):  # round-robin, so a burst of other work on the machine hits every row alike
        for name, loop in loops.items():
            runs[name].append(loop())
    rate = {name: statistics.median(r) for name, r in runs.items()}
    names = list(loops)
    raw = rate[names[0]]
    lines.append(f"{'loop':48s} {'steps/s':>10s} {'vs ceiling':>10s}")
    lines += [f"{name:48s} {rate[name]:10.0f} {rate[name] / raw:10.2f}" for name in names[:4]]
    if args.vector_drones:
        lines += vector_lines(args.task, args.vector_drones, rate, names[2])
    if expert_rows:
        single = rate[expert_rows[0][0]]
        lines += ["", "flown by the privileged experts (TeamExpert for N drones), kin/vel; env.step + env.reset timed",
                  f"{'loop':48s} {'steps/s':>10s} {'vs ceiling':>10s} {'vs 1 drone':>10s} {'drone-steps/s':>14s}"]
        lines += [f"{name:48s} {rate[name]:10.0f} {rate[name] / raw:10.2f} {rate[name] / single:10.2f} "
                  f"{n * rate[name]:14.0f}" for name, _, _, n in expert_rows]
    if baseline is not None:
        old_single = rate[f"{expert_rows[0][0]} @ {baseline.commit}"]
        lines += ["", f"beside revision {baseline.rev} ({baseline.commit}): the same rows, each measurement in a fresh "
                      "subprocess importing that tree's package",
                  f"{'loop':48s} {'this tree':>10s} {baseline.commit:>10s} {'ratio':>8s} {'vs 1 drone':>10s}"]
        for name, *_ in expert_rows:
            old = rate[f"{name} @ {baseline.commit}"]
            lines.append(f"{name:48s} {rate[name]:10.0f} {old:10.0f} {rate[name] / old:8.2f} {old / old_single:10.2f}")
        lines.append(f"('vs 1 drone' here is {baseline.commit}'s own ratio.) Each run, in round-robin order:")
        lines += [f"  {name}: {', '.join(f'{r:.0f}' for r in runs[name])}" for name in names[4:]
                  if not name.startswith("vector N=")]
    lines.append(f"# at end: {load_note(1.0)} (this process counts as 1)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
