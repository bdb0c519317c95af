"""The floor: a plain PyTorch training loop of the network NeuralForecast's `LSTM` builds
with its per-window scaler — `torch.nn.LSTM` over the lookback, an MLP (one hidden layer of
`mlp_size`, ReLU) on each of the last `horizon` hidden states, every window standardised by
its own lookback's mean and standard deviation, MAE in those units — with no library around
it: Adam at `lr`, `steps` batches of `batch_size` windows drawn uniformly at random from the
fold's training part, glibc's allocator left as it is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from common import Task
from torch import Tensor, nn

_EPS = 1e-5  # the variance floor of a flat window


class AlignedLSTM(nn.Module):
    """nn.LSTM encoder; step k of the horizon decoded from the hidden state k steps after the
    one `horizon` steps before the end."""

    def __init__(self, hidden: int, layers: int, mlp: int, horizon: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.horizon = horizon
        self.lstm = nn.LSTM(1, hidden, layers, batch_first=True, dropout=dropout)
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp), nn.ReLU(), nn.Linear(mlp, 1))

    def forward(self, z: Tensor) -> Tensor:
        """(B, lookback) standardised windows -> (B, horizon) in the same units."""
        states, _ = self.lstm(z[..., None])
        return self.mlp(states[:, -self.horizon:]).squeeze(-1)


def _standardised(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    level = x.mean(dim=1, keepdim=True)
    scale = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + _EPS)
    return (x - level) / scale, level, scale


class TorchAdapter:
    """Raw `torch.nn.LSTM` training loop (the speed floor)."""

    scaled = True

    def __init__(self, task: Task) -> None:
        self.task = task
        self.steps_done = 0
        self.model: AlignedLSTM | None = None

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex) -> None:
        """`steps` Adam steps on random full windows of `y`."""
        net = self.task.net
        torch.manual_seed(net.seed)
        model = AlignedLSTM(net.hidden_size, net.num_layers, net.mlp_size, net.horizon,
                            net.dropout)
        optimiser = torch.optim.Adam(model.parameters(), lr=net.lr)
        series = torch.as_tensor(y, dtype=torch.float32)
        span = net.lookback + net.horizon
        offsets = torch.arange(span)
        for _ in range(net.steps):
            starts = torch.randint(0, len(series) - span + 1, (net.batch_size,))
            windows = series[starts[:, None] + offsets]  # (B, lookback + horizon)
            x, level, scale = _standardised(windows[:, :net.lookback])
            target = (windows[:, net.lookback:] - level) / scale
            with torch.autocast("cpu", torch.bfloat16, enabled=net.precision == "bfloat16"):
                loss = (model(x) - target).abs().mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        self.model = model.eval()  # dropout off for forecasting
        self.steps_done = net.steps

    @torch.no_grad()
    def predict(self, y: np.ndarray, ds: pd.DatetimeIndex, origins: np.ndarray) -> np.ndarray:
        """Forecast `horizon` steps after y[:o] for every origin o, in one batch."""
        assert self.model is not None
        lookback = self.task.net.lookback
        series = torch.as_tensor(y, dtype=torch.float32)
        rows = torch.as_tensor(origins)[:, None] - lookback + torch.arange(lookback)
        x, level, scale = _standardised(series[rows])
        return (self.model(x) * scale + level).double().numpy()


def make(name: str, task: Task) -> TorchAdapter:
    """The adapter for `run.py`."""
    return TorchAdapter(task)
