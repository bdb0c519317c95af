"""The stock case study: market configs of the forecast job, its CLI run and the classic
price-level script, on a short date range with tiny models."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lstmkit.cli import app
from lstmkit.data.datasets import stock_prices
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.forecast_job import ForecastConfig

pytest.importorskip("bokeh_sampledata")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stocks"
TINY = {
    "dataset": "stocks", "tickers": ["AAPL", "IBM"], "target": "logreturn",
    "indicators": {"returns": [1], "rsi": [14], "macd": [12, 26, 9], "bollinger": [20, 2],
                   "volume": [20]},
    "start": "2012-09-03", "end": "2013-01-31", "horizon": 1, "lookback": 10,
    "seasonal_lags": [], "calendar": False, "hidden_size": 4, "num_layers": 1,
    "max_epochs": 1, "folds": 2, "fold_length": 10, "step": 1, "season": 1,
    "baselines": ["zero", "naive", "ridge_covariates"], "metrics": ["mae", "rmse", "mase"],
    "trading_cost_bps": 10, "backtest_only": True,
}


def test_market_frame_on_business_days_with_holidays_as_zero_returns() -> None:
    series = ForecastConfig.from_dict(TINY).load_data()
    frame = series.frame
    assert series.freq == "B" and frame["ds"].iloc[0] == pd.Timestamp("2012-09-03")
    christmas = frame.set_index("ds").loc[pd.Timestamp("2012-12-25")]
    assert christmas["y"] == 0.0  # the exchange was closed: price carried forward
    aapl = stock_prices(["AAPL"]).set_index("ds")["adj_close"]
    day, before = pd.Timestamp("2012-12-26"), pd.Timestamp("2012-12-24")
    assert frame.set_index("ds").loc[day, "y"] == pytest.approx(np.log(aapl[day] / aapl[before]))
    assert {"rsi_14", "macd_hist", "bb_pctb_20", "IBM_logreturn_1"} <= set(series.covariates)


def test_cli_run_scores_every_model_and_the_strategy(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["forecast", "--config", str(config), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "long/flat" in result.output
    forecasts = pd.read_csv(out / "forecasts.csv", parse_dates=["time"])
    assert set(forecasts["model"]) == {"lstm", "zero", "naive", "ridge_covariates"}
    assert (forecasts.groupby("model").size() == 20).all()
    zero = forecasts[forecasts["model"] == "zero"]
    metrics = pd.read_csv(out / "metrics.csv")
    zero_mae = metrics[(metrics["model"] == "zero") & (metrics["metric"] == "mae")]
    expected = zero.groupby("fold")["actual"].apply(lambda a: a.abs().mean())
    np.testing.assert_allclose(zero_mae.sort_values("fold")["value"], expected)
    trading = pd.read_csv(out / "trading.csv").set_index("model")
    simple = np.expm1(zero.sort_values("time")["actual"].to_numpy())
    hold = (1 + simple[0] - 10 / 1e4) * np.prod(1 + simple[1:]) - 1  # one trade: entering
    assert trading.loc["buy_and_hold", "total_return"] == pytest.approx(hold)
    assert trading.loc["zero", "trades"] == 0 and trading.loc["zero", "total_return"] == 0
    assert {"hit_rate", "sharpe"} <= set(metrics["metric"])
    saved = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert ForecastConfig.from_dict(saved) == ForecastConfig.from_dict(TINY)


def test_cli_options_override_the_market_config(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    result = CliRunner().invoke(app, ["forecast", "--config", str(config), "--ticker", "AAPL",
                                      "--ticker", "NFLX", "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "unknown ticker(s) ['NFLX']" in result.output and "'MSFT'" in result.output


def test_the_example_config_round_trips_and_uses_the_sentiment_slot() -> None:
    config = ForecastConfig.from_yaml(EXAMPLES / "forecast.yaml")
    assert ForecastConfig.from_dict(config.to_dict()) == config
    covariates = config.covariates()
    assert "sentiment_proxy" in covariates and "logreturn" not in covariates
    assert {"GOOG_logreturn_5", "vol_20", "price_to_sma_50", "volume_z_20"} <= set(covariates)


def test_a_users_sentiment_csv_joins_as_a_past_covariate(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.csv"
    pd.DataFrame({"date": ["2012-09-04", "2012-09-10"], "news_score": [0.3, -0.7]}).to_csv(
        path, index=False)
    series = ForecastConfig.from_dict({**TINY, "sentiment": str(path)}).load_data()
    assert "news_score" in series.covariates
    by_day = series.frame.set_index("ds")["news_score"]
    assert by_day["2012-09-03"] == 0.0 and by_day["2012-09-07"] == 0.3
    assert by_day["2012-09-10"] == -0.7 and by_day["2013-01-31"] == -0.7


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"tickers": ["AAPL", "TSLA"]}, ConfigError,
     r"unknown ticker\(s\) \['TSLA'\]; the stocks dataset has \['AAPL', 'GOOG', 'IBM', 'MSFT'\]"),
    ({"indicators": {"sma": [5000]}}, DataValidationError, r"SMA\(5000\).*window <="),
    ({"indicators": {"stoch": [14]}}, ConfigError, r"unknown indicator\(s\) \['stoch'\]"),
    ({"start": "2020-01-01", "end": None}, DataValidationError,
     "no rows between start=2020-01-01"),
    ({"target": "close"}, DataValidationError, "close"),
])
def test_bad_market_options_are_named(change: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ForecastConfig.from_dict({**TINY, **change}).load_data()


def test_bad_trading_and_sentiment_options_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="horizon=5: set horizon 1"):
        ForecastConfig.from_dict({**TINY, "horizon": 5})
    with pytest.raises(ConfigError, match="give tickers too"):
        ForecastConfig.from_dict({**TINY, "tickers": [], "sentiment": "s.csv"})
    one_column = tmp_path / "dates.csv"
    one_column.write_text("date\n2012-09-04\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="needs a date column first"):
        ForecastConfig.from_dict({**TINY, "sentiment": str(one_column)}).load_data()


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_classic_price_level_script_writes_the_figure_and_an_honest_table(
        tmp_path: Path) -> None:
    classic = load_script("classic_price_level")
    table = classic.run(tmp_path, epochs=1, start="2012-06-01", end="2013-03-01")
    assert (tmp_path / "classic_price_level.png").stat().st_size > 10_000
    assert (tmp_path / "classic_price_level.md").read_text().startswith("| forecast |")
    series = classic.load_close("AAPL", "2012-06-01", "2013-03-01")
    y = series.frame["y"].to_numpy()
    split = int(0.8 * len(y))
    naive = table.loc["naive (yesterday's close)"]
    assert naive["MAE"] == pytest.approx(np.mean(np.abs(np.diff(y[split - 1:]))))
    assert naive["R² (daily change)"] == pytest.approx(
        -np.mean(np.diff(y[split - 1:])) ** 2 / np.var(np.diff(y[split - 1:])))
    up = np.mean(np.diff(y[split - 1:]) > 0)
    assert table.loc["always up (direction only)", "directional accuracy"] == pytest.approx(up)


def test_classic_script_scaled_on_all_days_and_bad_options(tmp_path: Path) -> None:
    classic = load_script("classic_price_level")
    series = classic.load_close("AAPL", "2012-06-01", "2013-03-01")
    y, forecast, split = classic.fit_and_forecast(series, epochs=1, seed=0, scaler_fit="all")
    assert split == int(0.8 * len(y)) and forecast.shape == (len(y) - split,)
    assert y.min() * 0.5 < forecast.mean() < y.max() * 1.5  # back in dollars
    with pytest.raises(ConfigError, match="scaler_fit must be one of"):
        classic.run(tmp_path, scaler_fit="test")
    with pytest.raises(ConfigError, match=r"unknown ticker\(s\) \['AMZN'\]"):
        classic.load_close("AMZN")


def test_sentiment_proxy_is_breadth_in_minus_one_to_one() -> None:
    proxy = load_script("make_sentiment_proxy").breadth(stock_prices())
    assert proxy["sentiment_proxy"].between(-1, 1).all()
    shipped = pd.read_csv(EXAMPLES / "sentiment_proxy.csv")
    pd.testing.assert_frame_equal(proxy.reset_index(drop=True), shipped)
