"""`SequenceRegressorNet`: Recurrent layers -> pooling over time -> linear head.

x (batch, time, input_size) [+ lengths (batch,)] -> (batch, output_size). Pooling "last" takes
each sequence's final hidden state (both directions when bidirectional); "attention" pools all
hidden states with a learned query and keeps the weights of the last call in `last_attention`.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from lstmkit.errors import ConfigError
from lstmkit.nn._checks import check_positive_int
from lstmkit.nn.attention import SelfAttentionPooling
from lstmkit.nn.recurrent import CellType, Recurrent

Pooling = Literal["last", "attention"]


class SequenceRegressorNet(nn.Module):
    """Many-to-one network: one output vector per sequence."""

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 32,
        num_layers: int = 1,
        cell: CellType = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        pooling: Pooling = "last",
        compile: bool | Literal["auto"] = "auto",
    ) -> None:
        super().__init__()
        if pooling not in ("last", "attention"):
            raise ConfigError(f"pooling must be 'last' or 'attention', got {pooling!r}")
        self.output_size = check_positive_int(output_size, "output_size")
        self.pooling = pooling
        self.recurrent = Recurrent(
            input_size, hidden_size, num_layers, cell=cell, bidirectional=bidirectional,
            dropout=dropout, recurrent_dropout=recurrent_dropout, compile=compile,
        )
        size = self.recurrent.output_size
        self.attention = SelfAttentionPooling(size) if pooling == "attention" else None
        self.head = nn.Linear(size, output_size)
        self.last_attention: Tensor | None = None

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        outputs, (h_n, _) = self.recurrent(x, lengths=lengths)  # (B, T, D*H), (L*D, B, H)
        if self.attention is not None:
            pooled, weights = self.attention(outputs, lengths=lengths)
            self.last_attention = weights.detach()
        else:
            directions = self.recurrent.num_directions
            pooled = torch.cat(list(h_n[-directions:]), dim=1)  # top layer, every direction
        return self.head(pooled)
