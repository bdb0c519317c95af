"""`SequenceClassifierNet`: input layer -> Recurrent -> masked pooling -> dropout -> class logits.

    token ids (B, T) int64          -> Embedding(vocab_size, embedding_dim, padding_idx=0)
    or frames (B, T, input_size)    -> Linear(input_size, embedding_dim)  (or as they are)
    -> dropout(input_dropout) -> Recurrent (stacked, bidirectional, lstm/gru/peephole)
    -> outputs (B, T, D*H) with D = 2 when bidirectional
    -> pooling over the valid steps of each sequence (`lengths` (B,), padding at the end):
         "last":      forward state at the last valid step; when bidirectional, concatenated
                      with the backward state at step 0 (which has read the whole sequence)
         "mean":      mean of the outputs over the valid steps
         "attention": SelfAttentionPooling over the valid steps (weights in `last_attention`)
    -> dropout -> Linear(D*H, num_classes) -> logits (B, num_classes)

Padded steps never change the logits: the recurrent layer runs packed sequences (or masks the
loop), and every pooling reads valid steps only.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn._checks import check_positive_int, check_probability
from lstmkit.nn.attention import SelfAttentionPooling
from lstmkit.nn.recurrent import CellType, Recurrent

Pooling = Literal["last", "mean", "attention"]
POOLINGS = ("last", "mean", "attention")


class SequenceClassifierNet(nn.Module):
    """Many-to-one classifier over token-id or real-valued frame sequences.

    Give `vocab_size` for token ids (id 0 is padding) or `input_size` for frames, not both.
    For frames, `embedding_dim=None` feeds the frames to the recurrent layer directly.
    """

    def __init__(
        self,
        num_classes: int,
        vocab_size: int | None = None,
        input_size: int | None = None,
        embedding_dim: int | None = 64,
        hidden_size: int = 64,
        num_layers: int = 1,
        cell: CellType = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        pooling: Pooling = "last",
        compile: bool | Literal["auto"] = "auto",
    ) -> None:
        super().__init__()
        if (vocab_size is None) == (input_size is None):
            raise ConfigError(
                "give vocab_size (token-id sequences) or input_size (real-valued frames), "
                f"exactly one of them; got vocab_size={vocab_size}, input_size={input_size}"
            )
        if pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.pooling = pooling
        self.dropout = check_probability(dropout, "dropout")
        self.input_dropout = check_probability(input_dropout, "input_dropout")
        if vocab_size is not None:
            self.vocab_size = check_positive_int(vocab_size, "vocab_size")
            if embedding_dim is None:
                raise ConfigError("token-id input needs an embedding_dim")
            width = check_positive_int(embedding_dim, "embedding_dim")
            self.embedding: nn.Embedding | None = nn.Embedding(vocab_size, width, padding_idx=0)
            self.input_proj: nn.Linear | None = None
        else:
            self.vocab_size = None
            check_positive_int(input_size, "input_size")
            self.embedding = None
            if embedding_dim is None:
                width, self.input_proj = int(input_size), None
            else:
                width = check_positive_int(embedding_dim, "embedding_dim")
                self.input_proj = nn.Linear(int(input_size), width)
        self.input_size = input_size
        self.recurrent = Recurrent(
            width, hidden_size, num_layers, cell=cell, bidirectional=bidirectional,
            dropout=dropout, recurrent_dropout=recurrent_dropout, compile=compile,
        )
        size = self.recurrent.output_size
        self.attention = SelfAttentionPooling(size) if pooling == "attention" else None
        self.head = nn.Linear(size, num_classes)
        self.last_attention: Tensor | None = None

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """x (B, T) ids or (B, T, input_size) frames, lengths (B,) -> logits (B, num_classes)."""
        h = self.embed(x)  # (B, T, E)
        batch, time = h.shape[:2]
        if lengths is not None:
            lengths = torch.as_tensor(lengths).to(device=h.device, dtype=torch.long)
            if lengths.shape != (batch,):
                raise ShapeError(f"lengths must have shape ({batch},), got {tuple(lengths.shape)}")
        h = nn.functional.dropout(h, self.input_dropout, self.training)
        outputs, _ = self.recurrent(h, lengths=lengths)  # (B, T, D*H), zeros at padding
        pooled = self.pool(outputs, lengths)  # (B, D*H)
        return self.head(nn.functional.dropout(pooled, self.dropout, self.training))

    def embed(self, x: Tensor) -> Tensor:
        """Token ids -> embeddings, or frames -> projected frames: (B, T, E)."""
        if self.embedding is not None:
            if x.dim() != 2 or x.dtype.is_floating_point:
                raise ShapeError(
                    f"token input must be a (batch, time) integer tensor, got {x.dtype} "
                    f"of shape {tuple(x.shape)}"
                )
            # padding may hold any id; clamp keeps out-of-range values from failing the lookup
            return self.embedding(x.clamp(0, self.embedding.num_embeddings - 1))
        if x.dim() != 3 or x.shape[2] != self.input_size or not x.dtype.is_floating_point:
            raise ShapeError(
                f"frame input must be a float (batch, time, {self.input_size}) tensor, got "
                f"{x.dtype} of shape {tuple(x.shape)}"
            )
        return x if self.input_proj is None else self.input_proj(x)

    def pool(self, outputs: Tensor, lengths: Tensor | None) -> Tensor:
        """outputs (B, T, D*H), lengths (B,) or None -> pooled (B, D*H) over the valid steps."""
        batch, time, size = outputs.shape
        if lengths is None:
            lengths = torch.full((batch,), time, dtype=torch.long, device=outputs.device)
        valid = torch.arange(time, device=outputs.device)[None, :] < lengths[:, None]  # (B, T)
        if self.pooling == "last":
            hidden = self.recurrent.hidden_size
            last = outputs[torch.arange(batch, device=outputs.device), lengths - 1]  # (B, D*H)
            if not self.recurrent.bidirectional:
                return last
            return torch.cat([last[:, :hidden], outputs[:, 0, hidden:]], dim=1)
        if self.pooling == "mean":
            summed = torch.where(valid[..., None], outputs, 0.0).sum(dim=1)
            return summed / lengths[:, None].to(outputs.dtype)
        pooled, weights = self.attention(outputs, mask=valid)
        self.last_attention = weights.detach()
        return pooled
