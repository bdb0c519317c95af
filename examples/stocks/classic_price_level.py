"""The classic notebook LSTM on the price level, and what it scores against yesterday's close.

The setup of the many "predict stock prices with an LSTM" notebooks: AAPL's daily close,
min-max scaled, 60-day windows -> the next day's close, two LSTM layers of 50 units, the first
80 % of the days for training and the last 20 % for testing, in time order, on the
adjusted close (splits are not price jumps). ``--scaler-fit train`` (default) fits the
min-max scaler on the training part only; ``--scaler-fit all`` fits it on all the days, as
many notebooks do, which leaks the test period's range into training.

    python examples/stocks/classic_price_level.py --output runs/stocks/classic
    python examples/stocks/classic_price_level.py --scaler-fit all --output runs/stocks/classic_all

writes ``classic_price_level.png`` (the forecast hugs the price; zoomed, it is yesterday's
price a little smoothed) and ``classic_price_level.md`` / ``.csv``: MAE, RMSE, MASE, R² of
the price, R² of the implied daily change and directional accuracy for the LSTM and the
naive forecast (yesterday's close).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

import lstmkit as lk
from lstmkit.data.datasets import stock_prices
from lstmkit.data.loading import SeriesFrame, load_series
from lstmkit.evaluation.metrics import directional_accuracy, mae, mase, r2, rmse

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LOOKBACK, UNITS, LAYERS, TRAIN_SHARE = 60, 50, 2, 0.8
SCALER_FITS = ("train", "all")


def load_close(ticker: str, start: str | None = None, end: str | None = None) -> SeriesFrame:
    """The adjusted close of `ticker` on business days (holidays repeat the last close)."""
    prices = stock_prices([ticker])
    frame = pd.DataFrame({"ds": prices["ds"], "close": prices["adj_close"]})
    frame = frame[(frame["ds"] >= (start or frame["ds"].min()))
                  & (frame["ds"] <= (end or frame["ds"].max()))]
    return load_series(frame, time_col="ds", target="close", freq="B", fill_gaps="ffill")


def fit_and_forecast(series: SeriesFrame, epochs: int, seed: int, scaler_fit: str = "train"
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """(prices, one-step LSTM forecasts of the test days, first test position).

    scaler_fit "train": the model's min-max scaler, fitted on the training rows; "all": the
    prices min-max scaled over every row before training (the notebooks' leak)."""
    y = series.frame["y"].to_numpy(np.float64)
    split = int(TRAIN_SHARE * len(y))
    low, high = (y.min(), y.max()) if scaler_fit == "all" else (0.0, 1.0)
    frame = series.frame.assign(y=(y - low) / (high - low))
    model = lk.LSTMForecaster(
        lookback=LOOKBACK, horizon=1, hidden_size=UNITS, num_layers=LAYERS,
        scaler="none" if scaler_fit == "all" else "minmax", calendar=False, seasonal_lags=[],
        loss="mse", max_epochs=epochs, batch_size=32, lr=1e-3, validation_fraction=0.0,
        seed=seed, progress=False)
    model.fit(dataclasses.replace(series, frame=frame.iloc[:split].reset_index(drop=True)))
    origins = np.arange(split, len(frame))
    forecast = model.forecast_at(model.design(frame), origins)[:, 0]
    return y, forecast * (high - low) + low, split


def score(y: np.ndarray, forecast: np.ndarray, split: int) -> dict[str, float]:
    """Price-level and change metrics of one-step forecasts of y[split:]."""
    actual, last = y[split:], y[split - 1:-1]
    change = actual - last
    return {
        "MAE": mae(actual, forecast),
        "RMSE": rmse(actual, forecast),
        "MASE": mase(actual, forecast, insample=y[:split], season=1),
        "R² (price)": r2(actual, forecast),
        "R² (daily change)": r2(change, forecast - last),
        "directional accuracy": directional_accuracy(actual[:, None], forecast[:, None],
                                                     last_value=last),
    }


def results_table(y: np.ndarray, forecast: np.ndarray, split: int) -> pd.DataFrame:
    """One row per forecast: the LSTM, the naive forecast and (direction only) always up."""
    rows = {"LSTM 2x50 on the price level": score(y, forecast, split),
            "naive (yesterday's close)": score(y, y[split - 1:-1], split)}
    up = y[split:] > y[split - 1:-1]
    rows["always up (direction only)"] = {"directional accuracy": float(up.mean())}
    return pd.DataFrame(rows).T


def plot(ds: pd.Series, y: np.ndarray, forecast: np.ndarray, split: int, r2_price: float,
         path: Path, zoom: int = 40) -> None:
    """Left: the whole test period; right: its last `zoom` days with the naive forecast."""
    test_ds = ds.iloc[split:].to_numpy()
    fig, (full, near) = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
    full.plot(test_ds, y[split:], color="black", lw=1, label="adjusted close")
    full.plot(test_ds, forecast, color="tab:red", lw=1, label="LSTM forecast (next day)")
    full.set_title(f"Test period (last 20 %): LSTM forecast, R² = {r2_price:.3f}")
    full.legend()
    window = slice(-zoom, None)
    near.plot(test_ds[window], y[split:][window], "o-", color="black", ms=3, lw=1,
              label="adjusted close")
    near.plot(test_ds[window], forecast[window], "s-", color="tab:red", ms=3, lw=1,
              label="LSTM forecast")
    near.plot(test_ds[window], y[split - 1:-1][window], "--", color="tab:blue", lw=1,
              label="naive: yesterday's close")
    near.set_title(f"Last {zoom} days, with the naive forecast")
    near.legend()
    for axis in (full, near):
        axis.set_ylabel("USD")
        axis.tick_params(axis="x", labelrotation=30)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown (blank where a metric does not apply)."""
    columns = list(table.columns)
    lines = ["| forecast | " + " | ".join(columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for name, row in table.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.4f}" if abs(v) < 10 else f"{v:.2f}" for v in row]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(output: Path, *, ticker: str = "AAPL", epochs: int = 20, seed: int = 0,
        start: str | None = None, end: str | None = None,
        scaler_fit: str = "train") -> pd.DataFrame:
    """Train, forecast the test days, write the figure and the tables; returns the table."""
    if scaler_fit not in SCALER_FITS:
        raise lk.ConfigError(f"scaler_fit must be one of {SCALER_FITS}, got {scaler_fit!r}")
    output.mkdir(parents=True, exist_ok=True)
    series = load_close(ticker, start, end)
    y, forecast, split = fit_and_forecast(series, epochs, seed, scaler_fit)
    table = results_table(y, forecast, split)
    plot(series.frame["ds"], y, forecast, split, table.loc[table.index[0], "R² (price)"],
         output / "classic_price_level.png")
    table.to_csv(output / "classic_price_level.csv", index_label="forecast")
    (output / "classic_price_level.md").write_text(markdown(table), encoding="utf-8")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("runs/stocks/classic"))
    parser.add_argument("--ticker", default="AAPL")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", default=None, help="first date (default: all the data)")
    parser.add_argument("--end", default=None, help="last date")
    parser.add_argument("--scaler-fit", choices=SCALER_FITS, default="train",
                        help="fit the min-max scaler on the training days or on all days")
    args = parser.parse_args()
    table = run(args.output, ticker=args.ticker, epochs=args.epochs, seed=args.seed,
                start=args.start, end=args.end, scaler_fit=args.scaler_fit)
    print(markdown(table))
    print(f"figure and tables in {args.output}/")


if __name__ == "__main__":
    main()
