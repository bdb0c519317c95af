"""Calendar and holiday features: fractional hours, cycles, integer mode, holidays."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.features import calendar_features, holiday_features


def test_half_hours_count_as_fractions() -> None:
    ds = pd.Series(pd.to_datetime(["2024-03-02 13:30", "2024-03-03 00:00", "2024-03-04 23:30"]))
    plain = calendar_features(ds, ("hour", "dayofweek", "day", "is_weekend"), cyclical=False)
    np.testing.assert_array_equal(plain["hour"], [13.5, 0.0, 23.5])
    np.testing.assert_array_equal(plain["dayofweek"], [5, 6, 0])
    np.testing.assert_array_equal(plain["day"], [2, 3, 4])
    np.testing.assert_array_equal(plain["is_weekend"], [1, 1, 0])
    assert plain["dayofweek"].dtype == np.int64 and plain["is_weekend"].dtype == np.int64


def test_cyclical_columns_follow_their_cycle() -> None:
    ds = pd.date_range("2023-01-01 06:00", periods=3, freq="6h")
    cyc = calendar_features(ds, ("hour", "month", "dayofyear"))
    assert list(cyc.columns) == [
        "hour_sin",
        "hour_cos",
        "month_sin",
        "month_cos",
        "dayofyear_sin",
        "dayofyear_cos",
    ]
    assert cyc.index.equals(ds)
    np.testing.assert_allclose(cyc["hour_sin"], [1.0, 0.0, -1.0], atol=1e-15)
    np.testing.assert_allclose(cyc["hour_cos"], [0.0, -1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(cyc[["month_sin", "month_cos"]].iloc[0], [0.0, 1.0])  # January


def test_year_end_sits_next_to_year_start() -> None:
    ds = pd.Series(pd.to_datetime(["2023-12-31", "2024-01-01", "2024-12-31"]), index=[7, 8, 9])
    cyc = calendar_features(ds, ("dayofyear",))
    assert list(cyc.index) == [7, 8, 9]
    np.testing.assert_allclose(
        cyc["dayofyear_sin"], np.sin(2 * np.pi * np.array([364 / 365, 0.0, 365 / 366]))
    )
    gap = np.hypot(*(cyc.iloc[0] - cyc.iloc[1]))
    assert gap < 2 * np.sin(np.pi / 365) + 1e-12  # one day apart on the circle


def test_time_zone_aware_stamps_use_local_time() -> None:
    ds = pd.Series(pd.date_range("2024-06-01 09:30", periods=2, freq="h", tz="Australia/Sydney"))
    np.testing.assert_array_equal(
        calendar_features(ds, ("hour",), cyclical=False)["hour"], [9.5, 10.5]
    )


def test_input_is_not_mutated_and_errors() -> None:
    ds = pd.Series(pd.to_datetime(["2024-01-01", None]))
    with pytest.raises(DataValidationError, match="row 1 is missing"):
        calendar_features(ds)
    with pytest.raises(DataValidationError, match="pd.to_datetime"):
        calendar_features(pd.Series(["2024-01-01"]))
    with pytest.raises(ConfigError, match="unknown calendar feature"):
        calendar_features(pd.date_range("2024-01-01", periods=2), ("week",))


def test_holidays_in_victoria() -> None:
    pytest.importorskip("holidays")
    ds = pd.Series(pd.date_range("2024-12-24 12:00", periods=4, freq="D"))
    flags = holiday_features(ds, "AU", subdiv="VIC")
    np.testing.assert_array_equal(flags["is_holiday"], [0, 1, 1, 0])
    cup = holiday_features(pd.DatetimeIndex(["2024-11-05"]), "AU", subdiv="VIC")
    assert cup["is_holiday"].iloc[0] == 1  # Melbourne Cup day: VIC only
    assert (
        holiday_features(pd.DatetimeIndex(["2024-11-05"]), "AU", "NSW")["is_holiday"].iloc[0] == 0
    )
    with pytest.raises(ConfigError, match="country='XX'"):
        holiday_features(ds, "XX")


def test_holidays_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(ConfigError, match="pip install holidays"):
        holiday_features(pd.date_range("2024-01-01", periods=2), "AU")
