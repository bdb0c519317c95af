"""Technical indicators: published reference values, causality, per-series grouping, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.features import (
    bollinger,
    ema,
    indicator_columns,
    indicator_features,
    macd,
    realized_volatility,
    returns,
    rsi,
    sma,
    volume_features,
)

# StockCharts ChartSchool, "Moving Averages - Simple and Exponential": 10-day SMA and EMA
# of these closes (table cs-movavg); the EMA starts from the SMA of the first 10 closes.
MA_CLOSES = [22.27, 22.19, 22.08, 22.17, 22.18, 22.13, 22.23, 22.43, 22.24, 22.29, 22.15,
             22.39, 22.38, 22.61, 23.36, 24.05, 23.75, 23.83, 23.95, 23.63, 23.82, 23.87,
             23.65, 23.19, 23.10, 23.33, 22.68, 23.10, 22.40, 22.17]
MA_SMA10 = [22.22, 22.21, 22.23, 22.26, 22.30, 22.42, 22.61, 22.77, 22.91, 23.08, 23.21,
            23.38, 23.52, 23.65, 23.71, 23.68, 23.61, 23.51, 23.43, 23.28, 23.13]
MA_EMA10 = [22.22, 22.21, 22.24, 22.27, 22.33, 22.52, 22.80, 22.97, 23.13, 23.28, 23.34,
            23.43, 23.51, 23.53, 23.47, 23.40, 23.39, 23.26, 23.23, 23.08, 22.92]

# StockCharts ChartSchool, "Relative Strength Index (RSI)" worked example (cs-rsi, 14 days,
# Wilder smoothing). The RSI values are the example's, computed from these two-decimal closes
# (the ChartSchool table shows 70.53, 66.32, ... from unrounded closes such as 44.3389).
RSI_CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89,
              46.03, 45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25,
              45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13]
RSI_14 = [70.46, 66.25, 66.48, 69.35, 66.29, 57.92, 62.88, 63.21, 56.01, 62.34, 54.67, 50.39,
          40.02, 41.49, 41.90, 45.50, 37.32, 33.09, 37.79]
# The unrounded closes of the same example and ChartSchool's own first RSI values.
RSI_CLOSES_EXACT = [44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245,
                    45.8433, 46.0826, 45.8931, 46.0328, 45.614, 46.282, 46.282, 46.0028,
                    46.0328, 46.4116, 46.2222, 45.6439]
RSI_14_EXACT = [70.53, 66.32, 66.55, 69.41, 66.36, 57.97]

# StockCharts ChartSchool, "Bollinger Bands" (cs-bollinger, 20 days, 2 standard deviations):
# (middle, upper, lower) of the first and last three rows.
BB_CLOSES = [86.16, 89.09, 88.78, 90.32, 89.07, 91.15, 89.44, 89.17, 86.93, 87.68, 86.96,
             89.43, 89.32, 88.72, 87.45, 87.26, 89.50, 87.90, 89.13, 90.70, 92.90, 92.98,
             91.80, 92.66, 92.68, 92.30, 92.77, 92.54, 92.95, 93.20, 91.07, 89.83, 89.74,
             90.40, 90.74, 88.02, 88.09, 88.84, 90.78, 90.54, 91.39, 90.65]
BB_FIRST = [(88.71, 91.29, 86.12), (89.05, 91.95, 86.14), (89.24, 92.61, 85.87)]
BB_LAST = [(91.24, 94.53, 87.95), (91.17, 94.37, 87.96), (91.05, 94.15, 87.95)]


def frame(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"close": values})


def test_sma_and_ema_match_stockcharts() -> None:
    closes = frame(MA_CLOSES)
    assert sma(closes, window=10)["close_sma_10"].iloc[:9].isna().all()
    np.testing.assert_allclose(sma(closes, window=10)["close_sma_10"].iloc[9:], MA_SMA10,
                               atol=0.006)
    got = ema(closes, window=10)["close_ema_10"]
    assert got.iloc[:9].isna().all()
    assert got.iloc[9] == pytest.approx(np.mean(MA_CLOSES[:10]), abs=1e-12)
    np.testing.assert_allclose(got.iloc[9:], MA_EMA10, atol=0.006)


def test_rsi_matches_stockcharts_worked_example() -> None:
    got = rsi(frame(RSI_CLOSES), window=14)["close_rsi_14"]
    assert got.iloc[:14].isna().all()
    np.testing.assert_allclose(got.iloc[14:], RSI_14, atol=0.0051)
    exact = rsi(frame(RSI_CLOSES_EXACT), window=14)["close_rsi_14"].iloc[14:]
    np.testing.assert_allclose(exact, RSI_14_EXACT, atol=0.0051)


def test_rsi_is_100_without_losses_and_0_without_gains() -> None:
    up = rsi(frame(list(np.arange(1.0, 21.0))), window=5)["close_rsi_5"].iloc[5:]
    down = rsi(frame(list(np.arange(20.0, 0.0, -1.0))), window=5)["close_rsi_5"].iloc[5:]
    assert (up == 100.0).all() and (down == 0.0).all()


def test_bollinger_matches_stockcharts() -> None:
    bands = bollinger(frame(BB_CLOSES), window=20, width=2)
    columns = ["close_bb_mid_20", "close_bb_upper_20", "close_bb_lower_20"]
    assert bands[columns].iloc[:19].isna().all().all()
    np.testing.assert_allclose(bands[columns].iloc[19:22], BB_FIRST, atol=0.006)
    np.testing.assert_allclose(bands[columns].iloc[-3:], BB_LAST, atol=0.006)
    row = bands.iloc[-1]
    assert row["close_bb_pctb_20"] == pytest.approx(
        (BB_CLOSES[-1] - row["close_bb_lower_20"])
        / (row["close_bb_upper_20"] - row["close_bb_lower_20"]))


def test_macd_by_hand_on_a_short_series() -> None:
    # fast=2 (alpha 2/3), slow=3 (alpha 1/2), signal=2 (alpha 2/3), closes 1, 2, 4, 8, 16:
    # EMA2: -, 1.5, 3.1667, 6.3889, 12.7963; EMA3: -, -, 2.3333, 5.1667, 10.5833
    # MACD: -, -, 0.8333, 1.2222, 2.2130; signal seeded with mean(0.8333, 1.2222) = 1.0278,
    # then 1.0278 + 2/3 * (2.2130 - 1.0278) = 1.8179.
    got = macd(frame([1.0, 2.0, 4.0, 8.0, 16.0]), fast=2, slow=3, signal=2)
    np.testing.assert_allclose(got["close_macd"].iloc[2:], [5 / 6, 11 / 9, 239 / 108],
                               rtol=1e-12)
    seed = (5 / 6 + 11 / 9) / 2
    np.testing.assert_allclose(got["close_macd_signal"].iloc[3:],
                               [seed, seed + 2 / 3 * (239 / 108 - seed)], rtol=1e-12)
    np.testing.assert_allclose(got["close_macd_hist"],
                               got["close_macd"] - got["close_macd_signal"])


def test_macd_line_is_the_difference_of_reference_emas() -> None:
    closes = frame(MA_CLOSES)
    got = macd(closes, fast=3, slow=10, signal=4)["close_macd"]
    expected = ema(closes, window=3)["close_ema_3"] - ema(closes, window=10)["close_ema_10"]
    np.testing.assert_allclose(got, expected)


def test_returns_volatility_and_volume_by_hand() -> None:
    prices = frame([100.0, 110.0, 99.0, 99.0])
    np.testing.assert_allclose(returns(prices)["close_return_1"], [np.nan, 0.1, -0.1, 0.0])
    np.testing.assert_allclose(returns(prices, log=True)["close_logreturn_1"],
                               [np.nan, np.log(1.1), np.log(0.9), 0.0])
    np.testing.assert_allclose(returns(prices, periods=2)["close_return_2"],
                               [np.nan, np.nan, -0.01, -0.1])
    vol = realized_volatility(prices, window=2, annualize=None)["close_vol_2"]
    assert vol.iloc[2] == pytest.approx(np.std([np.log(1.1), np.log(0.9)], ddof=1))
    volume = pd.DataFrame({"volume": [10.0, 30.0, 20.0]})
    got = volume_features(volume, window=2)
    np.testing.assert_allclose(got["volume_ratio_2"], [np.nan, np.log(1.5), np.log(0.8)])


@pytest.mark.parametrize("indicator", [
    lambda f: sma(f, window=5), lambda f: ema(f, window=5), lambda f: rsi(f, window=5),
    lambda f: macd(f, fast=3, slow=6, signal=3), lambda f: bollinger(f, window=5),
    lambda f: realized_volatility(f, window=5), lambda f: returns(f, periods=3),
    lambda f: indicator_features(f, {"sma": [4], "rsi": [3], "macd": [2, 5, 3],
                                     "bollinger": [5, 2], "volume": [4], "returns": [1],
                                     "volatility": [3], "ema": [3]}),
])
def test_indicators_are_causal(indicator) -> None:
    rng = np.random.default_rng(0)
    prices = pd.DataFrame({"close": 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 60))),
                           "volume": rng.integers(1_000, 5_000, 60).astype(float)})
    before = indicator(prices)
    cut = 40
    perturbed = prices.copy()
    perturbed.loc[cut:, "close"] *= rng.uniform(0.5, 1.5, 60 - cut)
    perturbed.loc[cut:, "volume"] *= 3
    after = indicator(perturbed)
    pd.testing.assert_frame_equal(before.iloc[:cut], after.iloc[:cut], check_exact=True)
    assert not before.iloc[cut:].equals(after.iloc[cut:])


def test_series_are_computed_separately_by_unique_id() -> None:
    a, b = MA_CLOSES[:15], [x * 2 for x in MA_CLOSES[15:]]
    long = pd.DataFrame({"unique_id": ["a"] * 15 + ["b"] * 15, "close": a + b})
    got = ema(long, window=10)["close_ema_10"]
    alone = ema(frame(b), window=10)["close_ema_10"]
    np.testing.assert_allclose(got.iloc[15:], alone)
    np.testing.assert_allclose(got.iloc[:15], ema(frame(a), window=10)["close_ema_10"])
    tickers = long.rename(columns={"unique_id": "ticker"})
    np.testing.assert_allclose(rsi(tickers, window=3, by="ticker")["close_rsi_3"],
                               rsi(long, window=3)["close_rsi_3"])


def test_window_longer_than_the_data_is_rejected() -> None:
    with pytest.raises(DataValidationError, match=r"RSI\(14\).*only 10.*window <= 10"):
        rsi(frame(MA_CLOSES[:10]), window=14)
    long = pd.DataFrame({"unique_id": ["a"] * 25 + ["b"] * 5, "close": MA_CLOSES})
    with pytest.raises(DataValidationError, match="b has only 5"):
        sma(long, window=10)
    with pytest.raises(DataValidationError, match="MACD"):
        macd(frame(MA_CLOSES), fast=12, slow=26, signal=9)


def test_bad_settings_name_the_value() -> None:
    with pytest.raises(ConfigError, match="window must be an integer >= 1, got 0"):
        sma(frame(MA_CLOSES), window=0)
    with pytest.raises(ConfigError, match="fast < slow"):
        macd(frame(MA_CLOSES), fast=10, slow=5)
    with pytest.raises(ConfigError, match=r"unknown indicator\(s\) \['stoch'\]"):
        indicator_features(frame(MA_CLOSES), {"stoch": [14]})
    with pytest.raises(DataValidationError, match="column 'adj' not in the frame"):
        sma(frame(MA_CLOSES), "adj", 3)


def test_column_names_are_known_before_computing() -> None:
    spec = {"macd": [3, 6, 2], "bollinger": [5], "volatility": [4]}
    assert list(indicator_features(frame(MA_CLOSES), spec).columns) == indicator_columns(spec)
