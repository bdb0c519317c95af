"""ConvLSTM (Shi et al. 2015, without peepholes): the LSTM with convolutions for matrix products.

Shapes: x (batch, time, in_channels, height, width); h, c (batch, hidden_channels, height, width).

    gates = conv_x(x_t) + conv_h(h_{t-1})      4·C_h channels in the gate order i, f, g, o
    i, f, g, o -> c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)   (`lstm_update`, pointwise)

conv_x carries the bias and conv_h none, as LSTMCell's single bias. Both use 'same' padding with
odd kernels, so the grid keeps its size. With a 1x1 kernel conv_x.weight is LSTMCell.weight_ih
(4H, I, 1, 1) and conv_h.weight is weight_hh: on a 1x1 grid a ConvLSTMCell is an LSTMCell
(`ConvLSTMCell.from_lstm_cell`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn._checks import (
    check_float,
    check_positive_int,
    check_probability,
    check_rank,
    check_size,
)
from lstmkit.nn.cells import LSTMCell, lstm_update

GridState = tuple[Tensor, Tensor]


class ConvLSTMCell(nn.Module):
    """One ConvLSTM step: x (B, C_in, H, W), state (h, c) (B, C_h, H, W) or None -> (h', c')."""

    def __init__(
        self, in_channels: int, hidden_channels: int, kernel_size: int, bias: bool = True
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.hidden_channels = check_positive_int(hidden_channels, "hidden_channels")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ConfigError(
                f"kernel_size must be odd so 'same' padding keeps the grid size, got {kernel_size}"
            )
        pad = kernel_size // 2
        gates = 4 * hidden_channels
        self.conv_x = nn.Conv2d(in_channels, gates, kernel_size, padding=pad, bias=bias)
        self.conv_h = nn.Conv2d(hidden_channels, gates, kernel_size, padding=pad, bias=False)

    def forward(self, x: Tensor, state: GridState | None = None) -> GridState:
        """x (B, C_in, H, W), state (h, c) or None for zeros -> (h', c'), each (B, C_h, H, W)."""
        check_rank(check_float(x, "x"), 4, "x", "(batch, channels, height, width)")
        check_size(x, 1, self.in_channels, "x", "channels")
        h, c = self._state(x, state)
        return self.update(self.conv_x(x), h, c)

    def update(self, gx: Tensor, h: Tensor, c: Tensor) -> GridState:
        """One step from the input convolution gx = conv_x(x_t) (B, 4·C_h, H, W)."""
        return lstm_update(gx + self.conv_h(h), c)

    def _state(self, x: Tensor, state: GridState | None) -> GridState:
        shape = (x.shape[0], self.hidden_channels, *x.shape[2:])
        return _check_state(x, state, ("h", "c"), shape, "(batch, hidden_channels, height, width)")

    @classmethod
    @torch.no_grad()
    def from_lstm_cell(cls, cell: LSTMCell) -> ConvLSTMCell:
        """A 1x1-kernel ConvLSTMCell with `cell`'s weights: `cell` applied at every pixel."""
        if not isinstance(cell, LSTMCell) or getattr(cell, "peephole", None) is not None:
            raise ConfigError(f"expected a plain LSTMCell, got {type(cell).__name__}")
        conv = cls(cell.input_size, cell.hidden_size, 1, bias=cell.bias is not None)
        conv.conv_x.weight.copy_(cell.weight_ih[:, :, None, None])  # (4H, I) -> (4H, I, 1, 1)
        conv.conv_h.weight.copy_(cell.weight_hh[:, :, None, None])
        if cell.bias is not None:
            conv.conv_x.bias.copy_(cell.bias)
        return conv


class ConvLSTM(nn.Module):
    """Stacked ConvLSTM layers over x (B, T, C_in, H, W).

    Returns (outputs (B, T, C_h, H, W) of the last layer, (h_n, c_n) each (L, B, C_h, H, W)).
    `dropout` applies to the outputs of every layer but the last.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        kernel_size: int,
        num_layers: int = 1,
        bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.hidden_channels = check_positive_int(hidden_channels, "hidden_channels")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.dropout = check_probability(dropout, "dropout")
        self.cells = nn.ModuleList(
            ConvLSTMCell(layer_in, hidden_channels, kernel_size, bias)
            for layer_in in [in_channels] + [hidden_channels] * (num_layers - 1)
        )

    def forward(self, x: Tensor, state: GridState | None = None) -> tuple[Tensor, GridState]:
        """x (B, T, C_in, H, W), state (h0, c0) each (L, B, C_h, H, W) or None -> outputs, state."""
        check_rank(check_float(x, "x"), 5, "x", "(batch, time, channels, height, width)")
        check_size(x, 2, self.in_channels, "x", "channels")
        batch, time, _, height, width = x.shape
        if time == 0:
            raise ShapeError("x has 0 time steps; every sequence needs at least one step")
        h0, c0 = self._initial_state(x, state)
        layer_input, h_n, c_n = x, [], []
        for layer, cell in enumerate(self.cells):
            # input convolution for every step at once: (B*T, C, H, W) -> (B, T, 4·C_h, H, W)
            gx = cell.conv_x(layer_input.flatten(0, 1)).unflatten(0, (batch, time))
            h, c = h0[layer], c0[layer]
            outputs = []
            for t in range(time):
                h, c = cell.update(gx[:, t], h, c)
                outputs.append(h)
            layer_input = torch.stack(outputs, dim=1)  # (B, T, C_h, H, W)
            if layer < self.num_layers - 1 and self.dropout > 0:
                layer_input = nn.functional.dropout(layer_input, self.dropout, self.training)
            h_n.append(h)
            c_n.append(c)
        return layer_input, (torch.stack(h_n), torch.stack(c_n))

    def _initial_state(self, x: Tensor, state: GridState | None) -> GridState:
        batch, _, _, height, width = x.shape
        shape = (self.num_layers, batch, self.hidden_channels, height, width)
        layout = "(num_layers, batch, hidden_channels, height, width)"
        return _check_state(x, state, ("h0", "c0"), shape, layout)


def _check_state(
    x: Tensor, state: GridState | None, names: tuple[str, str], shape: tuple[int, ...], layout: str
) -> GridState:
    """Zeros for None, else require a pair (h, c) of float tensors of `shape`."""
    if state is None:
        zeros = x.new_zeros(shape)
        return zeros, zeros
    if not isinstance(state, tuple | list) or len(state) != 2:
        what = type(state).__name__
        raise ShapeError(f"state must be a pair ({names[0]}, {names[1]}), got {what}")
    for name, s in zip(names, state, strict=True):
        if tuple(check_float(s, name).shape) != shape:
            raise ShapeError(f"{name} has shape {tuple(s.shape)}, expected {shape} = {layout}")
    return state[0], state[1]
