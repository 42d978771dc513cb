"""The ``ltc-drones`` command line. Thin: it parses options, checks them, and calls the library.

Each subcommand is a module of this package holding an options dataclass and ``run(options) -> int``;
the options are generated from the dataclass by tyro (as CleanRL does): every field is an option
``--field-name``, its attribute docstring is the help text, its default is shown. Exit codes and error
reporting are described in :mod:`ltc_drones.cli.command`.

Adding a subcommand, e.g. ``evaluate`` (see ``evaluate.py``), takes a module and one line:

1. ``ltc_drones/cli/evaluate.py`` holds an options dataclass whose fields each have an attribute docstring
   (its help text; the class docstring is the command's description), a ``run(options) -> int`` and
   ``COMMAND = Command(EvaluateOptions, run)``. A library config dataclass can serve as the options
   itself (``Command(EvalConfig, run)``), or be wrapped to add options beside it: a field
   ``cfg: Annotated[EvalConfig, tyro.conf.arg(name="")]`` keeps its fields' names (see ``train.py``).
   ``Command(..., config="")`` (or ``config="cfg"`` for the wrapped field) adds ``--config FILE``.
2. ``run`` checks everything first, and only then works: outputs (``checks.writable_folder``,
   ``checks.video_path``), numbers (``checks.at_least``), inputs (``checks.existing``), and the library's
   own validation inside ``with usage_checks():`` (errors there exit with code 2). Errors the library raises
   during the work exit with code 1.
3. Add ``"evaluate": "one-line summary"`` to :data:`COMMANDS`; ``tests/cli/test_cli_help.py`` then checks
   that every option of it has help text and shows its default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, str] = {
    # name (= module ltc_drones.cli.<name>): one-line summary for `ltc-drones --help`
    "demo": "fly the shipped vision agent nominally and under a shift; success summary, video, summary.json",
    "rollout": "fly an agent (or the expert) for a few episodes; per-episode outcomes and a video",
    "collect": "collect expert demonstrations in parallel worker processes (resumable)",
    "train": "train an agent by behaviour cloning and DAgger (every TrainConfig field is an option)",
    "evaluate": "success rates with 95 % intervals over many seeded episodes per scenario (parallel, resumable)",
    "ship": "an agent folder (agent.pt, eval.json, model card with test scores) from a training run",
    "benchmark": "architectures x training seeds x shifted scenarios from a grid file, on processes or Ray",
    "envs": "list the tasks, env ids, scenarios and shipped agents",
    "diagnose": "saliency, attention on the target, sanity checks and stability of an agent in closed loop; a report",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: ``--version``, ``--help`` and the subcommand name; the rest goes to the subcommand."""
    from ..version import __version__

    width = max(map(len, COMMANDS))
    listing = "\n".join(f"  {name:{width}s}  {summary}" for name, summary in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="ltc-drones", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Closed-loop quadrotor control with liquid neural networks (LTC, CfC, NCP) in PyBullet.",
        epilog=f"commands:\n{listing}\n\nRun `ltc-drones <command> --help` for a command's options and their "
               "defaults.\nExit codes: 0 success, 1 the work failed, 2 usage error, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("command", choices=list(COMMANDS), metavar="<command>", help="one of: " + ", ".join(COMMANDS))
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ltc-drones`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    try:
        top = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version (0) or a bad command (2)
        return exc.code if isinstance(exc.code, int) else 0
    from .command import run_command

    module = importlib.import_module(f"{__name__}.{top.command}")
    return run_command(top.command, module.COMMAND, top.args)


if __name__ == "__main__":
    sys.exit(main())
