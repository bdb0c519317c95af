"""Tiny fitted models shared by the export tests (trained once per session)."""

from __future__ import annotations

import numpy as np
import pytest
from export_models import forecaster

from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.models.sequence_classifier import SequenceClassifier


@pytest.fixture(scope="session")
def direct_quantile() -> LSTMForecaster:
    return forecaster(likelihood="quantile", quantiles=(0.1, 0.5, 0.9), num_layers=2)


@pytest.fixture(scope="session")
def seq2seq() -> LSTMForecaster:
    return forecaster(strategy="seq2seq", attention="additive", max_epochs=1, cell="gru")


@pytest.fixture(scope="session")
def recursive() -> LSTMForecaster:
    return forecaster(strategy="recursive", max_epochs=1, seasonal_lags=[3, 24])


@pytest.fixture(scope="session")
def gaussian_ensemble() -> LSTMForecaster:
    return forecaster(likelihood="gaussian", ensemble=2, max_epochs=1)


@pytest.fixture(scope="session")
def frames_classifier() -> SequenceClassifier:
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((int(rng.integers(4, 14)), 3)) + i % 2 for i in range(40)]
    return SequenceClassifier(hidden_size=8, max_epochs=2, pooling="mean",
                              progress=False).fit(X, ["up" if i % 2 else "down"
                                                      for i in range(40)])


@pytest.fixture(scope="session")
def tokens_classifier() -> SequenceClassifier:
    texts = ["good fine great", "bad awful", "great good", "awful bad poor", "fine", "poor"]
    return SequenceClassifier(hidden_size=8, embedding_dim=6, max_epochs=2, cell="gru",
                              bidirectional=True, pooling="attention",
                              progress=False).fit(texts, [1, 0, 1, 0, 1, 0])
