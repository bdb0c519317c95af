"""lstmkit's `LSTMForecaster`, direct strategy, univariate: no seasonal lags, calendar or
Fourier terms (the peers get none), no scaler of its own (the harness standardises),
Adam (AdamW with weight decay 0), constant learning rate, no clipping, no validation split.

lstmkit trains whole epochs, not a number of optimisation steps: the epoch count is the one
that comes closest to `steps` (at least one epoch); `steps_done` reports the real count.

`lstmkit_defaults` is the same model with lstmkit's own input features left on (seasonal lags
"auto" — a year for monthly data, a day and a week for half-hourly — and calendar terms):
what a user gets by default, shown next to the configured-alike row.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from common import Task

from lstmkit.models.forecaster import LSTMForecaster


class LstmkitAdapter:
    """LSTMForecaster fitted on the fold's training rows; forecasts at every origin at once."""

    scaled = True

    def __init__(self, task: Task, features: bool = False) -> None:
        self.task = task
        self.features = features
        self.steps_done = 0
        self.model: LSTMForecaster | None = None

    def _frame(self, y: np.ndarray, ds: pd.DatetimeIndex) -> pd.DataFrame:
        return pd.DataFrame({"ds": ds, "y": y.astype("float32")})

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex) -> None:
        """Train for the whole number of epochs closest to `net.steps` optimisation steps."""
        net = self.task.net
        lags = _max_lag(self.task, net.horizon) if self.features else 0
        windows = len(y) - net.lookback - lags - net.horizon + 1
        per_epoch = math.ceil(windows / net.batch_size)
        epochs = max(1, round(net.steps / per_epoch))
        self.model = LSTMForecaster(
            lookback=net.lookback, horizon=net.horizon, strategy="direct",
            hidden_size=net.hidden_size, num_layers=net.num_layers,
            seasonal_lags="auto" if self.features else (), calendar=self.features,
            fourier=None, scaler="none", loss="mae", max_epochs=epochs,
            batch_size=net.batch_size, lr=net.lr, weight_decay=0.0, clip_norm=None,
            lr_schedule="constant", validation_fraction=0.0, seed=net.seed, device="cpu",
            progress=False,
        )
        self.model.fit(self._frame(y, ds), target="y", time_col="ds")
        self.steps_done = epochs * per_epoch

    def predict(self, y: np.ndarray, ds: pd.DatetimeIndex, origins: np.ndarray) -> np.ndarray:
        """One batched call over all origins (lstmkit reads rows < origin for each)."""
        assert self.model is not None
        end = int(origins.max()) + self.task.net.horizon
        frame = self._frame(y[:end], ds[:end])
        series = self.model._load(frame, "y", "ds", None, None, fitting=False)
        design = self.model.design(series.frame)
        return self.model.forecast_at(design, origins.astype(np.int64))


def _max_lag(task: Task, horizon: int) -> int:
    """Largest of lstmkit's automatic seasonal lags that a direct model uses."""
    from lstmkit.models.forecast_design import default_seasonal_lags

    return max((m for m in default_seasonal_lags(task.freq) if m >= horizon), default=0)


def make(name: str, task: Task) -> LstmkitAdapter:
    """The adapter for `run.py`."""
    return LstmkitAdapter(task, features=name == "lstmkit_defaults")
