"""lstmkit's `LSTMForecaster`, direct strategy, univariate: no seasonal lags, calendar or
Fourier terms (the peers get none), no scaler of its own (the harness standardises),
Adam (AdamW with weight decay 0), constant learning rate, no clipping, no validation split,
`max_steps` optimisation steps like the peers.

`lstmkit_defaults` is the same model with lstmkit's own input features left on (seasonal lags
"auto" — a year for monthly data, a day and a week for half-hourly — and calendar terms):
what a user gets by default, shown next to the configured-alike row. `lstmkit_window_norm` is the
configured-alike model with `window_norm="standard"` (each window's target inputs
standardised by their own mean and standard deviation over the lookback, inverted on the
forecast) and `decoder_states="both"` (step k also reads the encoder state aligned with it).
`lstmkit_averaged` trains as NeuralForecast does with its per-window scaler,
`scaler_type="standard"` (the row `neuralforecast_window_scaled`) — the decoder reads only the
aligned states (`decoder_states="aligned"`), the loss is measured in each window's
standardised units (`window_loss=True`) and the windows whose horizon runs past the training
data count too (`partial_windows=True`) — and forecasts with the moving average of its
weights (`ema_decay=0.995`, warming up from a fast average), which NeuralForecast does not
have.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import Task

from lstmkit.models.forecaster import LSTMForecaster


class LstmkitAdapter:
    """LSTMForecaster fitted on the fold's training rows; forecasts at every origin at once
    (`predict_at`)."""

    scaled = True

    def __init__(self, task: Task, features: bool = False, options: dict | None = None
                 ) -> None:
        self.task = task
        self.features = features
        self.options = options or {}
        self.steps_done = 0
        self.model: LSTMForecaster | None = None

    def _frame(self, y: np.ndarray, ds: pd.DatetimeIndex) -> pd.DataFrame:
        return pd.DataFrame({"ds": ds, "y": y.astype("float32")})

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex) -> None:
        """Train for `net.steps` optimisation steps."""
        net = self.task.net
        self.model = LSTMForecaster(
            lookback=net.lookback, horizon=net.horizon, strategy="direct",
            hidden_size=net.hidden_size, num_layers=net.num_layers,
            seasonal_lags="auto" if self.features else (), calendar=self.features,
            fourier=None, scaler="none", loss="mae",
            max_steps=net.steps,
            batch_size=net.batch_size, lr=net.lr, weight_decay=0.0, clip_norm=None,
            lr_schedule="constant", validation_fraction=0.0, seed=net.seed, device="cpu",
            precision=net.precision, dropout=net.dropout, progress=False, **self.options,
        )
        self.model.fit(self._frame(y, ds), target="y", time_col="ds")
        self.steps_done = net.steps

    def predict(self, y: np.ndarray, ds: pd.Series, origins: np.ndarray) -> np.ndarray:
        """One batched call over all origins: the forecast at origin o has its cutoff at row
        o - 1 and reads rows < o only."""
        assert self.model is not None
        cutoffs = ds.iloc[origins - 1]
        out = self.model.predict_at(self._frame(y, ds), cutoffs)
        table = out.pivot(index="cutoff", columns="step", values="y")
        return table.loc[cutoffs.to_numpy()].to_numpy()


OPTIONS = {
    "lstmkit_window_norm": dict(window_norm="standard", decoder_states="both"),
    "lstmkit_averaged": dict(window_norm="standard", decoder_states="aligned", window_loss=True,
                             partial_windows=True, ema_decay=0.995),
}


def make(name: str, task: Task) -> LstmkitAdapter:
    """The adapter for `run.py`."""
    return LstmkitAdapter(task, features=name == "lstmkit_defaults", options=OPTIONS.get(name))
