"""Probabilistic forecast heads and their losses.

A network emits `width` raw values per forecast step; these modules turn them into a
distribution and score it:

- quantiles: monotone by construction (the lowest quantile plus cumulative softplus
  increments), trained with the pinball loss averaged over quantiles and steps;
- Gaussian: mean and a softplus standard deviation, trained with the negative log-likelihood.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus

from lstmkit.errors import ConfigError

LIKELIHOODS = (None, "quantile", "gaussian")


def check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """Increasing, distinct levels strictly inside (0, 1), including the median."""
    levels = tuple(float(q) for q in quantiles)
    if not levels or any(not 0 < q < 1 for q in levels) or len(set(levels)) != len(levels):
        raise ConfigError(f"quantiles must be distinct levels in (0, 1), got {list(quantiles)}")
    if list(levels) != sorted(levels):
        raise ConfigError(f"quantiles must be in increasing order, got {list(quantiles)}; "
                          f"write them as {sorted(levels)}")
    if 0.5 not in levels:
        raise ConfigError(f"quantiles must include the median 0.5, got {list(quantiles)}")
    return levels


def head_width(likelihood: str | None, quantiles: Sequence[float]) -> int:
    """Raw values per step the network must emit."""
    if likelihood not in LIKELIHOODS:
        raise ConfigError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return {None: 1, "quantile": len(quantiles), "gaussian": 2}[likelihood]


def monotone_quantiles(raw: Tensor) -> Tensor:
    """(..., Q) raw values -> non-decreasing quantiles along the last axis."""
    if raw.shape[-1] == 1:
        return raw
    steps = softplus(raw[..., 1:])
    return torch.cat([raw[..., :1], raw[..., :1] + torch.cumsum(steps, dim=-1)], dim=-1)


def gaussian_parameters(raw: Tensor) -> tuple[Tensor, Tensor]:
    """(..., 2) raw values -> (mean, standard deviation > 0)."""
    return raw[..., 0], softplus(raw[..., 1]) + 1e-4


class PinballLoss(nn.Module):
    """Mean pinball (quantile) loss of (B, H, Q) quantile forecasts against (B, H) targets."""

    def __init__(self, quantiles: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("levels", torch.tensor(check_quantiles(quantiles)))

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        error = target[..., None] - prediction
        return torch.maximum(self.levels * error, (self.levels - 1) * error).mean()


class GaussianNLLLoss(nn.Module):
    """Mean Gaussian negative log-likelihood of (B, H, 2) raw outputs against (B, H)."""

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        mean, std = gaussian_parameters(prediction)
        return nn.functional.gaussian_nll_loss(mean, target, std**2, full=True)


class KnownTargetsLoss(nn.Module):
    """`loss` over the known (non-NaN) targets only: the mean over those steps of partial
    windows, whose unknown steps are NaN. Predictions are (B, H) or (B, H, K)."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        known = ~torch.isnan(target)
        if bool(known.all()):
            return self.loss(prediction, target)
        return self.loss(prediction[known], target[known])
