"""The ``ltc-drones`` command line. Thin: it parses arguments and calls the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .atomic import write_json_atomic


def _set_threads() -> None:
    """One torch thread per process: on 2 cores more threads make small networks slower."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(int(os.environ.get("LTC_DRONES_THREADS", "1")))


DEFAULT_AGENT = Path(__file__).resolve().parents[1] / "agents" / "fly-to-target__ltc-ncp__kin" / "agent.pt"


def _fly(args: argparse.Namespace, agent_path: str | None, task: str | None, video_name: str) -> dict:
    """Fly an agent (or the expert when ``agent_path`` is None); first episode recorded; returns a summary."""
    from tqdm import tqdm

    from .control import make_expert
    from .envs import make_env
    from .evaluation import record_episode, run_episode, write_video
    from .training import load_agent

    agent = load_agent(agent_path) if agent_path else None
    spec = agent.env_spec if agent else {}
    task = task or spec.get("task", "fly-to-target")
    if agent and task != spec["task"]:
        raise ValueError(f"agent {agent_path} was trained on {spec['task']!r}, not {task!r}")
    env = make_env(task, obs=spec.get("obs", "rgb"), act=spec.get("act", "vel"), scenario=args.scenario,
                   render_mode="rgb_array")
    if agent:
        agent.check_env(env)
        act, reset, who = agent.act, agent.reset, f"agent {agent_path}"
    else:
        expert = make_expert(env)
        act, reset, who = (lambda _obs: expert.act()), expert.reset, "expert"
    records, video = [], None
    t0 = time.perf_counter()
    for k in tqdm(range(args.episodes), desc=f"{task}/{args.scenario}", unit="episode"):
        recording = k == 0 and video_name is not None
        rec = (record_episode if recording else run_episode)(env, act, args.seed + k, reset)
        if rec.frames:
            video = write_video(video_name, rec.frames, fps=env.unwrapped.clock.ctrl_hz)
        records.append(rec)
        outcome = "success" if rec.success else ("crash" if rec.crashed else "failure")
        tqdm.write(f"episode {k} seed {rec.seed}: {outcome} ({rec.steps} steps, final distance "
                   f"{rec.final_distance_m:.2f} m)")
    env.close()
    wins = sum(r.success for r in records)
    return {"task": task, "scenario": args.scenario, "controller": who, "episodes": len(records), "successes": wins,
            "success_rate": wins / len(records), "seeds": [r.seed for r in records],
            "episodes_detail": [r.summary() for r in records], "video": str(video) if video else None,
            "wall_time_s": round(time.perf_counter() - t0, 2)}


def cmd_demo(args: argparse.Namespace) -> int:
    """Fly the shipped agent (or the expert with --expert), write a video and an evaluation summary."""
    agent = None if args.expert else str(args.agent)
    if agent is not None and not Path(agent).is_file():
        if Path(agent) != DEFAULT_AGENT:
            raise FileNotFoundError(f"no agent at {agent}")
        print(f"no shipped agent at {agent}; flying the privileged expert instead", file=sys.stderr)
        agent = None
    out = Path(args.out)
    name = "expert" if agent is None else Path(agent).parent.name
    summary = _fly(args, agent, None, str(out / f"{name}.{'gif' if args.gif else 'mp4'}"))
    write_json_atomic(out / "summary.json", summary)
    print(f"{summary['controller']} on {summary['task']}/{summary['scenario']}: {summary['successes']}/"
          f"{summary['episodes']} successes; video {summary['video']}; summary {out / 'summary.json'}")
    return 0


