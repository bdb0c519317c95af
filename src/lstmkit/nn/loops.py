"""Time loops over the pointwise cell updates: the plain reference loops and the fast path.

Everything here is time-major. Shapes: gx (T, B, G*H) is the input projection x·W_ihᵀ for every
step, one matrix product done by the caller; h, c (B, H); valid (T, B, 1) or None (None = no
padding; bool in the reference loops, 0/1 float in the fast path); h_mask (B, H) or None, the
variational dropout mask applied to h before W_hh (Gal & Ghahramani 2016: one mask per
sequence, the same at every step).
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
    bias: Tensor | None,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    peephole: Tensor | None,
    valid: Tensor | None,
    h_mask: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Reference (optionally peephole) LSTM loop -> (outputs (T, B, H), h_T, c_T).

    `bias` (4H,) is b_ih + b_hh, added at every step.
    """
    outputs = []
    for t in range(gx.shape[0]):
        h_in = h if h_mask is None else h * h_mask
        gates = gx[t] + h_in @ weight_hh.t()
        if bias is not None:
            gates = gates + bias
        h_next, c_next = lstm_update(gates, c, peephole)
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
    """GRU loop -> (outputs (T, B, H), h_T); here gx includes b_ih."""
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
    """Reverse each sequence of time-major x (time, batch, ...) within its own length.

    Padding stays where it is; applying it twice gives x back. One gather, no batch loop.
    """
    if lengths is None:
        return x.flip(0)
    steps = torch.arange(x.shape[0], device=x.device)
    index = lengths.to(x.device)[None, :] - 1 - steps[:, None]  # (T, B)
    index = torch.where(index >= 0, index, steps[:, None])
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


# ---------------------------------------------------------------------------------------------
# LSTM with a hand-written backward pass (BPTT): the compiled fast path
#
# Each forward step is one product of its input [x_t, h_{t-1}] with [W_ih, W_hh] (no (T, B, 4H)
# input projection goes through memory) followed by one fused pointwise kernel; the loop keeps
# the states and gate activations. The backward loop walks time in reverse and collects dA_t,
# the gradient of the gate pre-activations, for every step. Each weight gradient is then one
# large matrix product per chunk (W_ih' = Σ_t dA_tᵀ·x_t, W_hh' = Σ_t dA_tᵀ·h_{t-1}).
#
# Time runs in chunks whose lengths come from CHUNK_STEPS; the compiled code of a chunk has
# symbolic batch and hidden sizes, so any sequence length, batch size and hidden size reuses the
# same few compiled chunks. Every tensor handed to compiled code is a fresh one (no view into a
# larger tensor): a view's storage offset would be one more thing the code is specialised on.
# ---------------------------------------------------------------------------------------------

CHUNK_STEPS = (16, 8, 4, 2, 1)


