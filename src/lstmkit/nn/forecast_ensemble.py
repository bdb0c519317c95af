"""`ForecastEnsemble`: several independently trained `ForecastNet`s that forecast as one.

Each member has its own initial weights and its own training run (seed `member_seed(seed,
i)`); the ensemble's output has the shape and meaning of one member's, so everything that
reads a forecaster's network (predict, backtests, conformal intervals, explanations, export)
reads the ensemble unchanged:

- point forecasts and quantiles: the members' mean (an average of monotone quantile
  curves stays monotone; quantile averaging);
- Gaussian (mean, raw scale): the Gaussian with the mean and variance of the equal-weight
  mixture of the members' Gaussians, in the same (mean, raw scale) form.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from lstmkit.nn.distribution import gaussian_parameters

_STD_FLOOR = 1e-4  # as in `gaussian_parameters`: std = softplus(raw) + 1e-4


def member_seed(seed: int, index: int) -> int:
    """The seed of ensemble member `index`: `seed` itself for the first (an ensemble of
    one is the single model), independent NumPy `SeedSequence` streams for the others."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**63, index]).generate_state(1, np.uint64)[0]
               % 2**63)


class ForecastEnsemble(nn.Module):
    """The members' forecasts combined into one forecast of the same shape."""

    def __init__(self, members: list[nn.Module], likelihood: str | None = None) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.likelihood = likelihood

    def forward(self, x_enc: Tensor, x_step: Tensor) -> Tensor:
        outputs = torch.stack([member(x_enc, x_step) for member in self.members])
        if self.likelihood != "gaussian":
            return outputs.mean(0)
        mean, std = gaussian_parameters(outputs)
        mixture_mean = mean.mean(0)
        # mixture variance: mean within-member variance + spread of the means (no
        # cancellation of large second moments)
        variance = std.square().mean(0) + (mean - mixture_mean).square().mean(0)
        spread = variance.sqrt().clamp_min(2 * _STD_FLOOR) - _STD_FLOOR
        return torch.stack([mixture_mean, _inverse_softplus(spread)], dim=-1)


def _inverse_softplus(x: Tensor) -> Tensor:
    """log(exp(x) - 1) for x > 0, from operators ONNX exports (log(x) + x/2 near 0)."""
    small = x < 1e-3
    safe = torch.where(small, torch.ones_like(x), x)
    return torch.where(small, torch.log(x) + x / 2, safe + torch.log(1 - torch.exp(-safe)))
