"""Compiled LTC kernel: guarded build with one warning and the pure-torch fallback, one compile for
concurrent first uses, IEEE-safe flags, and float32 agreement with the pure-torch path."""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from ltc_drones.models import LTC, ltc_native, make_core

HAVE_CC = ltc_native.compiler() is not None and shutil.which(ltc_native.compiler()[0]) is not None
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler: the native kernel cannot be built")
UNAVAILABLE = "compiled LTC kernel is unavailable"


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """This process forgets the loaded kernel and uses an empty cache folder."""
    monkeypatch.setattr(ltc_native, "_LIB", None)
    monkeypatch.setattr(ltc_native, "_TRIED", False)
    monkeypatch.delenv("LTC_DRONES_NO_NATIVE", raising=False)
    monkeypatch.setenv("LTC_DRONES_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def _unwritable_cache(tmp: Path, monkeypatch) -> str:
    (tmp / "a_file").write_text("not a folder")  # no folder can be made below a file, even by root
    monkeypatch.setenv("LTC_DRONES_CACHE", str(tmp / "a_file" / "cache"))
    return "not writable"


def _failing_compiler(tmp: Path, monkeypatch) -> str:
    monkeypatch.setenv("CC", _script(tmp / "cc_fails", "echo 'fatal: kernel went boom' >&2\nexit 1\n"))
    return "kernel went boom"


def _missing_compiler(tmp: Path, monkeypatch) -> str:
    monkeypatch.setenv("CC", str(tmp / "no_such_cc"))
    return "cannot run the C compiler"


def _corrupt_library(tmp: Path, monkeypatch) -> str:
    path = ltc_native.library_path(ltc_native.compiler())
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x7fELF but not really")
    return "cannot load"


def _library_without_symbols(tmp: Path, monkeypatch) -> str:
    cc = ltc_native.compiler()
    path = ltc_native.library_path(cc)
    path.parent.mkdir(parents=True)
    (tmp / "other.c").write_text("int unrelated(void) { return 0; }\n")
    subprocess.run([*cc, "-shared", "-fPIC", str(tmp / "other.c"), "-o", str(path)], check=True)
    return "lacks the symbol ltc_forward_f32"


@needs_cc
@pytest.mark.parametrize("breakage", [_unwritable_cache, _failing_compiler, _missing_compiler, _corrupt_library,
                                      _library_without_symbols])
def test_a_broken_build_warns_once_and_falls_back(fresh, monkeypatch, breakage):
    reason = breakage(fresh, monkeypatch)
    torch.manual_seed(0)
    core = make_core("ltc-ncp", 5, 2, units=12).double()
    x = torch.randn(3, 6, 5, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ltc_native.native_lib() is None
        assert core.backend(x) == "fused"
        y, h = core(x, None, 0.05)
        with torch.no_grad():
            y1, _ = core.step(x[:, 0], None, 0.05)
        assert ltc_native.native_lib() is None
    messages = [str(w.message) for w in caught if UNAVAILABLE in str(w.message)]
    assert len(messages) == 1, messages
    assert reason in messages[0] and "pure-torch fallback" in messages[0]
    core.config = dataclasses.replace(core.config, backend="reference")
    y_ref, h_ref = core(x, None, 0.05)
    assert (y - y_ref).abs().max() <= 1e-10 and (h - h_ref).abs().max() <= 1e-10
    assert (y1 - y_ref[:, 0]).abs().max() <= 1e-10


def test_opting_out_is_silent(fresh, monkeypatch):
    monkeypatch.setenv("LTC_DRONES_NO_NATIVE", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ltc_native.native_lib() is None
    assert not (fresh / "cache").exists()


CHILD = r"""
import os, sys, time
import torch
torch.set_num_threads(1)
from ltc_drones.models import ltc_native
mine, others = sys.argv[1], sys.argv[2:]
open(mine, "w").close()
deadline = time.monotonic() + 60
while not all(os.path.exists(p) for p in others) and time.monotonic() < deadline:
    time.sleep(0.01)
assert ltc_native.native_lib() is not None, "no kernel"
"""


@needs_cc
def test_concurrent_first_uses_compile_once(tmp_path):
    log = tmp_path / "cc.log"
    real_cc = " ".join(ltc_native.compiler())
    # Every compiler call is logged and slowed down, so that both processes are inside the build together.
    cc = _script(tmp_path / "cc_wrapper", f'echo "$*" >> {log}\nsleep 0.3\nexec {real_cc} "$@"\n')
    env = {**os.environ, "CC": cc, "LTC_DRONES_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    env.pop("LTC_DRONES_NO_NATIVE", None)
    ready = [str(tmp_path / f"ready{i}") for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-W", "error::RuntimeWarning", "-c", CHILD, mine, *ready], env=env,
                              stderr=subprocess.PIPE, text=True) for mine in ready]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    calls = log.read_text().splitlines()
    assert len([c for c in calls if " -c " in f" {c} "]) == 1, calls  # one compile ...
    assert len(calls) == 2, calls  # ... and one link
    assert len(list((tmp_path / "cache" / "kernels").glob("*.so"))) == 1


def test_flags_keep_ieee_semantics():
    value_changing = {"-ffast-math", "-Ofast", "-funsafe-math-optimizations", "-ffinite-math-only",
                      "-fassociative-math", "-freciprocal-math", "-fno-signed-zeros", "-ffp-contract=fast",
                      "-fcx-limited-range", "-ffp-contract=on"}
    assert value_changing.isdisjoint(ltc_native.CFLAGS)
    assert "-std=c11" in ltc_native.CFLAGS  # ISO C mode: no fused multiply-add contraction by default


def _outputs(core: LTC, backend: str, x, h0, dt_s: float, starts):
    """Forward outputs and final state, all gradients, and a closed-loop run of single steps."""
    core.config = dataclasses.replace(core.config, backend=backend)
    assert core.backend(x) == backend
    xg = x.clone().requires_grad_(True)
    y, h = core(xg, h0, dt_s, starts)
    weights = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)
    grads = torch.autograd.grad((weights * y).sum() + h.sum(), [xg, *core.parameters()])
    with torch.no_grad():
        hs, ys = h0, []
        for t in range(x.shape[1]):
            yt, hs = core.step(x[:, t], hs, dt_s, starts[:, t])
            ys.append(yt)
    return y.detach(), h.detach(), grads, torch.stack(ys, 1)


@needs_cc
def test_native_matches_pure_torch_in_float32():
    """Forward and step agree within 1e-6. A float32 gradient is a sum over batch x steps x unfolds (the
    capacitance's a difference of two such sums), where the pure-torch path itself is a few 1e-6 from the
    float64 result; the native gradients agree with it within 1e-6 plus twice that intrinsic error."""
    assert ltc_native.native_lib() is not None
    torch.manual_seed(3)
    core = make_core("ltc-ncp", 16, 4, units=19)
    b, t = 8, 32
    x = 2 * torch.randn(b, t, 16)
    h0 = 0.3 * torch.randn(b, core.state_size)
    starts = torch.zeros(b, t, dtype=torch.bool)
    starts[2, t // 2] = True
    dt_s = 1.0 / 30.0
    y_n, h_n, g_n, s_n = _outputs(core, "native", x, h0, dt_s, starts)
    y_f, h_f, g_f, s_f = _outputs(core, "fused", x, h0, dt_s, starts)
    exact = copy.deepcopy(core).double()
    _, _, g_r, _ = _outputs(exact, "reference", x.double(), h0.double(), dt_s, starts)
    assert (y_n - y_f).abs().max() <= 1e-6
    assert (h_n - h_f).abs().max() <= 1e-6
    assert (s_n - s_f).abs().max() <= 1e-6
    names = ["x", *(name for name, _ in core.named_parameters())]
    for name, gn, gf, gr in zip(names, g_n, g_f, g_r, strict=True):
        intrinsic = float((gf.double() - gr).norm())
        assert float((gn - gf).norm()) <= 1e-6 * float(gf.norm()) + 2 * intrinsic, name