def cmd_rollout(args: argparse.Namespace) -> int:
    """Fly an agent for a few episodes, print per-episode success, optionally write a video."""
    video = args.video
    if video and args.gif and video.endswith(".mp4"):
        video = video[:-4] + ".gif"
    summary = _fly(args, args.agent, args.task, video)
    print(f"{summary['successes']}/{summary['episodes']} successes" + (f"; video {summary['video']}" if video else ""))
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    """Collect expert demonstrations (resumable)."""
    from .training import CollectSpec, collect_demonstrations

    spec = CollectSpec(args.task, args.obs, args.act, args.scenario, base_seed=args.seed)
    r = collect_demonstrations(spec, args.episodes, args.out, workers=args.workers)
    print(f"{r.folder}: {r.new_episodes} new episodes ({r.successes_new} expert successes, {r.steps_new} steps) "
          f"in {r.wall_time_s:.1f} s; {r.total_episodes} episodes in the folder")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train an agent by behaviour cloning (+ DAgger); --resume continues a stopped run."""
    from .training import TrainConfig, resume_run, start_run

    if args.resume:
        summary = resume_run(args.resume)
    else:
        core_config = json.loads(args.core_config) if args.core_config else {}
        cfg = TrainConfig(task=args.task, obs=args.obs, act=args.act, scenario=args.scenario, arch=args.arch,
                          algo=args.algo, seed=args.seed, data=tuple(args.data or ()), iterations=args.iterations,
                          dagger_rounds=args.dagger_rounds, workers=args.workers, core_config=core_config,
                          demo_episodes=args.demo_episodes, out=args.out)
        summary = start_run(cfg)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_envs(args: argparse.Namespace) -> int:
    """List the registered envs and scenarios."""
    from .envs import ENV_IDS, available_scenarios

    for task, env_id in ENV_IDS.items():
        print(f"{task:15s} {env_id}")
    print("scenarios:", ", ".join(available_scenarios()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .envs.registration import ENV_IDS

    tasks = list(ENV_IDS)
    parser = argparse.ArgumentParser(prog="ltc-drones", description="Closed-loop drone control with liquid networks.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="fly the shipped agent, write a video and an evaluation summary")
    demo.add_argument("--agent", default=str(DEFAULT_AGENT), help="agent checkpoint (default: the shipped one)")
    demo.add_argument("--expert", action="store_true", help="fly the privileged expert instead of an agent")
    demo.add_argument("--scenario", default="nominal")
    demo.add_argument("--episodes", type=int, default=5)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="videos/demo")
    demo.add_argument("--gif", action="store_true", help="write a gif instead of an mp4")
    demo.set_defaults(func=cmd_demo)

    roll = sub.add_parser("rollout", help="fly an agent and write a video (chase view beside onboard view)")
    roll.add_argument("--agent", required=True)
    roll.add_argument("--task", choices=tasks, default=None, help="default: the agent's task")
    roll.add_argument("--scenario", default="nominal")
    roll.add_argument("--episodes", type=int, default=3)
    roll.add_argument("--seed", type=int, default=0)
    roll.add_argument("--video", default=None, help="output .mp4 (or .gif) of the first episode")
    roll.add_argument("--gif", action="store_true")
    roll.set_defaults(func=cmd_rollout)

    col = sub.add_parser("collect", help="collect expert demonstrations in parallel workers (resumable)")
    col.add_argument("--task", choices=tasks, required=True)
    col.add_argument("--obs", default="rgb", choices=["kin", "rgb", "rgb_kin"])
    col.add_argument("--act", default="vel", choices=["vel", "ctbr", "rpm"])
    col.add_argument("--scenario", default="nominal")
    col.add_argument("--episodes", type=int, default=200)
    col.add_argument("--workers", type=int, default=2)
    col.add_argument("--seed", type=int, default=0)
    col.add_argument("--out", required=True)
    col.set_defaults(func=cmd_collect)

    tr = sub.add_parser("train", help="train an agent by behaviour cloning or DAgger")
    tr.add_argument("--task", choices=tasks, default="fly-to-target")
    tr.add_argument("--obs", default="rgb", choices=["kin", "rgb", "rgb_kin"])
    tr.add_argument("--act", default="vel", choices=["vel", "ctbr", "rpm"])
    tr.add_argument("--scenario", default="nominal")
    tr.add_argument("--arch", default="ltc-ncp", help="core name (ltc, ltc-ncp, cfc, cfc-ncp, ctrnn, lstm, gru, ...)")
    tr.add_argument("--algo", default="bc", help="bc or dagger")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--data", nargs="*", help="demonstration folders (default: collected on demand)")
    tr.add_argument("--demo-episodes", type=int, default=100)
    tr.add_argument("--iterations", type=int, default=1500)
    tr.add_argument("--dagger-rounds", type=int, default=4)
    tr.add_argument("--core-config", default=None, help='JSON, e.g. \'{"units": 19}\'')
    tr.add_argument("--workers", type=int, default=2)
    tr.add_argument("--out", default="runs")
    tr.add_argument("--resume", default=None, help="continue the run in this folder")
    tr.set_defaults(func=cmd_train)

    envs = sub.add_parser("envs", help="list tasks, env ids and scenarios")
    envs.set_defaults(func=cmd_envs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _set_threads()
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as exc:
        print(f"ltc-drones {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
