"""Small daily series and a tiny model shared by the federated tests."""

import numpy as np
import pandas as pd
import pytest

PARAMS = dict(lookback=24, horizon=6, hidden_size=8, num_layers=1, seasonal_lags=[12],
              batch_size=32, lr=0.01, calendar=False, seed=0)


def frame(ids=("a", "b"), n=120):
    """One seasonal series per id, in the long layout with an `id` column."""
    t = np.arange(n)
    parts = [pd.DataFrame({"id": uid, "ds": pd.date_range("2020-01-01", periods=n, freq="D"),
                           "y": 5 * k + np.sin(2 * np.pi * t / 12) + 0.01 * t})
             for k, uid in enumerate(ids, start=1)]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def params():
    return dict(PARAMS)


@pytest.fixture
def make_frame():
    return frame
