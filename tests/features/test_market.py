"""Market frames: business-day grid of several tickers, related returns, dated joins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmkit.errors import ConfigError, DataValidationError, LstmkitError
from lstmkit.features import asset_columns, asset_features, join_dated
from lstmkit.features.market import load_prices, market_columns, market_frame


def stock_prices(days: int = 40) -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", periods=days)
    dates = dates[dates != pd.Timestamp("2020-01-20")]  # a holiday: no trades
    rng = np.random.default_rng(1)
    parts = []
    for ticker in ("AAA", "BBB"):
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, len(dates))))
        parts.append(pd.DataFrame({"ticker": ticker, "ds": dates, "adj_close": close,
                                   "volume": rng.integers(1e5, 1e6, len(dates))}))
    return pd.concat(parts, ignore_index=True)


def test_asset_features_fill_holidays_with_zero_returns_and_join_related_assets() -> None:
    prices = stock_prices()
    spec = {"returns": [1], "rsi": [5], "sma": [5], "volume": [5]}
    out = asset_features(prices, ["AAA", "BBB"], indicators=spec)
    assert out["ds"].diff().dropna().max() <= pd.Timedelta(days=3)  # business days
    holiday = out.index[out["ds"] == pd.Timestamp("2020-01-20")][0]
    assert out.loc[holiday, "logreturn"] == 0.0
    assert out.loc[holiday, "price"] == out.loc[holiday - 1, "price"]
    assert {"logreturn", "rsi_5", "price_to_sma_5", "volume_ratio_5", "BBB_logreturn_1",
            "BBB_logreturn_5"} <= set(out.columns)
    assert not out.isna().any().any()
    aaa = prices[prices["ticker"] == "AAA"].set_index("ds")["adj_close"]
    day = pd.Timestamp("2020-01-21")  # after the holiday: the return since the last trade
    row = out.set_index("ds").loc[day]
    assert row["logreturn"] == pytest.approx(np.log(aaa[day] / aaa[pd.Timestamp("2020-01-17")]))


def test_column_names_are_known_before_computing() -> None:
    prices = stock_prices(80)
    out = asset_features(prices, ["AAA", "BBB"])
    assert list(out.columns) == ["ds", "price", "logreturn", *asset_columns(["AAA", "BBB"])]


def test_asset_features_errors() -> None:
    prices = stock_prices()
    with pytest.raises(ConfigError, match=r"unknown ticker\(s\) \['ZZZ'\]; available: "
                                          r"\['AAA', 'BBB'\]"):
        asset_features(prices, ["AAA", "ZZZ"])
    with pytest.raises(LstmkitError, match="needs 50 rows"):
        asset_features(prices, ["AAA"], indicators={"sma": [50]})


def test_join_dated_is_an_as_of_join() -> None:
    days = pd.DataFrame({"ds": pd.bdate_range("2021-03-01", periods=5)})
    dated = pd.DataFrame({"date": ["2021-03-02", "2021-03-04", "2021-03-06"],
                          "sentiment": [0.5, -1.0, 9.0]})
    got = join_dated(days, dated)
    np.testing.assert_array_equal(got["sentiment"], [0.0, 0.5, 0.5, -1.0, -1.0])
    with pytest.raises(DataValidationError, match="no 'date' column"):
        join_dated(days, dated.rename(columns={"date": "when"}))
    with pytest.raises(DataValidationError, match="missing values"):
        join_dated(days, dated.assign(sentiment=[0.1, None, 0.2]))


def test_market_frame_reads_prices_and_joins_the_dated_csv(tmp_path: Path) -> None:
    prices = stock_prices(80)
    data, sentiment = tmp_path / "prices.csv", tmp_path / "sentiment.csv"
    prices.assign(ds=prices["ds"].dt.strftime("%Y-%m-%d")).to_csv(data, index=False)
    dated = pd.DataFrame({"day": ["2020-02-03", "2020-03-02"], "mood": [0.5, -0.25]})
    dated.to_csv(sentiment, index=False)
    got = market_frame(["AAA", "BBB"], data=data, sentiment=sentiment)
    want = join_dated(asset_features(prices, ["AAA", "BBB"]), dated, date_col="day")
    pd.testing.assert_frame_equal(got, want)
    assert list(got.columns[3:]) == market_columns(["AAA", "BBB"], sentiment=sentiment)


def test_market_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    one_column = tmp_path / "dates.csv"
    one_column.write_text("date\n2020-01-02\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"sentiment .*dates.csv has columns \['date'\]"):
        market_columns(["AAA"], sentiment=one_column)
    with pytest.raises(DataValidationError, match="cannot read sentiment"):
        market_columns(["AAA"], sentiment=tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="give the prices"):
        load_prices(["AAA"])
    with pytest.raises(ConfigError, match="not both"):
        load_prices(["AAA"], data="prices.csv", dataset="stocks")
