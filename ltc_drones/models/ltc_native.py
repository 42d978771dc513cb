"""Compiled LTC kernels (``ltc_kernel.c``), built on first use with the system C compiler.

The shared library is cached under ``$LTC_DRONES_CACHE`` (default ``~/.cache/ltc_drones``), keyed by
the source hash, compiler flags and CPU, and loaded with :mod:`ctypes`. When no compiler is available,
or ``LTC_DRONES_NO_NATIVE=1`` is set, :func:`native_lib` returns ``None`` and the LTC falls back to the
pure-torch fused path (:mod:`ltc_drones.models.ltc_fused`).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

SOURCE = Path(__file__).with_name("ltc_kernel.c")
# -ffast-math lets gcc vectorise exp() (glibc libmvec). We compile and link in two steps so that the
# link does not pull in crtfastmath.o, which would set flush-to-zero for the whole process.
CFLAGS = ["-O3", "-march=native", "-ffast-math", "-fPIC", "-std=c11"]
_LIB: ctypes.CDLL | None = None
_TRIED = False


def _cpu_tag() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        flags = next(line for line in lines if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = platform.processor()
    return hashlib.sha1(flags.encode()).hexdigest()[:10]


def _build() -> ctypes.CDLL | None:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None or not SOURCE.exists():
        return None
    src = SOURCE.read_bytes()
    key = hashlib.sha1(src + " ".join(CFLAGS + ["2step"]).encode() + _cpu_tag().encode()).hexdigest()[:16]
    cache = Path(os.environ.get("LTC_DRONES_CACHE", Path.home() / ".cache" / "ltc_drones"))
    lib_path = cache / f"ltc_kernel_{platform.machine()}_{key}.so"
    if not lib_path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache)
        os.close(fd)
        obj = tmp + ".o"
        try:
            for cmd in ([cc, *CFLAGS, "-c", str(SOURCE), "-o", obj], [cc, "-shared", obj, "-o", tmp, "-lm"]):
                subprocess.run(cmd, check=True, capture_output=True, timeout=120)
            os.replace(tmp, lib_path)  # atomic: concurrent builders never see a half-written file
        except (OSError, subprocess.SubprocessError):
            Path(tmp).unlink(missing_ok=True)
            return None
        finally:
            Path(obj).unlink(missing_ok=True)
    lib = ctypes.CDLL(str(lib_path))
    for suf in ("f32", "f64"):
        for name in ("forward", "backward", "step"):
            getattr(lib, f"ltc_{name}_{suf}").restype = ctypes.c_int
    return lib


def native_lib() -> ctypes.CDLL | None:
    """The loaded kernel library, or ``None`` when unavailable (compiled once per process)."""
    global _LIB, _TRIED
    if not _TRIED:
        _TRIED = True
        if os.environ.get("LTC_DRONES_NO_NATIVE", "0") != "1":
            _LIB = _build()
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
