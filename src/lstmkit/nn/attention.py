"""Attention over a sequence of hidden states: additive, dot-product and self-attention pooling.

Shapes: query (B, Dq); keys (B, T, Dk); values (B, T, Dv), the keys when not given;
mask (B, T) bool with True = a real step (any pattern), or lengths (B,) for prefix masks.
Every module returns (context (B, Dv), weights (B, T)).

    additive (Bahdanau):  score_t = vᵀ tanh(W_q q + W_k k_t + b)
    dot (Luong):          score_t = qᵀ k_t,  divided by sqrt(Dk) when scaled
    general (Luong):      score_t = (W q)ᵀ k_t
    pooling:              score_t = uᵀ tanh(W k_t + b),  u a learned query vector
    weights = softmax over the valid steps,  context = Σ_t weights_t · v_t

Masked steps get a score of -inf before the softmax, so their weight is exactly 0 and the
weights of each row sum to 1 over its valid steps; padded values never reach the context.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn._checks import check_float, check_positive_int, check_rank, check_size


def resolve_mask(keys: Tensor, mask: Tensor | None, lengths: Tensor | None) -> Tensor | None:
    """Validate `mask` (B, T) or turn `lengths` (B,) into one; None means every step is valid."""
    batch, time = keys.shape[:2]
    if mask is not None and lengths is not None:
        raise ShapeError("give either mask or lengths, not both")
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=keys.device)
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
            raise ShapeError(f"lengths must be an integer tensor, got dtype {lengths.dtype}")
        if lengths.shape != (batch,):
            raise ShapeError(
                f"lengths must have shape ({batch},) = (batch,), got {tuple(lengths.shape)}"
            )
        bad = ((lengths < 1) | (lengths > time)).nonzero().flatten()
        if len(bad):
            row = int(bad[0])
            raise ShapeError(
                f"sequence {row} has length {int(lengths[row])}; lengths must lie in "
                f"[1, {time}] (keys have {time} time steps)"
            )
        return torch.arange(time, device=keys.device)[None, :] < lengths[:, None]
    if mask is None:
        return None
    if not isinstance(mask, Tensor) or mask.shape != (batch, time):
        shape = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
        raise ShapeError(f"mask must be a (batch, time) = {(batch, time)} tensor, got {shape}")
    mask = mask.to(device=keys.device, dtype=torch.bool)
    empty = (~mask.any(dim=1)).nonzero().flatten()
    if len(empty):
        raise ShapeError(
            f"mask rows {empty[:5].tolist()} have no valid step, so attention has nothing to "
            "attend to; every row needs at least one True (drop empty sequences before batching)"
        )
    return mask


def attend(scores: Tensor, values: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """scores (B, T), values (B, T, Dv), mask (B, T) -> (context (B, Dv), weights (B, T))."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
        values = values.masked_fill(~mask[:, :, None], 0.0)  # padding never reaches the context
    weights = torch.softmax(scores, dim=1)  # (B, T)
    context = torch.bmm(weights[:, None, :], values).squeeze(1)  # (B, 1, T) @ (B, T, Dv)
    return context, weights


