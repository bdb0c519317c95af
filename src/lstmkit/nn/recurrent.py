"""`Recurrent`: stacked, optionally bidirectional LSTM / peephole LSTM / GRU layers.

x (batch, time, input_size) -> outputs (batch, time, D*H) and the final state (h_n, c_n), each
(num_layers*D, batch, H) with D = 2 when bidirectional; c_n is None for the GRU. Variable-length
batches are given as `lengths` (batch,) or a prefix `mask` (batch, time); outputs at padded steps
are zero and the final state of each sequence is the one at its own last step.

Weights always live in a `torch.nn.LSTM`/`GRU` (`self.rnn`, torch's layout and names) plus
peephole vectors for the peephole cell, so the same state dict runs on either path:
- fused: standard LSTM/GRU without recurrent dropout runs torch's fused kernel (packed sequences
  for variable lengths);
- loop: peephole cells, and in training recurrent (variational) dropout or `compile=True`, run
  the time loop of `lstmkit.nn.loops`, compiled with `torch.compile` unless `compile=False`.
  The LSTM loop runs in chunks of a few fixed lengths compiled with symbolic batch and hidden
  sizes: a new batch size, sequence length or hidden size reuses the compiled chunks.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn._checks import (
    check_float,
    check_positive_int,
    check_probability,
    check_rank,
    check_size,
)
from lstmkit.nn.cells import torch_param_names
from lstmkit.nn.loops import (
    compile_available,
    gru_sequence,
    lstm_layer_fast,
    lstm_sequence,
    reverse_padded,
    run_loop,
)

CellType = Literal["lstm", "peephole", "gru"]
State = tuple[Tensor, Tensor | None]
CELLS = ("lstm", "peephole", "gru")


class Recurrent(nn.Module):
    """Stacked (bi)directional recurrent layers with masking, dropout and a compiled loop.

    Args:
        cell: "lstm", "peephole" (LSTM whose gates see the cell state) or "gru".
        dropout: dropout on the outputs of every layer but the last.
        recurrent_dropout: variational dropout on h before W_hh, one mask per sequence.
        compile: "auto" compiles the loop only where the fused kernel cannot be used
            (peephole, recurrent dropout); True also trains standard LSTM/GRU layers through
            the compiled loop; False never compiles (plain loop for the variants). Inference of
            standard cells always runs the fused kernel.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: CellType = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        bias: bool = True,
        compile: bool | Literal["auto"] = "auto",
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"cell must be one of {CELLS}, got {cell!r}")
        if compile not in (True, False, "auto"):
            raise ConfigError(f"compile must be True, False or 'auto', got {compile!r}")
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.cell = cell
        self.bidirectional = bool(bidirectional)
        self.dropout = check_probability(dropout, "dropout")
        self.recurrent_dropout = check_probability(recurrent_dropout, "recurrent_dropout")
        self.compile = compile
        rnn_class = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn_class(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            batch_first=True,
            dropout=self.dropout if num_layers > 1 else 0.0,
            bidirectional=self.bidirectional,
        )
        if cell == "peephole":  # rows p_i, p_f, p_o per layer and direction; zero = plain LSTM
            n = num_layers * self.num_directions
            self.peephole = nn.ParameterList(
                nn.Parameter(torch.zeros(3, hidden_size)) for _ in range(n)
            )

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Feature size of the outputs: hidden_size times the number of directions."""
        return self.hidden_size * self.num_directions

    @property
    def uses_fused_kernel(self) -> bool:
        """True when forward now runs torch's fused nn.LSTM/GRU kernel.

        Inference (eval mode or no gradients) of a standard cell always does: recurrent dropout
        is off there, and the compiled loop only pays off in training.
        """
        if self.cell == "peephole":
            return False
        if not self.training:
            return True
        if self.recurrent_dropout > 0:
            return False
        return self.compile is not True or not torch.is_grad_enabled()

    def forward(
        self,
        x: Tensor,
        state: State | Tensor | None = None,
        lengths: Tensor | None = None,
        mask: Tensor | None = None,
    ) -> tuple[Tensor, State]:
        """x (batch, time, input_size) -> (outputs (batch, time, D*H), (h_n, c_n))."""
        check_rank(check_float(x, "x"), 3, "x", "(batch, time, input_size)")
        check_size(x, 2, self.input_size, "x", "features")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ShapeError(
                f"x has shape {tuple(x.shape)}: a batch needs at least one sequence and every "
                "sequence at least one step"
            )
        weight = self.rnn.weight_ih_l0
        if x.dtype != weight.dtype or x.device != weight.device:
            raise ShapeError(
                f"x is {x.dtype} on {x.device} but the layer's weights are {weight.dtype} on "
                f"{weight.device}; convert one of them (e.g. x.to(weight) or layer.to(x))"
            )
        lengths = resolve_lengths(x, lengths, mask)
        h0, c0 = self._initial_state(x, state)
        if self.uses_fused_kernel:
            return self._fused(x, h0, c0, lengths)
        return self._loop(x, h0, c0, lengths)

    # -- paths ------------------------------------------------------------------------------

    def _fused(self, x: Tensor, h0: Tensor, c0: Tensor | None, lengths: Tensor | None):
        hx = h0 if self.cell == "gru" else (h0, c0)
        if lengths is None:
            outputs, final = self.rnn(x, hx)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            outputs, final = self.rnn(packed, hx)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
        return outputs, ((final, None) if self.cell == "gru" else final)

    def _loop(self, x: Tensor, h0: Tensor, c0: Tensor | None, lengths: Tensor | None):
        compile = self.compile is not False
        steps = torch.arange(x.shape[1], device=x.device)
        valid = None if lengths is None else (steps[:, None] < lengths.to(x.device))[..., None]
        layer_input = x.transpose(0, 1).contiguous()  # time-major: (T, B, features)
        if valid is not None:  # padding may hold anything, NaN included: it must not leak
            layer_input = layer_input.masked_fill(~valid, 0.0)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
                seq = layer_input if direction == 0 else reverse_padded(layer_input, lengths)
                h_mask = self._recurrent_mask(x)
                if self.cell == "gru":
                    gx = nn.functional.linear(seq, w_ih, b_ih)  # all steps in one product
                    out, h = run_loop(gru_sequence, compile, gx, h0[k], w_hh, b_hh, valid, h_mask)
                    c = None
                else:
                    bias = None if b_ih is None else b_ih + b_hh
                    peephole = self.peephole[k] if self.cell == "peephole" else None
                    state = (h0[k], c0[k], w_hh, peephole, valid, h_mask)
                    if compile and compile_available():
                        out, h, c = lstm_layer_fast(seq, w_ih, bias, *state)
                    else:
                        gx = nn.functional.linear(seq, w_ih)  # all steps in one product
                        out, h, c = lstm_sequence(gx, bias, *state)
                outputs.append(out if direction == 0 else reverse_padded(out, lengths))
                h_n.append(h)
                c_n.append(c)
            layer_input = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
            if layer < self.num_layers - 1 and self.dropout > 0:
                layer_input = nn.functional.dropout(layer_input, self.dropout, self.training)
        c_final = None if self.cell == "gru" else torch.stack(c_n)
        return layer_input.transpose(0, 1), (torch.stack(h_n), c_final)

    # -- helpers ----------------------------------------------------------------------------

    def _weights(self, layer: int, direction: int) -> list[Tensor | None]:
        names = torch_param_names(layer, reverse=direction == 1)
        return [getattr(self.rnn, name, None) for name in names]

    def _recurrent_mask(self, x: Tensor) -> Tensor | None:
        p = self.recurrent_dropout
        if not self.training or p == 0:
            return None
        keep = torch.full((x.shape[0], self.hidden_size), 1 - p, device=x.device, dtype=x.dtype)
        return torch.bernoulli(keep) / (1 - p)

    def _initial_state(self, x: Tensor, state: State | Tensor | None) -> State:
        shape = (self.num_layers * self.num_directions, x.shape[0], self.hidden_size)
        if state is None:
            h0 = x.new_zeros(shape)
            return h0, (None if self.cell == "gru" else torch.zeros_like(h0))
        if isinstance(state, Tensor):
            state = (state, None)
        if not isinstance(state, tuple | list) or len(state) != 2:
            raise ShapeError(
                f"state must be (h0, c0) (h0 alone or (h0, None) for the GRU), got {state!r:.80}"
            )
        h0, c0 = state
        if self.cell != "gru" and c0 is None:
            raise ShapeError(f"{self.cell} state must be a pair (h0, c0), got h0 only")
        for name, s in (("h0", h0), ("c0", c0)):
            if s is None:
                continue
            check_float(s, name)
            if tuple(s.shape) != shape:
                raise ShapeError(
                    f"{name} has shape {tuple(s.shape)}, expected {shape} = "
                    f"(num_layers*num_directions, batch, hidden_size)"
                )
            if s.dtype != x.dtype or s.device != x.device:
                raise ShapeError(
                    f"{name} is {s.dtype} on {s.device}, x is {x.dtype} on {x.device}; "
                    "they must match"
                )
        return h0, (None if self.cell == "gru" else c0)


def resolve_lengths(x: Tensor, lengths: Tensor | None, mask: Tensor | None) -> Tensor | None:
    """Validate `lengths` or turn a prefix `mask` into lengths; None when nothing is padded."""
    batch, time = x.shape[:2]
    if lengths is not None and mask is not None:
        raise ShapeError("give either lengths or mask, not both")
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.shape != (batch, time):
            shape = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise ShapeError(f"mask must be a (batch, time) = {(batch, time)} tensor, got {shape}")
        mask = mask.bool()
        lengths = mask.sum(dim=1)
        steps = torch.arange(time, device=mask.device)
        if not torch.equal(mask, steps[None, :] < lengths[:, None]):
            rows = (mask != (steps[None, :] < lengths[:, None])).any(dim=1).nonzero().flatten()
            raise ShapeError(
                "mask must mark a prefix of each sequence (True then only False, padding at the "
                f"end); rows {rows[:5].tolist()} are not of that form"
            )
    if lengths is None:
        return None
    if not isinstance(lengths, Tensor):
        lengths = torch.as_tensor(lengths)
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ShapeError(f"lengths must be an integer tensor, got dtype {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ShapeError(
            f"lengths must have shape ({batch},) = (batch,), got {tuple(lengths.shape)}"
        )
    lengths = lengths.long()
    if (lengths < 1).any():
        row = int((lengths < 1).nonzero()[0])
        raise ShapeError(
            f"sequence {row} has length {int(lengths[row])}; every sequence needs at least one "
            "step (drop empty sequences before batching)"
        )
    if (lengths > time).any():
        row = int((lengths > time).nonzero()[0])
        raise ShapeError(
            f"sequence {row} has length {int(lengths[row])} but x has only {time} time steps"
        )
    return None if bool((lengths == time).all()) else lengths
