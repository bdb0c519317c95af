"""Time loops over the pointwise cell updates: a plain loop and its `torch.compile`d fast path.

Shapes: gx (time, batch, G*H) is the input projection for every step (one matrix product done
by the caller); h, c (batch, H); valid (time, batch, 1) bool or None (None = no padding);
h_mask (batch, H) or None, the variational dropout mask applied to h before W_hh (Gal &
Ghahramani 2016: one mask per sequence, the same at every step).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from lstmkit.nn.cells import gru_update, lstm_update

log = logging.getLogger(__name__)


def lstm_sequence(
    gx: Tensor,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    peephole: Tensor | None,
    valid: Tensor | None,
    h_mask: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run an (optionally peephole) LSTM over gx -> (outputs (T, B, H), h_T, c_T)."""
    outputs = []
    for t in range(gx.shape[0]):
        h_in = h if h_mask is None else h * h_mask
        h_next, c_next = lstm_update(gx[t] + h_in @ weight_hh.t(), c, peephole)
        if valid is not None:  # padded steps keep the state and output zeros
            h_next = torch.where(valid[t], h_next, h)
            c_next = torch.where(valid[t], c_next, c)
            outputs.append(h_next * valid[t])
        else:
            outputs.append(h_next)
        h, c = h_next, c_next
    return torch.stack(outputs), h, c


def gru_sequence(
    gx: Tensor,
    h: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    valid: Tensor | None,
    h_mask: Tensor | None,
) -> tuple[Tensor, Tensor]:
    """Run a GRU over gx -> (outputs (T, B, H), h_T)."""
    outputs = []
    for t in range(gx.shape[0]):
        h_in = h if h_mask is None else h * h_mask
        gh = torch.nn.functional.linear(h_in, weight_hh, bias_hh)
        h_next = gru_update(gx[t], gh, h)
        if valid is not None:
            h_next = torch.where(valid[t], h_next, h)
            outputs.append(h_next * valid[t])
        else:
            outputs.append(h_next)
        h = h_next
    return torch.stack(outputs), h


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of x (batch, time, ...) within its own length; padding stays put.

    Applying it twice gives x back. One gather, no loop over the batch.
    """
    if lengths is None:
        return x.flip(1)
    steps = torch.arange(x.shape[1], device=x.device)
    index = lengths.to(x.device)[:, None] - 1 - steps[None, :]
    index = torch.where(index >= 0, index, steps[None, :])
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


# ---------------------------------------------------------------------------------------------
# Compiled fast path
# ---------------------------------------------------------------------------------------------

_compiled: dict[Callable, Callable] = {}
_compile_broken: str | None = None


def default_cache_dir() -> Path:
    """Where compiled kernels are cached between runs (TORCHINDUCTOR_CACHE_DIR wins)."""
    root = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(root) / "lstmkit" / "inductor"


def run_loop(loop: Callable, *args: object, compile: bool) -> tuple[Tensor, ...]:
    """Call `loop(*args)`, through `torch.compile` when asked and available.

    Compilation problems (no C++ compiler, an unsupported platform) are logged once and the
    plain loop, which gives the same numbers, runs instead.
    """
    global _compile_broken
    if compile and _compile_broken is None:
        try:
            return _compiled_version(loop)(*args)
        except Exception as err:  # noqa: BLE001 - any backend failure means: use the plain loop
            _compile_broken = f"{type(err).__name__}: {err}"
            log.warning("torch.compile unavailable, running the plain loop (%s)", _compile_broken)
    return loop(*args)


def compile_available() -> bool:
    """False once compilation has failed in this process."""
    return _compile_broken is None


def _compiled_version(loop: Callable) -> Callable:
    if loop not in _compiled:
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(default_cache_dir()))
        _compiled[loop] = torch.compile(loop, dynamic=False)
    return _compiled[loop]
