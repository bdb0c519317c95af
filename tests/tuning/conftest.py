"""A small hourly series and base config shared by the tuning tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest


def write_series(path: Path, n: int = 300) -> Path:
    """Hourly series: a daily cycle plus a little noise (a model can learn it in 2 epochs)."""
    t = np.arange(n)
    rng = np.random.default_rng(0)
    pd.DataFrame({
        "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
        "y": 10 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n),
    }).to_csv(path, index=False)
    return path


@pytest.fixture
def base(tmp_path: Path) -> dict[str, Any]:
    """Base forecast options: tiny model, 2 folds, 2 epochs."""
    return {
        "data": str(write_series(tmp_path / "series.csv")), "horizon": 6, "lookback": 24,
        "seasonal_lags": [24], "calendar": False, "hidden_size": 8, "num_layers": 1,
        "max_epochs": 2, "batch_size": 32, "lr": 1e-2, "folds": 2, "fold_length": 12,
        "step": 6, "validation_fraction": 0.0,
    }