def chunk_bounds(steps: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive chunks covering `steps`, longest CHUNK_STEPS lengths first."""
    bounds, start = [], 0
    for size in CHUNK_STEPS:
        while steps - start >= size:
            bounds.append((start, start + size))
            start += size
    return bounds


def _fast_tanh(x: Tensor) -> Tensor:
    """tanh(x) = 2·σ(2x) − 1: one exp instead of the slower vectorised tanh (abs. error ~1e-7)."""
    return 2 * torch.sigmoid(2 * x) - 1


def lstm_forward_chunk(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    h: Tensor,
    c: Tensor,
    peephole: Tensor | None,
    valid: Tensor | None,
    h_mask: Tensor | None,
) -> tuple[Tensor, ...]:
    """Forward loop over the K steps of x (K, B, I), no autograd -> (hs, cs, i, f, g, o, h_K,
    c_K). `weight` (4H, I + H) is [W_ih, W_hh]: each step is one product of its input
    [x_t, h] with it, so the input projection never goes through memory as a (K, B, 4H) tensor.

    hs, cs (K + 1, B, H) hold the state before the first step and after each step; i, f, g, o
    (K, B, H) the activated gates; h_K, c_K is the final state as tensors of their own. tanh of
    the cell state is not kept: the backward recomputes it from cs, which costs less than
    writing it and reading it back. Each list is stacked once and holds pointwise results only,
    so the compiled kernels write every step straight into its slot (a stack of stacks, or of a
    matrix product's input, would be copied once more).
    """
    batch, hidden = h.shape
    hs, cs, saved_gates = [h], [c], ([], [], [], [])
    for t in range(x.shape[0]):
        h_in = h if h_mask is None else h * h_mask
        gates = (torch.cat([x[t], h_in], dim=1) @ weight.t()).view(batch, 4, hidden)
        if bias is not None:
            # added in the pointwise kernel: an addmm's bias copy costs more
            gates = gates + bias.view(4, hidden)
        a_i, a_f, a_g, a_o = gates.unbind(1)
        if peephole is not None:
            a_i = a_i + peephole[0] * c
            a_f = a_f + peephole[1] * c
        i, f, g = torch.sigmoid(a_i), torch.sigmoid(a_f), _fast_tanh(a_g)
        c_new = f * c + i * g
        if peephole is not None:
            a_o = a_o + peephole[2] * c_new
        o = torch.sigmoid(a_o)
        if valid is not None:
            c_new = c + valid[t] * (c_new - c)
        h_new = o * _fast_tanh(c_new)
        if valid is not None:
            h_new = h + valid[t] * (h_new - h)
        h, c = h_new, c_new
        hs.append(h)
        cs.append(c)
        for saved, gate in zip(saved_gates, (i, f, g, o), strict=True):
            saved.append(gate)
    return (*(torch.stack(s) for s in (hs, cs, *saved_gates)), h, c)


def lstm_backward_chunk(
    d_out: Tensor,
    d_h: Tensor,
    d_c: Tensor,
    cs: Tensor,
    gate_i: Tensor,
    gate_f: Tensor,
    gate_g: Tensor,
    gate_o: Tensor,
    weight_hh: Tensor,
    peephole: Tensor | None,
    valid: Tensor | None,
    h_mask: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Reverse loop over one chunk -> (dA (K, B, 4H) gate pre-activation grads, dh, dc before it).

    d_out (K, B, H) is the gradient of the chunk's outputs, d_h, d_c that of its final state;
    cs and the gates are as `lstm_forward_chunk` returned them.
    """
    d_gates = []
    for t in range(gate_i.shape[0] - 1, -1, -1):
        i, f, g, o = gate_i[t], gate_f[t], gate_g[t], gate_o[t]
        c_prev, tanh_c = cs[t], _fast_tanh(cs[t + 1])
        # flattening keeps inductor from fusing the previous step's product into an addmm
        d_hn = (d_h.view(-1) + d_out[t].view(-1)).view(d_h.shape)
        d_cn = d_c
        if valid is not None:  # padded steps pass the state gradient straight through
            d_hn, d_cn = d_hn * valid[t], d_cn * valid[t]
        d_ao = d_hn * tanh_c * o * (1 - o)
        d_cn = d_cn + d_hn * o * (1 - tanh_c * tanh_c)
        if peephole is not None:
            d_cn = d_cn + d_ao * peephole[2]
        d_ai = d_cn * g * i * (1 - i)
        d_af = d_cn * c_prev * f * (1 - f)
        d_ag = d_cn * i * (1 - g * g)
        d_a = torch.cat([d_ai, d_af, d_ag, d_ao], dim=1)
        d_c_prev = d_cn * f
        if peephole is not None:
            d_c_prev = d_c_prev + d_ai * peephole[0] + d_af * peephole[1]
        d_h_prev = d_a @ weight_hh
        if h_mask is not None:
            d_h_prev = d_h_prev * h_mask
        if valid is not None:
            d_h_prev = d_h_prev + (1 - valid[t]) * d_h
            d_c_prev = d_c_prev + (1 - valid[t]) * d_c
        d_h, d_c = d_h_prev, d_c_prev
        d_gates.append(d_a)
    d_gates.reverse()
    return torch.stack(d_gates), d_h, d_c


def _fresh(x: Tensor | None) -> Tensor | None:
    """A contiguous copy of x that owns its memory (None stays None)."""
    return None if x is None else x.clone(memory_format=torch.contiguous_format)


def _part(x: Tensor | None, start: int, stop: int) -> Tensor | None:
    """Steps start..stop-1 of time-major x (None stays None)."""
    return None if x is None else x[start:stop]


SAVED_PER_CHUNK = 6  # hs, cs, i, f, g, o


class _LSTMSequence(torch.autograd.Function):
    """LSTM layer over a whole sequence, input projection included, with the backward above."""

    @staticmethod
    def forward(ctx, x, weight_ih, bias, h0, c0, weight_hh, peephole, valid, h_mask, compile):  # noqa: ANN001
        # detached: dynamo keeps a parameter's shape static, which would fix the hidden size
        weight = torch.cat([weight_ih.detach(), weight_hh.detach()], dim=1)  # (4H, I + H)
        loop_peephole = None if peephole is None else peephole.detach()
        bounds = chunk_bounds(x.shape[0])
        h, c, outputs, saved = _fresh(h0), _fresh(c0), [], []
        for start, stop in bounds:
            hs, *chunk, h, c = run_loop(lstm_forward_chunk, compile, _fresh(x[start:stop]),
                                        weight, _fresh(bias), h, c, loop_peephole,
                                        _fresh(_part(valid, start, stop)), h_mask)
            outputs.append(hs[1:])
            saved += [hs, *chunk]  # what the backward needs: hs, cs, i, f, g, o
        out = torch.cat(outputs)
        ctx.compile, ctx.bounds = compile, bounds
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, weight_ih, weight_hh, peephole, valid, h_mask, *saved)
        return (out if valid is None else out * valid), h, c

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_h, d_c):  # noqa: ANN001
        x, weight_ih, weight_hh, peephole, valid, h_mask, *saved = ctx.saved_tensors
        loop_weights = (weight_hh.detach(), None if peephole is None else peephole.detach())
        # (inputᵀ·dA)ᵀ rather than dAᵀ·input: BLAS is far faster with the long axis inside;
        # rows 0..I-1 are W_ih's gradient, the rest W_hh's
        n_in = weight_ih.shape[1]
        d_weight_t = weight_ih.new_zeros(n_in + weight_hh.shape[1], weight_ih.shape[0])
        d_x = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        d_bias = weight_ih.new_zeros(weight_ih.shape[0]) if ctx.has_bias else None
        d_peephole = None
        if peephole is not None and ctx.needs_input_grad[6]:
            d_peephole = torch.zeros_like(peephole)
        d_h, d_c = _fresh(d_h), _fresh(d_c)
        for k in range(len(ctx.bounds) - 1, -1, -1):
            start, stop = ctx.bounds[k]
            hs, cs, *gates = saved[SAVED_PER_CHUNK * k: SAVED_PER_CHUNK * (k + 1)]
            d_a, d_h, d_c = run_loop(lstm_backward_chunk, ctx.compile, _fresh(d_out[start:stop]),
                                     d_h, d_c, cs, *gates, *loop_weights,
                                     _fresh(_part(valid, start, stop)), h_mask)
            flat_da = d_a.flatten(0, 1)  # (K*B, 4H)
            # each step's input was [x_t, h_{t-1}] (h masked): x and the saved states rebuild it,
            # copied side by side so both weight gradients are one product (faster than two)
            step_inputs = torch.cat([x[start:stop], hs[:-1]], dim=2)
            if h_mask is not None:
                step_inputs[..., n_in:] *= h_mask
            d_weight_t.addmm_(step_inputs.flatten(0, 1).t(), flat_da)
            if d_x is not None:
                torch.mm(flat_da, weight_ih, out=d_x[start:stop].flatten(0, 1))
            if d_bias is not None:
                d_bias += flat_da.sum(dim=0)
            if d_peephole is not None:
                d_i, d_f, _, d_o = d_a.chunk(4, dim=2)
                d_peephole[0] += (d_i * cs[:-1]).sum(dim=(0, 1))
                d_peephole[1] += (d_f * cs[:-1]).sum(dim=(0, 1))
                d_peephole[2] += (d_o * cs[1:]).sum(dim=(0, 1))
        return (d_x, d_weight_t[:n_in].t(), d_bias, d_h, d_c, d_weight_t[n_in:].t(), d_peephole,
                None, None, None)