class _Attention(nn.Module):
    """Validation and the masked softmax; subclasses define `score(query, keys) -> (B, T)`."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.query_size = check_positive_int(query_size, "query_size")
        self.key_size = check_positive_int(key_size, "key_size")

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor | None = None,
        mask: Tensor | None = None,
        lengths: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """query (B, Dq), keys (B, T, Dk), values (B, T, Dv) -> (context (B, Dv), weights (B, T)).

        `mask` (B, T) marks the valid steps (True = real); `lengths` (B,) marks prefixes.
        """
        check_rank(check_float(query, "query"), 2, "query", "(batch, query_size)")
        check_size(query, 1, self.query_size, "query", "features")
        _check_sequence(keys, "keys", self.key_size, "key_size")
        if query.shape[0] != keys.shape[0]:
            raise ShapeError(
                f"query has batch size {query.shape[0]} but keys have {keys.shape[0]}"
            )
        if values is None:
            values = keys
        else:
            check_rank(check_float(values, "values"), 3, "values", "(batch, time, value_size)")
            if values.shape[:2] != keys.shape[:2]:
                raise ShapeError(
                    f"values have (batch, time) = {tuple(values.shape[:2])} but keys have "
                    f"{tuple(keys.shape[:2])}; they must describe the same steps"
                )
        mask = resolve_mask(keys, mask, lengths)
        return attend(self.score(query, keys), values, mask)


class AdditiveAttention(_Attention):
    """Bahdanau attention: score_t = vᵀ tanh(W_q q + W_k k_t + b).

    `attention_size` is the width of the tanh layer (default: key_size).
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None) -> None:
        super().__init__(query_size, key_size)
        size = key_size if attention_size is None else attention_size
        self.attention_size = check_positive_int(size, "attention_size")
        self.query_proj = nn.Linear(query_size, size, bias=False)  # W_q
        self.key_proj = nn.Linear(key_size, size)  # W_k, b
        self.v = nn.Linear(size, 1, bias=False)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        q = self.query_proj(query)[:, None, :]  # (B, 1, A)
        k = self.key_proj(keys)  # (B, T, A)
        return self.v(torch.tanh(q + k)).squeeze(2)  # (B, T)


class DotProductAttention(_Attention):
    """Luong attention: score_t = qᵀ k_t (or (W q)ᵀ k_t when `general`), / sqrt(Dk) if `scaled`.

    Without `general` the query and key sizes must match (key_size defaults to query_size).
    """

    def __init__(
        self,
        query_size: int,
        key_size: int | None = None,
        scaled: bool = True,
        general: bool = False,
    ) -> None:
        key_size = query_size if key_size is None else key_size
        super().__init__(query_size, key_size)
        if not general and query_size != key_size:
            raise ConfigError(
                f"dot-product attention needs query_size == key_size, got {query_size} and "
                f"{key_size}; pass general=True to learn a projection W (key_size, query_size)"
            )
        self.scaled = bool(scaled)
        self.general = bool(general)
        self.query_proj = nn.Linear(query_size, key_size, bias=False) if general else None

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        q = query if self.query_proj is None else self.query_proj(query)  # (B, Dk)
        scores = torch.bmm(keys, q[:, :, None]).squeeze(2)  # (B, T, Dk) @ (B, Dk, 1) -> (B, T)
        return scores / math.sqrt(self.key_size) if self.scaled else scores


class SelfAttentionPooling(nn.Module):
    """Pool a sequence into one vector with a learned query (Yang et al. 2016).

    score_t = uᵀ tanh(W x_t + b); x (B, T, D) -> (pooled (B, D), weights (B, T)).
    """

    def __init__(self, input_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        size = input_size if attention_size is None else attention_size
        self.attention_size = check_positive_int(size, "attention_size")
        self.proj = nn.Linear(input_size, size)  # W, b
        self.query = nn.Parameter(torch.empty(size))  # u
        nn.init.uniform_(self.query, -1 / math.sqrt(size), 1 / math.sqrt(size))

    def forward(
        self, x: Tensor, mask: Tensor | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """x (B, T, D), mask (B, T) or lengths (B,) -> (pooled (B, D), weights (B, T))."""
        _check_sequence(x, "x", self.input_size, "input_size")
        mask = resolve_mask(x, mask, lengths)
        scores = torch.tanh(self.proj(x)) @ self.query  # (B, T, A) @ (A,) -> (B, T)
        return attend(scores, x, mask)


def _check_sequence(x: Tensor, name: str, size: int, what: str) -> None:
    check_rank(check_float(x, name), 3, name, f"(batch, time, {what})")
    check_size(x, 2, size, name, "features")
    if x.shape[1] == 0:
        raise ShapeError(f"{name} has 0 time steps; there is nothing to attend to")
