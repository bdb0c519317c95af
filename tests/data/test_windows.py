"""Sliding windows are views; origins respect lookback, horizon, bounds and stride."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.data.windows import sliding_windows, window_origins
from lstmkit.errors import ConfigError, DataValidationError


def test_numpy_windows_are_views_with_the_right_values() -> None:
    values = np.arange(30.0).reshape(10, 3)
    windows = sliding_windows(values, 4, stride=3)
    assert windows.shape == (3, 4, 3)
    assert np.shares_memory(windows, values)
    for i in range(3):
        np.testing.assert_array_equal(windows[i], values[3 * i : 3 * i + 4])


def test_torch_windows_share_storage() -> None:
    values = torch.arange(24.0).reshape(12, 2)
    windows = sliding_windows(values, 5, stride=2)
    assert windows.shape == (4, 5, 2)
    assert windows.untyped_storage().data_ptr() == values.untyped_storage().data_ptr()
    torch.testing.assert_close(windows[3], values[6:11])
    values[6, 0] = -1.0  # a view sees the change
    assert windows[3, 0, 0].item() == -1.0 and windows[2, 2, 0].item() == -1.0


def test_one_dimensional_and_numpy_torch_agree() -> None:
    y = np.arange(7.0)
    windows = sliding_windows(y, 3)
    np.testing.assert_array_equal(windows, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]])
    np.testing.assert_array_equal(sliding_windows(torch.from_numpy(y), 3).numpy(), windows)


def test_many_windows_cost_no_memory() -> None:
    values = np.zeros((100_000, 8))
    windows = sliding_windows(values, 1_000)
    assert windows.shape == (99_001, 1_000, 8)
    assert np.shares_memory(windows, values)
    assert windows.base is not None and windows.strides[:2] == (64, 64)


def test_window_errors() -> None:
    with pytest.raises(DataValidationError, match="at least window = 5 rows, got 4"):
        sliding_windows(np.zeros(4), 5)
    with pytest.raises(ConfigError, match="stride must be an integer >= 1"):
        sliding_windows(np.zeros(4), 2, stride=0)


def test_origins_cover_every_valid_split() -> None:
    origins = window_origins(10, lookback=3, horizon=2)
    np.testing.assert_array_equal(origins, [3, 4, 5, 6, 7, 8])
    assert origins.dtype == np.int64


def test_origins_stride_is_aligned_on_the_last_origin() -> None:
    np.testing.assert_array_equal(window_origins(10, 3, 2, stride=2), [4, 6, 8])
    np.testing.assert_array_equal(window_origins(10, 3, 2, stride=4), [4, 8])
    np.testing.assert_array_equal(window_origins(10, 3, 2, stride=100), [8])


def test_origins_respect_start_and_end() -> None:
    origins = window_origins(100, lookback=5, horizon=3, start=20, end=40)
    assert origins[0] == 25 and origins[-1] == 37
    assert np.all(origins - 5 >= 20) and np.all(origins + 3 <= 40)


def test_origin_for_forecasting_past_the_end() -> None:
    assert window_origins(10, lookback=4, horizon=0)[-1] == 10


def test_origins_and_windows_line_up() -> None:
    values = np.arange(20.0)
    lookback, horizon = 4, 3
    origins = window_origins(len(values), lookback, horizon, stride=2)
    windows = sliding_windows(values, lookback + horizon)
    chosen = windows[origins - lookback]
    np.testing.assert_array_equal(chosen[:, :lookback], values[origins[:, None] - [4, 3, 2, 1]])
    np.testing.assert_array_equal(chosen[:, lookback:], values[origins[:, None] + [0, 1, 2]])


def test_too_short_series_is_reported() -> None:
    message = r"needs at least lookback\+horizon = 8 rows, got 7"
    with pytest.raises(DataValidationError, match=message):
        window_origins(7, lookback=5, horizon=3)
    with pytest.raises(DataValidationError, match="= 8 rows, got 6"):
        window_origins(100, lookback=5, horizon=3, start=50, end=56)
    with pytest.raises(ConfigError, match="start <= end"):
        window_origins(10, 2, 1, start=5, end=3)
