"""The recursive strategy's loop as one graph, for export.

`LSTMForecaster._recursive` runs its one-step network `horizon` times, feeding each forecast
back as the target (and as its seasonal lags) of the later steps, with past-only covariates
held at their last observed value. `RecursiveUnroll` does the same with tensor operations, so
the exporter can unroll it (the horizon is fixed) and the caller feeds one window:

    encoder (B, lookback + horizon, Fe): rows o - lookback .. o + horizon - 1 of the design
    steps   (B, horizon, Fd):            rows o .. o + horizon - 1
    ->      (B, horizon) scaled point forecasts

The target, its lags and the past-only covariates of the horizon rows are overwritten, so
their values do not matter (the design holds them as 0 for unknown rows).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RecursiveUnroll(nn.Module):
    """`horizon` one-step forecasts of `net`, each fed back into the later steps' inputs."""

    def __init__(self, net: nn.Module, lookback: int, horizon: int,
                 seasonal_lags: tuple[int, ...], n_past: int) -> None:
        super().__init__()
        self.net = net
        self.lookback, self.horizon = lookback, horizon
        self.seasonal_lags = seasonal_lags
        first = 1 + len(seasonal_lags)
        self.past = slice(first, first + n_past)

    def forward(self, encoder: Tensor, steps: Tensor) -> Tensor:
        L, H = self.lookback, self.horizon
        enc, step = encoder.clone(), steps.clone()
        if self.past.stop > self.past.start:
            held = enc[:, L - 1:L, self.past]
            enc[:, L:, self.past] = held.expand(-1, H, -1)
        out = []
        for j in range(H):
            pred = self.net(enc[:, j:j + L], step[:, j:j + 1])[:, 0]  # (B,)
            out.append(pred)
            enc[:, L + j, 0] = pred
            for k, m in enumerate(self.seasonal_lags):
                if j + m < H:
                    enc[:, L + j + m, 1 + k] = pred
                    step[:, j + m, k] = pred
        return torch.stack(out, dim=1)