def lstm_layer_fast(
    x: Tensor,
    weight_ih: Tensor,
    bias: Tensor | None,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    peephole: Tensor | None,
    valid: Tensor | None,
    h_mask: Tensor | None,
    compile: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer over time-major x (T, B, I): the same result as projecting x with
    `weight_ih` and running `lstm_sequence`, with the hand-written BPTT; compiled when asked."""
    valid_f = None if valid is None else valid.to(x.dtype)
    return _LSTMSequence.apply(x.contiguous(), weight_ih, bias, h, c, weight_hh, peephole,
                               valid_f, h_mask, compile)


# ---------------------------------------------------------------------------------------------
# Compilation with a clean fallback
# ---------------------------------------------------------------------------------------------

RECOMPILE_LIMIT = 64
# the host code that calls a chunk's kernels step after step is C++, not Python: a loop of
# small kernels spends a good part of its time in that code (about 5% of an LSTM step)
COMPILE_OPTIONS = {"cpp_wrapper": True}
# loops written for symbolic sizes: fresh inputs only, no parameters (whose sizes dynamo fixes)
_SYMBOLIC_SIZES = (lstm_forward_chunk, lstm_backward_chunk)
_compiled: dict[Callable, Callable] = {}
_compile_broken: str | None = None


def default_cache_dir() -> Path:
    """Where compiled kernels are cached between runs (TORCHINDUCTOR_CACHE_DIR wins)."""
    root = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(root) / "lstmkit" / "inductor"


def compile_available() -> bool:
    """False once compilation has failed in this process."""
    return _compile_broken is None


def run_loop(loop: Callable, compile: bool, *args: object) -> tuple[Tensor, ...]:
    """`loop(*args)`, through `torch.compile` when asked and available.

    When the compiled call fails, the uncompiled function runs: if it fails too, the input was
    at fault and its error is raised; if it succeeds, compilation is what is broken here (no
    C++ compiler, an unsupported platform): that is logged once and later calls skip it.
    """
    global _compile_broken
    if not (compile and _compile_broken is None):
        return loop(*args)
    try:
        return _compiled_version(loop)(*args)
    except Exception as err:  # noqa: BLE001 - judged below by running the plain loop
        result = loop(*args)  # a genuine input error raises here again, unchanged
        _compile_broken = f"{type(err).__name__}: {err}"
        log.warning("torch.compile unavailable, running the plain loop (%s)", _compile_broken)
        return result


def _compiled_version(loop: Callable) -> Callable:
    if loop not in _compiled:
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(default_cache_dir()))
        # every (cell variant, chunk or sequence length, dtype) is one specialisation: the
        # default limit of 8 would silently send later models to the slow loop (older torch:
        # the same setting is called cache_size_limit)
        config = torch._dynamo.config
        name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
        setattr(config, name, max(getattr(config, name), RECOMPILE_LIMIT))
        if loop in _SYMBOLIC_SIZES:
            # symbolic sizes from the first call; without duck sizing, sizes that happen to be
            # equal (batch 64, hidden 64) are not assumed equal forever after
            patch = torch.fx.experimental._config.patch(use_duck_shape=False)
            _compiled[loop] = patch(torch.compile(loop, dynamic=True, options=COMPILE_OPTIONS))
        else:  # the GRU loop: specialised, a size that changes becomes dynamic
            _compiled[loop] = torch.compile(loop, options=COMPILE_OPTIONS)
    return _compiled[loop]
