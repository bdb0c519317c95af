"""Small forecasters fitted once for the explanation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit import LSTMForecaster

N_ROWS, N_TRAIN = 700, 500


def driven_series(n: int = N_ROWS, seed: int = 0) -> pd.DataFrame:
    """y_t = 2 x_{t-1} + small noise; x and the distractor z are white noise."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = np.r_[0.0, 2.0 * x[:-1]] + rng.normal(0.0, 0.05, n)
    ds = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"ds": ds, "y": y, "x": x, "z": z})


def fitted(**kw: object) -> LSTMForecaster:
    params: dict[str, object] = dict(
        lookback=8, horizon=1, hidden_size=16, num_layers=1, max_epochs=12, batch_size=64,
        seasonal_lags=[], calendar=False, past_covariates=["x", "z"], progress=False,
        validation_fraction=0.0, seed=0)
    params.update(kw)
    torch.set_num_threads(1)
    return LSTMForecaster(**params).fit(driven_series().iloc[:N_TRAIN])


@pytest.fixture(scope="session")
def make_model():
    """The factory above, for tests that need another configuration."""
    return fitted


@pytest.fixture(scope="session")
def data() -> pd.DataFrame:
    """Rows after the training part, plus the lookback before them."""
    return driven_series().iloc[N_TRAIN - 20:].reset_index(drop=True)


@pytest.fixture(scope="session")
def direct_model() -> LSTMForecaster:
    """Direct strategy with additive attention, one step ahead."""
    return fitted(attention="additive")


@pytest.fixture(scope="session")
def seq2seq_model() -> LSTMForecaster:
    """Seq2seq with dot-product attention, two steps ahead (short training)."""
    return fitted(strategy="seq2seq", attention="dot", horizon=2, max_epochs=3)
