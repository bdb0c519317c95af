"""Data and tiny forecasters for the export tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmkit.data.loading import load_series
from lstmkit.export import forecaster_windows
from lstmkit.models.forecaster import LSTMForecaster


def hourly(n: int = 500, seed: int = 0) -> pd.DataFrame:
    """A daily cycle plus AR(1) noise, with a past-only and a known-future covariate."""
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.9 * noise[t - 1] + rng.normal(0, 0.3)
    t = np.arange(n)
    return pd.DataFrame({
        "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
        "y": 10 + np.sin(2 * np.pi * t / 24) + noise,
        "temp": np.cos(2 * np.pi * t / 24) + rng.normal(0, 0.1, n),
        "flag": ((t // 24) % 7 < 5).astype(float),
    })


def forecaster(**kw) -> LSTMForecaster:
    params = dict(lookback=24, horizon=6, hidden_size=12, num_layers=1, max_epochs=6,
                  batch_size=32, progress=False, seasonal_lags=[24], past_covariates=["temp"],
                  future_covariates=["flag"], validation_fraction=0.0, train_stride=2)
    params.update(kw)
    return LSTMForecaster(**params).fit(hourly(), target="y", time_col="ds")


def windows(model: LSTMForecaster, data: pd.DataFrame, n: int):
    """(design, origins, encoder, steps) of the last n origins of `data` that have actuals."""
    frame = load_series(data, time_col="ds", target="y",
                        covariates=["temp", "flag"]).frame
    design = model.design(frame)
    origins = design.origins(model.lookback, model.horizon, model.spec_.max_lag)[-n:]
    return (design, origins, *forecaster_windows(model, design, origins))
