"""Lag and rolling features: values, per-series shifting, causality, untouched input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.features import lag_features, rolling_features


def _two_series() -> pd.DataFrame:
    return pd.DataFrame(
        {"id": ["a", "b", "a", "b", "a", "b", "a", "b"], "y": [1.0, 10, 2, 20, 4, 40, 8, 80]},
        index=pd.Index([10, 11, 12, 13, 14, 15, 16, 17], name="row"),
    )


def test_lags_shift_within_each_series() -> None:
    frame = _two_series()
    original = frame.copy()
    lags = lag_features(frame, "y", [1, 2], by="id")
    assert list(lags.columns) == ["y_lag_1", "y_lag_2"]
    assert lags.index.equals(frame.index)
    np.testing.assert_array_equal(lags["y_lag_1"], [np.nan, np.nan, 1, 10, 2, 20, 4, 40])
    np.testing.assert_array_equal(lags["y_lag_2"], [np.nan] * 4 + [1, 10, 2, 20])
    pd.testing.assert_frame_equal(frame, original)


def test_lags_of_one_series_and_a_single_int() -> None:
    frame = pd.DataFrame({"y": [3.0, 4.0, 5.0]})
    lags = lag_features(frame, "y", 48)
    assert list(lags.columns) == ["y_lag_48"] and lags["y_lag_48"].isna().all()
    np.testing.assert_array_equal(lag_features(frame, "y", 1)["y_lag_1"], [np.nan, 3, 4])


def test_rolling_uses_only_earlier_rows_of_the_series() -> None:
    frame = _two_series()
    roll = rolling_features(frame, "y", [2], ("mean", "max", "sum"), by="id")
    assert list(roll.columns) == ["y_roll_mean_2", "y_roll_max_2", "y_roll_sum_2"]
    assert roll.index.equals(frame.index)
    np.testing.assert_array_equal(roll["y_roll_mean_2"], [np.nan] * 4 + [1.5, 15, 3, 30])
    np.testing.assert_array_equal(roll["y_roll_max_2"], [np.nan] * 4 + [2, 20, 4, 40])


def test_rolling_matches_pandas_on_one_series() -> None:
    y = pd.Series(np.random.default_rng(0).normal(size=50))
    roll = rolling_features(y.to_frame("y"), "y", [5], ("mean", "std", "min", "median"), shift=2)
    np.testing.assert_allclose(roll["y_roll_std_5"], y.shift(2).rolling(5).std(), equal_nan=True)
    np.testing.assert_allclose(
        roll["y_roll_median_5"], y.shift(2).rolling(5).median(), equal_nan=True
    )
    assert roll["y_roll_mean_5"].isna().sum() == 6  # 2 shifted + 4 before the window is full


def test_changing_the_future_changes_no_earlier_feature() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"id": np.repeat(["a", "b"], 30), "y": rng.normal(size=60)})
    before_roll = rolling_features(frame, "y", [3, 7], by="id")
    before_lag = lag_features(frame, "y", [1, 5], by="id")
    changed = frame.copy()
    t = 20  # row 20 of series "a"
    changed.loc[t, "y"] = 1e6
    after_roll = rolling_features(changed, "y", [3, 7], by="id")
    after_lag = lag_features(changed, "y", [1, 5], by="id")
    exact = {"check_exact": True}
    pd.testing.assert_frame_equal(after_roll.loc[:t], before_roll.loc[:t], **exact)
    pd.testing.assert_frame_equal(after_lag.loc[:t], before_lag.loc[:t], **exact)
    pd.testing.assert_frame_equal(after_roll.loc[30:], before_roll.loc[30:], **exact)  # "b"
    assert after_roll.loc[t + 1, "y_roll_mean_3"] != before_roll.loc[t + 1, "y_roll_mean_3"]


def test_duplicate_index_labels_keep_row_order() -> None:
    frame = _two_series().set_index(pd.Index([0, 0, 1, 1, 2, 2, 3, 3]))
    roll = rolling_features(frame, "y", 1, ("mean",), by="id")
    np.testing.assert_array_equal(roll["y_roll_mean_1"], [np.nan, np.nan, 1, 10, 2, 20, 4, 40])


def test_errors_name_the_problem() -> None:
    frame = _two_series()
    with pytest.raises(DataValidationError, match=r"\['demand'\] not in the frame"):
        lag_features(frame, "demand", 1)
    with pytest.raises(DataValidationError, match=r"\['store'\] not in the frame"):
        rolling_features(frame, "y", 2, by="store")
    with pytest.raises(ConfigError, match="lags must be integers >= 1"):
        lag_features(frame, "y", [0, 1])
    with pytest.raises(ConfigError, match="unknown rolling stat"):
        rolling_features(frame, "y", 2, ("mode",))
    frame.loc[12, "id"] = None
    with pytest.raises(DataValidationError, match="'id' is missing at row 2"):
        lag_features(frame, "y", 1, by="id")
