"""The ``ltc-drones`` command line. Thin: it parses arguments and calls the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def _set_threads() -> None:
    """One torch thread per process: on 2 cores more threads make small networks slower."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(int(os.environ.get("LTC_DRONES_THREADS", "1")))


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def cmd_demo(args: argparse.Namespace) -> int:
    """Fly the privileged expert (until a trained agent ships), write a video and a summary."""
    from tqdm import tqdm

    from .control import make_expert
    from .envs import make_env
    from .evaluation import run_episode, write_video

    env = make_env(args.task, obs="rgb", scenario=args.scenario, render_mode="rgb_array")
    expert = make_expert(env)
    records = []
    t0 = time.perf_counter()
    for k in tqdm(range(args.episodes), desc=f"demo {args.task}", unit="episode"):
        rec = run_episode(env, lambda _obs: expert.act(), seed=args.seed + k, reset=expert.reset, record=k == 0)
        if k == 0:
            video = write_video(Path(args.out) / f"{args.task}_expert.{'gif' if args.gif else 'mp4'}", rec.frames,
                                fps=env.unwrapped.clock.ctrl_hz)
        records.append(rec)
    env.close()
    wins = sum(r.success for r in records)
    summary = {"task": args.task, "scenario": args.scenario, "controller": "expert", "episodes": len(records),
               "successes": wins, "success_rate": wins / len(records), "seeds": [r.seed for r in records],
               "episodes_detail": [r.summary() for r in records], "video": str(video),
               "wall_time_s": round(time.perf_counter() - t0, 2)}
    _write_json_atomic(Path(args.out) / "summary.json", summary)
    print(f"expert on {args.task}/{args.scenario}: {wins}/{len(records)} successes; video {video}; "
          f"summary {Path(args.out) / 'summary.json'}")
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

    parser = argparse.ArgumentParser(prog="ltc-drones", description="Closed-loop drone control with liquid networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fly an agent, write a video and an evaluation summary")
    demo.add_argument("--task", default="fly-to-target", choices=list(ENV_IDS))
    demo.add_argument("--scenario", default="nominal")
    demo.add_argument("--episodes", type=int, default=5)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="videos/demo")
    demo.add_argument("--gif", action="store_true", help="write a gif instead of an mp4")
    demo.set_defaults(func=cmd_demo)
    envs = sub.add_parser("envs", help="list tasks, env ids and scenarios")
    envs.set_defaults(func=cmd_envs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _set_threads()
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"ltc-drones {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
