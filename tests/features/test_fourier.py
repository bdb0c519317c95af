"""Fourier terms depend on absolute time only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.errors import ConfigError
from lstmkit.features import fourier_features


def test_columns_and_definition() -> None:
    ds = pd.Series(pd.date_range("1970-01-01", periods=4, freq="30min"))
    terms = fourier_features(ds, {48: 2, 336: 1}, "30min")
    assert list(terms.columns) == [
        "sin1_48",
        "cos1_48",
        "sin2_48",
        "cos2_48",
        "sin1_336",
        "cos1_336",
    ]
    t = np.arange(4)
    np.testing.assert_allclose(terms["sin2_48"], np.sin(2 * np.pi * 2 * t / 48), atol=1e-15)
    np.testing.assert_allclose(terms["cos1_336"], np.cos(2 * np.pi * t / 336), atol=1e-15)


def test_values_do_not_depend_on_the_frame() -> None:
    full = pd.date_range("2024-01-01", periods=500, freq="30min")
    whole = fourier_features(full, {48: 3, 336: 2}, "30min")
    test_part = fourier_features(full[400:], {48: 3, 336: 2}, "30min")
    future = fourier_features(pd.DatetimeIndex([full[450]]), {48: 3, 336: 2}, "30min")
    pd.testing.assert_frame_equal(test_part, whole.iloc[400:])
    pd.testing.assert_frame_equal(future, whole.iloc[[450]], check_freq=False)


def test_period_48_on_half_hours_repeats_daily() -> None:
    ds = pd.Series(pd.date_range("2024-05-01", periods=48 * 3, freq="30min"))
    terms = fourier_features(ds, {48: 2}, "30min").to_numpy()
    np.testing.assert_array_equal(terms[:48], terms[48:96])
    np.testing.assert_array_equal(terms[:48], terms[96:])
    assert not np.allclose(terms[0], terms[1])
    # the same time of day on a far-away date gets the same values
    later = fourier_features(pd.DatetimeIndex(["2031-09-17 00:00"]), {48: 2}, "30min")
    np.testing.assert_allclose(later.to_numpy()[0], terms[0], atol=1e-12)


def test_hourly_frequency_and_index_alignment() -> None:
    ds = pd.Series(pd.date_range("2024-01-01 06:00", periods=3, freq="h"), index=[5, 6, 7])
    terms = fourier_features(ds, {24: 1}, "h")
    assert list(terms.index) == [5, 6, 7]
    np.testing.assert_allclose(
        terms["sin1_24"], [1.0, np.sin(2 * np.pi * 7 / 24), np.sin(2 * np.pi * 8 / 24)]
    )


def test_monthly_data_counts_months() -> None:
    ds = pd.date_range("2019-01-01", periods=25, freq="MS")
    terms = fourier_features(ds, {12: 1}, "MS")
    np.testing.assert_allclose(terms["sin1_12"].iloc[:12], terms["sin1_12"].iloc[12:24])
    np.testing.assert_allclose(terms.iloc[0], [0.0, 1.0], atol=1e-15)  # January: month 0


def test_errors() -> None:
    ds = pd.date_range("2024-01-01", periods=3, freq="D")
    with pytest.raises(ConfigError, match="between 1 and period/2 = 3.5"):
        fourier_features(ds, {7: 4}, "D")
    with pytest.raises(ConfigError, match="not a pandas frequency"):
        fourier_features(ds, {7: 1}, "fortnight")
    with pytest.raises(ConfigError, match="no fixed step"):
        fourier_features(ds, {5: 1}, "B")
    with pytest.raises(ConfigError, match="periods is empty"):
        fourier_features(ds, {}, "D")
