"""Recurrent cells written from their gate equations.

Shapes: x (batch, input_size); h, c (batch, hidden_size). Weights use torch's layout, so a cell
loads from and exports to `torch.nn.LSTM` / `torch.nn.GRU` without reordering:

    weight_ih (4H, I), weight_hh (4H, H), gate rows in the order i, f, g, o (LSTM)
    weight_ih (3H, I), weight_hh (3H, H), gate rows in the order r, z, n (GRU)

LSTM (one bias b per gate, as in the equations; torch's b_ih + b_hh):
    i = σ(W_i·[h, x] + b_i)      f = σ(W_f·[h, x] + b_f)      g = tanh(W_g·[h, x] + b_g)
    c' = f * c + i * g           o = σ(W_o·[h, x] + b_o)      h' = o * tanh(c')
Peephole LSTM adds diagonal peepholes: p_i * c to i, p_f * c to f (old cell), p_o * c' to o.
GRU (as torch.nn.GRU):
    r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))     h' = (1 - z) * n + z * h
"""

from __future__ import annotations

import math
from typing import Self

import torch
from torch import Tensor, nn

from lstmkit.errors import ShapeError
from lstmkit.nn._checks import check_float, check_positive_int, check_rank, check_size

# ---------------------------------------------------------------------------------------------
# Pointwise updates: pure tensor maths shared by the cells and the sequence loops (compilable).
# The loops compute the input projection W_ih·x + b for all time steps in one matrix product.
# ---------------------------------------------------------------------------------------------


