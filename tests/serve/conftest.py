"""Tiny saved models and a real uvicorn server on loopback, shared by the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from serve_helpers import HORIZON, LIMITS, one_thread, running

from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.models.sequence_classifier import SequenceClassifier
from lstmkit.serve import create_app


@pytest.fixture(scope="session")
def series() -> pd.DataFrame:
    """Hourly series with a daily cycle, a past-only and a known-future covariate."""
    n = 400
    ds = pd.date_range("2024-01-01", periods=n, freq="h")
    rng = np.random.default_rng(0)
    workday = (ds.dayofweek < 5).astype(float)
    y = 10 + np.sin(np.arange(n) * 2 * np.pi / 24) + 0.5 * workday + rng.normal(0, 0.1, n)
    return pd.DataFrame({"ds": ds, "load": y, "temp": rng.normal(size=n), "workday": workday})


@pytest.fixture(scope="session")
def forecaster_dir(series: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved quantile forecaster with dropout (a train-mode leak would change answers)."""
    model = LSTMForecaster(
        lookback=12, horizon=HORIZON, seasonal_lags=[24], past_covariates=["temp"],
        future_covariates=["workday"], hidden_size=8, num_layers=2, dropout=0.3,
        likelihood="quantile", max_epochs=1, validation_fraction=0, progress=False)
    with one_thread():
        model.fit(series.iloc[:300], target="load", time_col="ds")
    return model.save(tmp_path_factory.mktemp("models") / "forecaster")


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = ["good fun film", "great acting", "bad plot", "boring and bad", "good", "awful"] * 5
    labels = ["pos", "pos", "neg", "neg", "pos", "neg"] * 5
    model = SequenceClassifier(hidden_size=8, embedding_dim=8, max_epochs=2, progress=False)
    with one_thread():
        model.fit(texts, labels)
    return model.save(tmp_path_factory.mktemp("models") / "classifier")


@pytest.fixture(scope="session")
def server(forecaster_dir: Path) -> Iterator[str]:
    """Base URL of the forecaster service (LIMITS) on loopback."""
    with running(create_app(forecaster_dir, LIMITS)) as url:
        yield url
