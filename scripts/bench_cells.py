"""Benchmark every core against ncps (eager and torch.compile) and torch's LSTM, on one CPU thread.

Measures, for batch 32 x 64 steps x 16 inputs (4 outputs): forward time and forward+backward time;
and the batch-1 single-step latency (no autograd) of one closed-loop step. Reports medians.

Usage:
    python scripts/bench_cells.py --out results/bench_cells.md
    python scripts/bench_cells.py --no-compile --repeats 3      # quicker, skips torch.compile
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ltc_drones.models import make_core

BATCH, STEPS, INPUTS, OUTPUTS = 32, 64, 16, 4
DT_S = 1.0 / 30.0  # our cores: 30 Hz control step; ncps is run with its default elapsed time
STEP_BLOCK = 200  # single steps timed per sample


@dataclass
class Row:
    name: str
    params: int
    fwd_ms: float
    fwdbwd_ms: float
    step_us: float


MIN_SAMPLE_S = 0.3  # fast calls get more repeats (up to MAX_REPEATS) so their median is stable
MAX_REPEATS = 40


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over at least ``repeats`` calls (more for fast calls)."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    samples = [first]
    repeats = max(repeats, min(MAX_REPEATS, int(MIN_SAMPLE_S / max(first, 1e-9))))
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def step_latency(step: Callable[[], object], repeats: int) -> float:
    """Median per-call time of ``step()`` in seconds, timed in blocks of ``STEP_BLOCK`` calls."""

    def block() -> None:
        for _ in range(STEP_BLOCK):
            step()

    with torch.no_grad():
        return median_time(block, repeats, warmup=2) / STEP_BLOCK


def measure(name: str, module: nn.Module, seq: Callable[[torch.Tensor], torch.Tensor],
            step: Callable[[torch.Tensor], object], repeats: int) -> Row:
    """Time ``seq(x) -> y`` (forward, forward+backward) and ``step(x1)`` for one model."""
    x = torch.randn(BATCH, STEPS, INPUTS)
    x1 = torch.randn(1, INPUTS)

    def fwd() -> None:
        with torch.no_grad():
            seq(x)

    def fwdbwd() -> None:
        module.zero_grad(set_to_none=True)
        seq(x).square().mean().backward()

    params = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return Row(name, params, 1e3 * median_time(fwd, repeats), 1e3 * median_time(fwdbwd, repeats),
               1e6 * step_latency(lambda: step(x1), repeats))


def our_rows(repeats: int) -> list[Row]:
    specs = [
        ("ltc-ncp (AutoNCP 19, 6 unfolds)", "ltc-ncp", {"units": 19}),
        ("ltc-ncp, pure-torch fused backend", "ltc-ncp", {"units": 19, "backend": "fused"}),
        ("ltc (fully connected 32)", "ltc", {"units": 32}),
        ("cfc (32 units, backbone 128)", "cfc", {"units": 32}),
        ("cfc-ncp (AutoNCP 19)", "cfc-ncp", {"units": 19}),
        ("ctrnn (32)", "ctrnn", {"units": 32}),
        ("lstm (32)", "lstm", {"units": 32}),
        ("gru (32)", "gru", {"units": 32}),
        ("mlp (64, 64)", "mlp", {}),
        ("ode-rnn (32, RK4)", "ode-rnn", {"units": 32}),
    ]
    rows = []
    for label, name, cfg in specs:
        torch.manual_seed(0)
        core = make_core(name, INPUTS, OUTPUTS, **cfg)
        h1 = core.initial_state(1)
        rows.append(measure(f"ours: {label}", core, lambda x, c=core: c(x, None, DT_S)[0],
                            lambda x1, c=core, h=h1: c.step(x1, h, DT_S), repeats))
        if name == "ltc-ncp" and "backend" not in cfg:
            rows[-1].name += f" [{core.backend(h1)}]"
    return rows


def ncps_rows(repeats: int, compile_: bool) -> list[Row]:
    try:
        from ncps.torch import LTC as NcpsLTC
        from ncps.torch import CfC as NcpsCfC
        from ncps.wirings import AutoNCP as NcpsAutoNCP
    except ImportError:
        print("ncps not installed: skipping the ncps rows (pip install ncps==1.0.1)", file=sys.stderr)
        return []
    rows = []
    models = [
        ("ncps: LTC AutoNCP 19 (6 unfolds)", NcpsLTC(INPUTS, NcpsAutoNCP(19, OUTPUTS))),
        ("ncps: CfC 32, backbone 128, proj 4", NcpsCfC(INPUTS, 32, proj_size=OUTPUTS)),
        ("ncps: wired CfC AutoNCP 19", NcpsCfC(INPUTS, NcpsAutoNCP(19, OUTPUTS))),
    ]
    for label, model in models:
        torch.manual_seed(0)
        h1 = torch.zeros(1, model.state_size)
        cell = model.rnn_cell
        rows.append(measure(f"{label} [eager]", model, lambda x, m=model: m(x)[0],
                            lambda x1, c=cell, h=h1: c(x1, h, 1.0), repeats))
        if compile_ and label.startswith("ncps: LTC"):
            compiled = torch.compile(cell)  # compile the cell; the time loop stays in Python

            def seq(x: torch.Tensor, c=compiled, n=model.state_size) -> torch.Tensor:
                h = torch.zeros(x.shape[0], n)
                ys = []
                for t in range(x.shape[1]):
                    y, h = c(x[:, t], h, 1.0)
                    ys.append(y)
                return torch.stack(ys, 1)

            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row = measure(f"{label} [torch.compile]", model, seq, lambda x1, c=compiled, h=h1: c(x1, h, 1.0),
                              repeats)
            print(f"torch.compile rows incl. compilation: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            rows.append(row)
    torch.manual_seed(0)
    lstm = nn.LSTM(INPUTS, 32, batch_first=True)
    state = (torch.zeros(1, 1, 32), torch.zeros(1, 1, 32))
    rows.append(measure("torch: nn.LSTM 32 (no readout)", lstm, lambda x: lstm(x)[0],
                        lambda x1: lstm(x1.unsqueeze(1), state), repeats))
    return rows


def find(rows: list[Row], prefix: str) -> Row | None:
    return next((r for r in rows if r.name.startswith(prefix)), None)


def targets(rows: list[Row]) -> list[str]:
    """The speed targets of the cores (against ncps), checked on this run."""
    ours, fused = find(rows, "ours: ltc-ncp (AutoNCP"), find(rows, "ours: ltc-ncp, pure")
    n_eager = find(rows, "ncps: LTC AutoNCP 19 (6 unfolds) [eager]")
    n_comp = find(rows, "ncps: LTC AutoNCP 19 (6 unfolds) [torch")
    cfc, n_cfc = find(rows, "ours: cfc (32"), find(rows, "ncps: CfC 32")
    wcfc, n_wcfc = find(rows, "ours: cfc-ncp"), find(rows, "ncps: wired CfC")
    out = ["| check | measured | target | result |", "| --- | --- | --- | --- |"]

    def check(label: str, value: float, target: str, ok: bool, fmt: str = "{:.1f}x") -> None:
        out.append(f"| {label} | {fmt.format(value)} | {target} | {'PASS' if ok else 'FAIL'} |")

    if ours and n_eager:
        ratio = n_eager.fwdbwd_ms / ours.fwdbwd_ms
        check("LTC fwd+bwd speed-up vs ncps eager", ratio, ">= 5x", ratio >= 5)
    if ours and n_comp:
        ratio = n_comp.fwdbwd_ms / ours.fwdbwd_ms
        check("LTC fwd+bwd speed-up vs ncps torch.compile", ratio, "> 1x", ratio > 1)
    if ours:
        check("LTC batch-1 step latency", ours.step_us, "<= 40 us", ours.step_us <= 40, "{:.1f} us")
    if fused and n_eager:
        ratio = n_eager.fwdbwd_ms / fused.fwdbwd_ms
        check("LTC pure-torch fallback fwd+bwd vs ncps eager (info)", ratio, "-", True)
    for label, a, b in (("CfC", cfc, n_cfc), ("wired CfC", wcfc, n_wcfc)):
        if a and b:
            ratio = b.fwdbwd_ms / a.fwdbwd_ms
            check(f"{label} fwd+bwd speed-up vs ncps eager", ratio, ">= 1x", ratio >= 1)
            ratio = b.step_us / a.step_us
            check(f"{label} step speed-up vs ncps eager", ratio, ">= 1x", ratio >= 1)
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    py, os_name = platform.python_version(), f"{platform.system()} {platform.release()}"
    return f"{cpu}; {os_name}; Python {py}; torch {torch.__version__}"


def render(rows: list[Row], command: str) -> str:
    ref = find(rows, "ncps: LTC AutoNCP 19 (6 unfolds) [eager]")
    lines = [
        "# Core benchmark (`scripts/bench_cells.py`)", "",
        f"Command: `{command}`  ",
        f"Date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}  ",
        f"Machine: {machine()}; `torch.set_num_threads(1)`  ",
        f"Workload: batch {BATCH} x {STEPS} steps x {INPUTS} inputs, {OUTPUTS} outputs; step latency = one "
        "batch-1 step without autograd. Medians.", "",
        "| model | params | forward ms | fwd+bwd ms | step us | fwd+bwd speed-up vs ncps LTC eager |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        ratio = f"{ref.fwdbwd_ms / r.fwdbwd_ms:.1f}x" if ref else "-"
        lines.append(f"| {r.name} | {r.params} | {r.fwd_ms:.2f} | {r.fwdbwd_ms:.2f} | {r.step_us:.1f} | {ratio} |")
    lines += ["", "## Targets", "", *targets(rows), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement (median)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile ncps rows")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = our_rows(args.repeats) + ncps_rows(args.repeats, not args.no_compile)
    command = "python scripts/bench_cells.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(rows, command.strip())
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