def lstm_update(gates: Tensor, c: Tensor, peephole: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Pointwise LSTM update from pre-activations `gates` = W_ih·x + b + W_hh·h (batch, 4H).

    `peephole` is (3, H) holding p_i, p_f, p_o, or None for the plain LSTM.
    """
    i, f, g, o = gates.chunk(4, dim=1)
    if peephole is not None:
        i = i + peephole[0] * c
        f = f + peephole[1] * c
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    if peephole is not None:
        o = o + peephole[2] * c_next
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next


def gru_update(gx: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """Pointwise GRU update from gx = W_ih·x + b_ih and gh = W_hh·h + b_hh (batch, 3H)."""
    x_r, x_z, x_n = gx.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


def torch_param_names(layer: int, reverse: bool) -> tuple[str, str, str, str]:
    """Names of weight_ih, weight_hh, bias_ih, bias_hh of one layer/direction in nn.LSTM/GRU."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return tuple(f"{p}{suffix}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


class _CellBase(nn.Module):
    """Shared construction, validation and torch-layout import/export."""

    gates: int  # number of gate blocks in weight_ih (4 for LSTM, 3 for GRU)
    torch_class: type[nn.RNNBase]

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.has_bias = bool(bias)
        self.weight_ih = nn.Parameter(torch.empty(self.gates * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(self.gates * hidden_size, hidden_size))

    def reset_parameters(self) -> None:
        """Uniform(-1/sqrt(H), 1/sqrt(H)) for every parameter, as torch.nn.LSTM/GRU."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _check_input(self, x: Tensor, state_tensors: tuple[Tensor, ...] | None) -> None:
        check_rank(check_float(x, "x"), 2, "x", "(batch, input_size)")
        check_size(x, 1, self.input_size, "x", "features")
        if x.dtype != self.weight_ih.dtype:
            raise ShapeError(f"x is {x.dtype} but the cell's weights are {self.weight_ih.dtype}")
        expected = ("h", "c")[: self.gates // 2]  # LSTM: (h, c); GRU: (h,)
        if state_tensors is not None and (
            not isinstance(state_tensors, tuple | list) or len(state_tensors) != len(expected)
        ):
            raise ShapeError(f"state must be ({', '.join(expected)}), got {state_tensors!r:.80}")
        for name, s in zip(expected, state_tensors or (), strict=False):
            check_rank(check_float(s, name), 2, name, "(batch, hidden_size)")
            if s.shape != (x.shape[0], self.hidden_size):
                raise ShapeError(
                    f"{name} has shape {tuple(s.shape)}, expected "
                    f"({x.shape[0]}, {self.hidden_size}) = (batch, hidden_size)"
                )

    @classmethod
    def from_torch(cls, rnn: nn.RNNBase, layer: int = 0, reverse: bool = False) -> Self:
        """A new cell holding the weights of one layer/direction of `rnn` (nn.LSTM or GRU)."""
        in_size = rnn.input_size if layer == 0 else rnn.hidden_size * (1 + rnn.bidirectional)
        return cls(in_size, rnn.hidden_size, bias=rnn.bias).load_from_torch(rnn, layer, reverse)

    def _zeros(self, x: Tensor) -> Tensor:
        return x.new_zeros(x.shape[0], self.hidden_size)

    def _source_tensors(self, rnn: nn.RNNBase, layer: int, reverse: bool) -> list[Tensor | None]:
        if not isinstance(rnn, self.torch_class):
            raise ShapeError(f"expected a {self.torch_class.__name__}, got {type(rnn).__name__}")
        if layer >= rnn.num_layers or (reverse and not rnn.bidirectional):
            raise ShapeError(
                f"{type(rnn).__name__} has {rnn.num_layers} layer(s), bidirectional="
                f"{rnn.bidirectional}; cannot take layer={layer}, reverse={reverse}"
            )
        names = torch_param_names(layer, reverse)
        tensors = [getattr(rnn, n, None) for n in names]
        if (tensors[2] is not None) != self.has_bias:
            raise ShapeError(
                f"bias mismatch: {type(rnn).__name__} bias={rnn.bias}, cell bias={self.has_bias}"
            )
        if tensors[0].shape != self.weight_ih.shape or tensors[1].shape != self.weight_hh.shape:
            raise ShapeError(
                f"{type(rnn).__name__} layer {layer} has weight_ih {tuple(tensors[0].shape)}, "
                f"weight_hh {tuple(tensors[1].shape)}; this cell needs "
                f"{tuple(self.weight_ih.shape)}, {tuple(self.weight_hh.shape)}"
            )
        return tensors


class LSTMCell(_CellBase):
    """The LSTM cell from its gate equations (see module docstring); bias is b_ih + b_hh."""

    gates = 4
    torch_class = nn.LSTM

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias)
        self.bias = nn.Parameter(torch.empty(4 * hidden_size)) if bias else None
        self.reset_parameters()

    def forward(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        """x (batch, input_size), state (h, c) or None for zeros -> (h', c')."""
        self._check_input(x, state)
        h, c = state if state is not None else (self._zeros(x), self._zeros(x))
        gates = self.input_projection(x) + h @ self.weight_hh.t()
        return lstm_update(gates, c, self._peephole())

    def input_projection(self, x: Tensor) -> Tensor:
        """W_ih·x + b for any leading shape (one matrix product for a whole sequence)."""
        return nn.functional.linear(x, self.weight_ih, self.bias)

    def _peephole(self) -> Tensor | None:
        return None

    @torch.no_grad()
    def load_from_torch(self, lstm: nn.LSTM, layer: int = 0, reverse: bool = False) -> LSTMCell:
        """Copy one layer/direction of a `torch.nn.LSTM` into this cell; returns self."""
        w_ih, w_hh, b_ih, b_hh = self._source_tensors(lstm, layer, reverse)
        self.weight_ih.copy_(w_ih)
        self.weight_hh.copy_(w_hh)
        if self.bias is not None:
            self.bias.copy_(b_ih + b_hh)
        return self

    @torch.no_grad()
    def export_to_torch(self, lstm: nn.LSTM, layer: int = 0, reverse: bool = False) -> nn.LSTM:
        """Write this cell into one layer/direction of a `torch.nn.LSTM` (b_hh set to 0)."""
        w_ih, w_hh, b_ih, b_hh = self._source_tensors(lstm, layer, reverse)
        w_ih.copy_(self.weight_ih)
        w_hh.copy_(self.weight_hh)
        if self.bias is not None:
            b_ih.copy_(self.bias)
            b_hh.zero_()
        return lstm


class PeepholeLSTMCell(LSTMCell):
    """LSTM with peephole connections: i and f see c_{t-1}, o sees c_t (diagonal weights)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias)
        # rows: p_i, p_f, p_o; start at zero so the cell begins as a plain LSTM
        self.peephole = nn.Parameter(torch.zeros(3, hidden_size))

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if hasattr(self, "peephole"):
            nn.init.zeros_(self.peephole)

    def _peephole(self) -> Tensor | None:
        return self.peephole

    def export_to_torch(self, lstm: nn.LSTM, layer: int = 0, reverse: bool = False) -> nn.LSTM:
        """Write into a `torch.nn.LSTM`: only possible while the peepholes are all zero."""
        if bool(self.peephole.detach().ne(0).any()):
            raise ShapeError(
                "torch.nn.LSTM has no peephole connections; this cell's non-zero peepholes "
                "would be lost, so it cannot be exported"
            )
        return super().export_to_torch(lstm, layer, reverse)


class GRUCell(_CellBase):
    """The GRU cell as torch.nn.GRU defines it (separate b_ih and b_hh: b_hn sits inside r)."""

    gates = 3
    torch_class = nn.GRU

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias)
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size)) if bias else None
        self.reset_parameters()

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        """x (batch, input_size), h or None for zeros -> h'."""
        self._check_input(x, None if h is None else (h,))
        h = h if h is not None else self._zeros(x)
        gh = nn.functional.linear(h, self.weight_hh, self.bias_hh)
        return gru_update(self.input_projection(x), gh, h)

    def input_projection(self, x: Tensor) -> Tensor:
        """W_ih·x + b_ih for any leading shape."""
        return nn.functional.linear(x, self.weight_ih, self.bias_ih)

    @torch.no_grad()
    def load_from_torch(self, gru: nn.GRU, layer: int = 0, reverse: bool = False) -> GRUCell:
        """Copy one layer/direction of a `torch.nn.GRU` into this cell; returns self."""
        for dst, src in zip(self._own(), self._source_tensors(gru, layer, reverse), strict=True):
            self._copy(dst, src)
        return self

    @torch.no_grad()
    def export_to_torch(self, gru: nn.GRU, layer: int = 0, reverse: bool = False) -> nn.GRU:
        """Write this cell into one layer/direction of a `torch.nn.GRU`."""
        for src, dst in zip(self._own(), self._source_tensors(gru, layer, reverse), strict=True):
            self._copy(dst, src)
        return gru

    def _own(self) -> list[Tensor | None]:
        return [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]

    @staticmethod
    def _copy(dst: Tensor | None, src: Tensor | None) -> None:
        if dst is not None and src is not None:
            dst.copy_(src)
