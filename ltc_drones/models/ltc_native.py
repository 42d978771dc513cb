"""Compiled LTC kernels (``ltc_kernel.c``), built on first use with the system C compiler.

The shared library is cached in ``<cache>/kernels/``, where ``<cache>`` is the per-user cache folder
(``$LTC_DRONES_CACHE``, else ``$XDG_CACHE_HOME/ltc_drones``, else ``~/.cache/ltc_drones``; see
:func:`ltc_drones.resources.cache_dir`), keyed by the source hash, compiler, flags and CPU, and loaded with
:mod:`ctypes`. Concurrent first uses compile once: the build holds an exclusive file lock beside the
library, and the finished file is moved into place atomically. A cache that already holds the library is
only read, so it may be read-only.

When the kernel cannot be used (no compiler, a compile error, an unwritable cache, a library that does not
load or lacks a symbol), :func:`native_lib` warns once per process naming the reason and returns ``None``;
the LTC then runs the pure-torch fused path (:mod:`ltc_drones.models.ltc_fused`), which gives the same
results more slowly. ``LTC_DRONES_NO_NATIVE=1`` selects that path without a warning; ``CC`` chooses the
compiler (default ``cc``, else ``gcc``).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ltc_drones.resources import cache_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: concurrent builds each compile (still atomic)
    fcntl = None  # type: ignore[assignment]

SOURCE = Path(__file__).with_name("ltc_kernel.c")
# IEEE semantics are kept (no -ffast-math, no reassociation, no FMA contraction: -std=c11 implies
# -ffp-contract=off), so results agree with the pure-torch path to rounding on every machine.
# -fno-math-errno only drops errno updates, which nothing reads. Compiled and linked in two steps.
CFLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fPIC", "-std=c11"]
SYMBOLS = tuple(f"ltc_{name}_{suf}" for suf in ("f32", "f64") for name in ("forward", "backward", "step"))
COMPILE_TIMEOUT_S = 120.0
_LIB: ctypes.CDLL | None = None
_TRIED = False
_GUARD = threading.Lock()


class NativeBuildError(RuntimeError):
    """The compiled kernel cannot be built or loaded (the message says why and what to do)."""


def _cpu_tag() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        flags = next(line for line in lines if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = platform.processor()
    return hashlib.sha1(flags.encode()).hexdigest()[:10]


def compiler() -> list[str] | None:
    """The C compiler command (``$CC``, split like a shell word list; else ``cc`` or ``gcc``), or ``None``."""
    if os.environ.get("CC"):
        return shlex.split(os.environ["CC"])
    found = shutil.which("cc") or shutil.which("gcc")
    return None if found is None else [found]


def library_path(cc: list[str]) -> Path:
    """Where the library built by ``cc`` from the current source and flags is cached."""
    key = hashlib.sha1(SOURCE.read_bytes())
    for part in (*cc, *CFLAGS, "2step", _cpu_tag()):
        key.update(part.encode() + b"\0")
    return cache_dir() / "kernels" / f"ltc_kernel_{platform.machine()}_{key.hexdigest()[:16]}.so"


def _run(cmd: list[str]) -> None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
        raise NativeBuildError(f"`{shlex.join(cmd)}` failed with exit code {exc.returncode}: "
                               + " | ".join(tail)) from None
    except subprocess.TimeoutExpired:
        raise NativeBuildError(f"`{shlex.join(cmd)}` took longer than {COMPILE_TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise NativeBuildError(f"cannot run the C compiler {cmd[0]!r} ({exc}); set CC to a working "
                               "compiler") from None


def _compile(cc: list[str], lib_path: Path) -> None:
    """Build ``lib_path`` unless present, holding a lock so that concurrent processes compile once."""
    folder = lib_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / (lib_path.name + ".lock"), "a")  # closed (and unlocked) by the with below
    except OSError as exc:
        raise NativeBuildError(f"the kernel cache {folder} is not writable ({exc}); set LTC_DRONES_CACHE to "
                               "a writable folder") from None
    with lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if lib_path.is_file():  # built by another process while this one waited
            return
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{lib_path.name}.", suffix=".so", dir=folder)
            os.close(fd)
        except OSError as exc:
            raise NativeBuildError(f"cannot write to the kernel cache {folder} ({exc}); set LTC_DRONES_CACHE "
                                   "to a writable folder") from None
        obj = tmp + ".o"
        try:
            _run([*cc, *CFLAGS, "-c", str(SOURCE), "-o", obj])
            _run([*cc, "-shared", obj, "-o", tmp, "-lm"])
            os.chmod(tmp, 0o755)
            os.replace(tmp, lib_path)  # atomic: a reader never sees a half-written library
        except OSError as exc:
            raise NativeBuildError(f"cannot store the kernel in {folder} ({exc})") from None
        finally:
            for leftover in (tmp, obj):
                Path(leftover).unlink(missing_ok=True)


def _load(lib_path: Path) -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(str(lib_path))
    except OSError as exc:
        raise NativeBuildError(f"cannot load {lib_path} ({exc}); delete it to rebuild") from None
    for name in SYMBOLS:
        try:
            getattr(lib, name).restype = ctypes.c_int
        except AttributeError:
            raise NativeBuildError(f"{lib_path} lacks the symbol {name}; delete it to rebuild") from None
    return lib


def build() -> ctypes.CDLL:
    """Compile (unless cached) and load the kernel library.

    Raises:
        NativeBuildError: no compiler, source missing, compile error, unwritable cache, load error.
    """
    cc = compiler()
    if cc is None:
        raise NativeBuildError("no C compiler found (install gcc or set CC)")
    try:
        lib_path = library_path(cc)
    except OSError as exc:
        raise NativeBuildError(f"cannot read the kernel source {SOURCE} ({exc}); reinstall ltc_drones") from None
    if not lib_path.is_file():
        _compile(cc, lib_path)
    return _load(lib_path)


def native_lib() -> ctypes.CDLL | None:
    """The loaded kernel library, or ``None`` when unavailable (tried once per process, warns once)."""
    global _LIB, _TRIED
    with _GUARD:
        if not _TRIED:
            _TRIED = True
            if os.environ.get("LTC_DRONES_NO_NATIVE", "0") != "1":
                try:
                    _LIB = build()
                except NativeBuildError as exc:
                    warnings.warn(f"the compiled LTC kernel is unavailable: {exc}. Using the slower pure-torch "
                                  "fallback (same results; set LTC_DRONES_NO_NATIVE=1 to choose it silently)",
                                  RuntimeWarning, stacklevel=2)
    return _LIB


_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


def supports(t: Tensor) -> bool:
    """Whether the native kernels can handle tensors like ``t`` (CPU, float32/float64)."""
    return t.device.type == "cpu" and t.dtype in _SUFFIX and native_lib() is not None


def _p(t: Tensor | None) -> ctypes.c_void_p:
    return ctypes.c_void_p(None if t is None else t.data_ptr())


def _check(rc: int) -> None:
    if rc != 0:
        raise MemoryError("LTC native kernel could not allocate its work buffer")


class NativeLTCFunction(torch.autograd.Function):
    """``T`` LTC steps via the compiled kernels; inputs are per-synapse vectors (differentiable)."""

    @staticmethod
    def forward(ctx, v0: Tensor, sig: Tensor, negsm: Tensor, we: Tensor, w: Tensor, bias: Tensor,
                cmt: Tensor, keep: Tensor, src: Tensor, dst: Tensor, unfolds: int) -> Tensor:
        """Args: v0 [B,N]; sig/negsm/we/w [K]; bias [T,B,2N]; cmt [T,B,N]; keep [T,B] or empty;
        src/dst [K] int64; unfolds U. Returns the states after each step, [T, B, N]."""
        lib = native_lib()
        assert lib is not None
        t_len, b, n2 = bias.shape
        n, k_syn = n2 // 2, sig.numel()
        v0_t = v0.t().contiguous()
        bias_t = bias.transpose(1, 2).contiguous()
        cmt_t = cmt.transpose(1, 2).contiguous()
        keep_c = keep.contiguous() if keep.numel() else None
        sig, negsm, we, w, src, dst = (p.contiguous() for p in (sig, negsm, we, w, src, dst))
        s_all = v0.new_empty(t_len * unfolds, k_syn, b)
        q_all = v0.new_empty(t_len * unfolds, n, b)
        v_all = v0.new_empty(t_len * unfolds, n, b)
        fn = getattr(lib, f"ltc_forward_{_SUFFIX[v0.dtype]}")
        _check(fn(ctypes.c_int64(t_len), ctypes.c_int64(b), ctypes.c_int64(n), ctypes.c_int64(k_syn),
                  ctypes.c_int64(unfolds), _p(v0_t), _p(src), _p(dst), _p(sig), _p(negsm), _p(we), _p(w),
                  _p(bias_t), _p(cmt_t), _p(keep_c), _p(s_all), _p(q_all), _p(v_all)))
        ctx.unfolds = unfolds
        ctx.save_for_backward(v0_t, src, dst, sig, we, w, cmt_t, keep, s_all, q_all, v_all)
        return v_all[unfolds - 1::unfolds].transpose(1, 2).contiguous()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        v0_t, src, dst, sig, we, w, cmt_t, keep, s_all, q_all, v_all = ctx.saved_tensors
        lib = native_lib()
        assert lib is not None
        n, b = v0_t.shape
        t_len, k_syn = cmt_t.shape[0], sig.numel()
        go = grad_out.transpose(1, 2).contiguous()
        gv0 = torch.zeros_like(v0_t)
        gsig, gnegsm, gwe, gw = (torch.zeros_like(sig) for _ in range(4))
        gbias = v0_t.new_zeros(t_len, 2 * n, b)
        gcmt = v0_t.new_zeros(t_len, n, b)
        fn = getattr(lib, f"ltc_backward_{_SUFFIX[v0_t.dtype]}")
        _check(fn(ctypes.c_int64(t_len), ctypes.c_int64(b), ctypes.c_int64(n), ctypes.c_int64(k_syn),
                  ctypes.c_int64(ctx.unfolds), _p(v0_t), _p(src), _p(dst), _p(sig), _p(we), _p(w),
                  _p(cmt_t), _p(keep.contiguous() if keep.numel() else None), _p(s_all), _p(q_all),
                  _p(v_all), _p(go), _p(gv0), _p(gsig), _p(gnegsm), _p(gwe), _p(gw), _p(gbias), _p(gcmt)))
        return (gv0.t(), gsig, gnegsm, gwe, gw, gbias.transpose(1, 2), gcmt.transpose(1, 2),
                None, None, None, None)


class NativeStep:
    """Closed-loop single step without autograd; holds the constant arrays and their pointer table.

    Args:
        arrays: the 18 constant tensors in kernel order (see ``ltc_step`` in ``ltc_kernel.c``); ``None``
            for an absent input/output mapping term.
        sizes: (I, N, O, KS, K, U).
    """

    def __init__(self, arrays: list[Tensor | None], sizes: tuple[int, ...]) -> None:
        lib = native_lib()
        assert lib is not None
        self.arrays = [None if a is None else a.detach().contiguous() for a in arrays]
        ref = next(a for a in self.arrays if a is not None and a.is_floating_point())
        self.dtype = ref.dtype
        self.table = (ctypes.c_void_p * len(self.arrays))(*[0 if a is None else a.data_ptr()
                                                            for a in self.arrays])
        self.sizes = [ctypes.c_int64(s) for s in sizes]
        self.n, self.o = sizes[1], sizes[2]
        self.fn = getattr(lib, f"ltc_step_{_SUFFIX[self.dtype]}")

    def __call__(self, x: Tensor, h: Tensor, dt: float | Tensor) -> tuple[Tensor, Tensor]:
        """x [B, I], h [B, N], dt seconds (float or [B]) -> (y [B, O], h_next [B, N])."""
        b = x.shape[0]
        x = x.to(self.dtype).contiguous()
        h = h.to(self.dtype).contiguous()
        dt_t = (torch.full((b,), dt, dtype=self.dtype) if isinstance(dt, float)
                else dt.to(self.dtype).reshape(b).contiguous())
        h_out = torch.empty(b, self.n, dtype=self.dtype)
        y = torch.empty(b, self.o, dtype=self.dtype)
        _check(self.fn(ctypes.c_int64(b), *self.sizes, self.table, ctypes.c_void_p(x.data_ptr()),
                       ctypes.c_void_p(h.data_ptr()), ctypes.c_void_p(dt_t.data_ptr()),
                       ctypes.c_void_p(h_out.data_ptr()), ctypes.c_void_p(y.data_ptr())))
        return y, h_out
