"""Encoder–decoder (seq2seq) with optional attention, for multi-step forecasts.

Shapes: x (B, T, input_size) is the observed past; predictions (B, horizon, output_size).

    encoder:  outputs (B, T, H), (h_n, c_n) (L, B, H) = Recurrent(x)
    decoder:  one LSTMCell/GRUCell per layer, started from the encoder's final state; step t
              input = [y_{t-1}, future_inputs_t, context_t]   (the last two when present)
              context_t, weights_t = attention(query = top h_{t-1}, keys = encoder outputs)
              y_t = head([h_t, context_t])
    y_0 = the last observed target, x[b, length_b - 1, target_index] (zeros if target_index None)
    y_t fed back = target[:, t] with probability `teacher_forcing` per step, else the prediction

Attention honours the encoder's lengths/mask: padded encoder steps get exactly 0 weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

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
from lstmkit.nn.attention import AdditiveAttention, DotProductAttention
from lstmkit.nn.cells import GRUCell, LSTMCell, PeepholeLSTMCell
from lstmkit.nn.recurrent import CellType, Recurrent, resolve_lengths

CELL_CLASSES = {"lstm": LSTMCell, "peephole": PeepholeLSTMCell, "gru": GRUCell}
ATTENTIONS = (None, "additive", "dot")


class Seq2Seq(nn.Module):
    """Recurrent encoder, autoregressive decoder, optional attention over the encoder outputs.

    Args:
        input_size: features per encoder step.
        output_size: values predicted per decoder step.
        attention: None, "additive" (Bahdanau) or "dot" (scaled dot-product).
        dropout: dropout between stacked layers, in the encoder and the decoder.
        decoder_input_size: number of known-future covariates fed to the decoder at each step
            (`future_inputs` in forward); None when there are none.
        target_index: where the target lives in x, for the first decoder input: an int i takes
            features i .. i + output_size - 1, a sequence names output_size features, None
            starts the decoder from zeros.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: CellType = "lstm",
        attention: Literal["additive", "dot"] | None = None,
        dropout: float = 0.0,
        decoder_input_size: int | None = None,
        target_index: int | Sequence[int] | None = 0,
    ) -> None:
        super().__init__()
        if cell not in CELL_CLASSES:
            raise ConfigError(f"cell must be one of {tuple(CELL_CLASSES)}, got {cell!r}")
        if attention not in ATTENTIONS:
            raise ConfigError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
        self.input_size = check_positive_int(input_size, "input_size")
        self.output_size = check_positive_int(output_size, "output_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.cell = cell
        self.dropout = check_probability(dropout, "dropout")
        self.decoder_input_size = (
            None if decoder_input_size is None
            else check_positive_int(decoder_input_size, "decoder_input_size")
        )
        self.target_index = self._target_indices(target_index)

        H = hidden_size
        self.encoder = Recurrent(input_size, H, num_layers, cell=cell, dropout=self.dropout)
        if attention == "additive":
            self.attention = AdditiveAttention(H, H)
        elif attention == "dot":
            self.attention = DotProductAttention(H, H, scaled=True)
        else:
            self.attention = None
        context_size = 0 if self.attention is None else H
        step_size = output_size + (self.decoder_input_size or 0) + context_size
        cell_class = CELL_CLASSES[cell]
        self.decoder = nn.ModuleList(
            cell_class(step_size if layer == 0 else H, H) for layer in range(num_layers)
        )
        self.head = nn.Linear(H + context_size, output_size)

    def forward(
        self,
        x: Tensor,
        horizon: int,
        lengths: Tensor | None = None,
        target: Tensor | None = None,
        teacher_forcing: float = 0.0,
        future_inputs: Tensor | None = None,
        mask: Tensor | None = None,
        return_attention: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """x (B, T, input_size) -> predictions (B, horizon, output_size).

        lengths (B,) or a prefix mask (B, T) mark padded encoder steps. target (B, horizon,
        output_size) is needed when teacher_forcing > 0; future_inputs (B, horizon,
        decoder_input_size) are the known-future covariates. With return_attention=True also
        returns the attention weights (B, horizon, T). teacher_forcing is honoured as given, in
        train and eval mode alike (one torch.rand draw per step when 0 < p < 1): pass it for
        training only.
        """
        check_rank(check_float(x, "x"), 3, "x", "(batch, time, input_size)")
        check_size(x, 2, self.input_size, "x", "features")
        if x.shape[1] == 0:
            raise ShapeError("x has 0 time steps; the encoder needs at least one observed step")
        batch = x.shape[0]
        horizon = check_positive_int(horizon, "horizon")
        self._check_call(batch, horizon, target, teacher_forcing, future_inputs, return_attention)
        lengths = resolve_lengths(x, lengths, mask)  # None when nothing is padded

        enc_out, (h_n, c_n) = self.encoder(x, lengths=lengths)  # (B, T, H), (L, B, H)
        h = list(h_n.unbind(0))  # per layer (B, H)
        c = None if c_n is None else list(c_n.unbind(0))
        y = self._first_input(x, lengths)  # (B, O)
        predictions, weights = [], []
        for t in range(horizon):
            step = [y]
            if future_inputs is not None:
                step.append(future_inputs[:, t])
            if self.attention is not None:
                context, w = self.attention(h[-1], enc_out, lengths=lengths)  # (B, H), (B, T)
                step.append(context)
                weights.append(w)
            h, c = self._decoder_step(torch.cat(step, dim=1), h, c)
            out = h[-1] if self.attention is None else torch.cat([h[-1], context], dim=1)
            y_hat = self.head(out)  # (B, O)
            predictions.append(y_hat)
            forced = teacher_forcing >= 1 or (
                teacher_forcing > 0 and float(torch.rand(())) < teacher_forcing
            )
            y = target[:, t] if forced else y_hat
        predictions = torch.stack(predictions, dim=1)  # (B, horizon, O)
        if return_attention:
            return predictions, torch.stack(weights, dim=1)  # (B, horizon, T)
        return predictions

    def _decoder_step(
        self, step: Tensor, h: list[Tensor], c: list[Tensor] | None
    ) -> tuple[list[Tensor], list[Tensor] | None]:
        """One step of the stacked decoder cells: step (B, step_size) -> new h, c per layer."""
        new_h, new_c = [], []
        layer_input = step
        for layer, cell in enumerate(self.decoder):
            if c is None:
                h_l = cell(layer_input, h[layer])
            else:
                h_l, c_l = cell(layer_input, (h[layer], c[layer]))
                new_c.append(c_l)
            new_h.append(h_l)
            layer_input = h_l
            if layer < self.num_layers - 1 and self.dropout > 0:
                layer_input = nn.functional.dropout(layer_input, self.dropout, self.training)
        return new_h, (None if c is None else new_c)

    def _first_input(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        """The last observed target of each sequence (B, O), or zeros."""
        if self.target_index is None:
            return x.new_zeros(x.shape[0], self.output_size)
        if lengths is None:
            last = x[:, -1]  # (B, I)
        else:
            last = x[torch.arange(x.shape[0], device=x.device), lengths.to(x.device) - 1]
        return last[:, list(self.target_index)]

    def _target_indices(self, target_index: int | Sequence[int] | None) -> tuple[int, ...] | None:
        if target_index is None:
            return None
        if isinstance(target_index, int) and not isinstance(target_index, bool):
            indices = tuple(range(target_index, target_index + self.output_size))
        elif isinstance(target_index, Sequence) and len(target_index) == self.output_size:
            indices = tuple(int(i) for i in target_index)
        else:
            raise ConfigError(
                f"target_index must be an int, a sequence of output_size={self.output_size} "
                f"ints or None, got {target_index!r}"
            )
        if any(i < 0 or i >= self.input_size for i in indices):
            raise ConfigError(
                f"target_index {target_index!r} points at features {list(indices)} but x has "
                f"input_size={self.input_size} features; give the target's column index"
            )
        return indices

    def _check_call(
        self,
        batch: int,
        horizon: int,
        target: Tensor | None,
        teacher_forcing: float,
        future_inputs: Tensor | None,
        return_attention: bool,
    ) -> None:
        p = teacher_forcing
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise ConfigError(f"teacher_forcing must be a number in [0, 1], got {p!r}")
        if teacher_forcing > 0 and target is None:
            raise ShapeError("teacher_forcing > 0 needs target (batch, horizon, output_size)")
        if target is not None:
            _check_steps(target, "target", (batch, horizon, self.output_size), "output_size")
        if self.decoder_input_size is None:
            if future_inputs is not None:
                raise ShapeError(
                    "future_inputs given but the model has decoder_input_size=None; build it "
                    "with decoder_input_size=<number of future covariates>"
                )
        elif future_inputs is None:
            raise ShapeError(
                f"the model expects future_inputs (batch, horizon, {self.decoder_input_size}) "
                "of known-future covariates"
            )
        else:
            shape = (batch, horizon, self.decoder_input_size)
            _check_steps(future_inputs, "future_inputs", shape, "decoder_input_size")
        if return_attention and self.attention is None:
            raise ConfigError("return_attention=True needs a model built with attention")


def _check_steps(t: Tensor, name: str, shape: tuple[int, int, int], what: str) -> None:
    check_rank(check_float(t, name), 3, name, f"(batch, horizon, {what})")
    if tuple(t.shape) != shape:
        raise ShapeError(
            f"{name} has shape {tuple(t.shape)}, expected {shape} = (batch, horizon, {what})"
        )
