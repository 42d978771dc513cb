"""The one interface every recurrent core implements, plus shared input checks.

State representation (all cores): **one tensor** ``h`` of shape ``[B, core.state_size]``. The LSTM packs
``(h, c)`` as ``cat([h, c], -1)``; the memory-less MLP has ``state_size == 0`` (a ``[B, 0]`` tensor). The
initial state is all zeros; ``episode_start[b, t] = True`` resets row ``b`` to zeros *before* step ``t``.

Time: ``dt`` is the elapsed time per step in **seconds** (no hidden default of 1). It is a positive
finite float, or a tensor ``[B, T]`` (``forward``) / ``[B]`` (``step``). Continuous-time cores require it;
discrete cores (LSTM, GRU, MLP) validate it when given and otherwise ignore it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import Tensor, nn


class CoreConfigError(ValueError):
    """A core name, config key or config value is invalid."""


class CoreInputError(ValueError):
    """A tensor passed to a core has the wrong shape or bad values (e.g. a non-positive ``dt``)."""


def check_dt(dt: float | Tensor | None, batch: int, steps: int | None,
             required: bool) -> float | Tensor | None:
    """Validate ``dt`` and return it as a float or a tensor ``[B, T]`` (``[B]`` when ``steps`` is None).

    Raises:
        CoreInputError: ``dt`` missing for a continuous-time core, non-positive, NaN/inf, or mis-shaped.
    """
    if dt is None:
        if required:
            raise CoreInputError(
                "dt (seconds per step) is required for continuous-time cores; pass e.g. dt=1/30 for a "
                "30 Hz control loop, or a tensor [B, T] of per-step elapsed times"
            )
        return None
    if isinstance(dt, numbers.Real) and not isinstance(dt, bool):  # Python or numpy scalar
        dt = float(dt)
        if not (math.isfinite(dt) and dt > 0.0):
            raise CoreInputError(f"dt must be a positive finite number of seconds, got {dt}")
        return dt
    if not isinstance(dt, Tensor):
        raise CoreInputError(f"dt must be a float or a tensor, got {type(dt).__name__}")
    want = (batch,) if steps is None else (batch, steps)
    if dt.dim() == 0:
        dt = dt.expand(want)
    elif steps is not None and dt.dim() == 3 and dt.shape[-1] == 1:
        dt = dt[..., 0]
    elif steps is None and dt.dim() == 2 and dt.shape[-1] == 1:
        dt = dt[:, 0]
    if tuple(dt.shape) != want:
        raise CoreInputError(f"dt tensor must have shape {list(want)} (or be a scalar), got {list(dt.shape)}")
    if not bool(torch.all(torch.isfinite(dt) & (dt > 0))):
        raise CoreInputError("dt must be positive and finite everywhere (found a value <= 0, NaN or inf)")
    return dt


class RecurrentCore(nn.Module):
    """Base class of every core: ``forward`` over a sequence, ``step`` for one closed-loop step.

    Subclasses set ``input_size``, ``output_size``, ``state_size``, ``needs_dt`` and implement
    :meth:`_step` (one step, state already reset); they may override :meth:`_forward_seq` with a
    faster whole-sequence path.
    """

    input_size: int
    output_size: int
    state_size: int
    needs_dt: bool = True
    core_name: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.config: Any = None

    # ---- public API -------------------------------------------------------------------------------
    def initial_state(self, batch: int, device: torch.device | None = None,
                      dtype: torch.dtype | None = None) -> Tensor:
        """All-zero state ``[batch, state_size]`` on the parameters' device/dtype by default."""
        ref = self._ref_tensor()
        return torch.zeros(batch, self.state_size, device=device or ref.device, dtype=dtype or ref.dtype)

    def num_parameters(self, trainable_only: bool = True) -> int:
        """Number of (trainable) scalar parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def forward(self, x: Tensor, h0: Tensor | None = None, dt: float | Tensor | None = None,
                episode_start: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run the core over a sequence.

        Args:
            x: inputs ``[B, T, input_size]``.
            h0: initial state ``[B, state_size]``; zeros when ``None``.
            dt: seconds per step, float or ``[B, T]``.
            episode_start: bool ``[B, T]``; True resets that row's state to zeros before that step.

        Returns:
            ``(y, h_T)``: outputs ``[B, T, output_size]`` and the final state ``[B, state_size]``.
        """
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise CoreInputError(
                f"{type(self).__name__} expects x of shape [B, T, {self.input_size}], got {list(x.shape)}"
            )
        b, t = x.shape[0], x.shape[1]
        dt = check_dt(dt, b, t, self.needs_dt)
        h0 = self._check_state(h0, b, x)
        if episode_start is not None:
            if tuple(episode_start.shape) != (b, t):
                raise CoreInputError(
                    f"episode_start must be [B, T] = {[b, t]}, got {list(episode_start.shape)}"
                )
            episode_start = episode_start.to(torch.bool)
        return self._forward_seq(x, h0, dt, episode_start)

    def step(self, x: Tensor, h: Tensor | None, dt: float | Tensor | None = None,
             episode_start: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One step: ``x[B, input_size]`` -> ``(y[B, output_size], h_next[B, state_size])``.

        ``episode_start`` (bool ``[B]``) resets those rows to zeros before the step.
        """
        if x.dim() != 2 or x.shape[-1] != self.input_size:
            raise CoreInputError(
                f"{type(self).__name__}.step expects x of shape [B, {self.input_size}], got {list(x.shape)}"
            )
        b = x.shape[0]
        dt = check_dt(dt, b, None, self.needs_dt)
        h = self._check_state(h, b, x)
        if episode_start is not None:
            h = h * (~episode_start.to(torch.bool)).reshape(b, 1).to(h.dtype)
        return self._step(x, h, dt)

    # ---- helpers for subclasses -------------------------------------------------------------------
    def _forward_seq(self, x: Tensor, h: Tensor, dt: float | Tensor | None,
                     episode_start: Tensor | None) -> tuple[Tensor, Tensor]:
        """Default sequence path: loop over :meth:`_step`."""
        ys = []
        keep = None if episode_start is None else (~episode_start).to(h.dtype).unsqueeze(-1)
        for t in range(x.shape[1]):
            if keep is not None:
                h = h * keep[:, t]
            dt_t = dt[:, t] if isinstance(dt, Tensor) else dt
            y, h = self._step(x[:, t], h, dt_t)
            ys.append(y)
        return torch.stack(ys, 1), h

    def _step(self, x: Tensor, h: Tensor, dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _check_state(self, h: Tensor | None, batch: int, x: Tensor) -> Tensor:
        if h is None:
            return torch.zeros(batch, self.state_size, device=x.device, dtype=x.dtype)
        if tuple(h.shape) != (batch, self.state_size):
            raise CoreInputError(
                f"{type(self).__name__} state must be [B, {self.state_size}] = {[batch, self.state_size]}, "
                f"got {list(h.shape)}"
            )
        return h

    def _inference_constants(self, tag: str, build: Any) -> Any:
        """``build()`` (run without autograd), cached until a parameter changes.

        In-place updates (optimizer steps, ``load_state_dict``) bump ``Tensor._version``; ``.data``
        reassignment and dtype changes move ``data_ptr()``. Assigning a *new* ``nn.Parameter`` object
        to the module is not detected: call :meth:`clear_inference_cache` after doing so.
        """
        params = self.__dict__.get("_param_list")
        if params is None:
            params = self.__dict__["_param_list"] = list(self.parameters())
        key = (tag, *[(p._version, p.data_ptr()) for p in params])
        cache = self.__dict__.get("_const_cache")
        if cache is None or cache[0] != key:
            with torch.no_grad():
                cache = (key, build())
            self.__dict__["_const_cache"] = cache
        return cache[1]

    def clear_inference_cache(self) -> None:
        """Forget the cached inference constants (needed only after replacing parameter objects)."""
        self.__dict__.pop("_const_cache", None)
        self.__dict__.pop("_param_list", None)

    def _ref_tensor(self) -> Tensor:
        for p in self.parameters():
            return p
        for b in self.buffers():
            return b
        return torch.zeros(())


def dt_column(dt: float | Tensor, like: Tensor) -> float | Tensor:
    """``dt`` as a float or a ``[B, 1]`` tensor for broadcasting against ``[B, N]``."""
    return dt if isinstance(dt, float) else dt.to(like.dtype).reshape(-1, 1)


def build_config(cls: type, name: str, config: dict[str, Any]) -> Any:
    """Instantiate config dataclass ``cls`` from ``config``, listing valid keys on a typo."""
    import dataclasses

    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(config) - set(valid))
    if unknown:
        raise CoreConfigError(f"unknown config key(s) {unknown} for core {name!r}; valid keys: {valid}")
    return cls(**config)


def step_via_sequence(core: RecurrentCore, x: Tensor, h: Tensor,
                      dt: float | Tensor | None) -> tuple[Tensor, Tensor]:
    """One step computed by ``core._forward_seq`` on a length-1 sequence."""
    dt_seq = dt.unsqueeze(1) if isinstance(dt, Tensor) else dt
    y, h = core._forward_seq(x.unsqueeze(1), h, dt_seq, None)
    return y[:, 0], h
