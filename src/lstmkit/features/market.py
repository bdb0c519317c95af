"""Market data for forecasting: the daily frame of one asset from a long price table.

`asset_features` puts the tickers on one business-day grid and builds the first ticker's
frame: its price, its one-day log return (the natural target), its `indicator_features` and
the related tickers' returns as covariates; `join_dated` adds any dated series (e.g. a
sentiment score) as a past covariate through an as-of join. `market_frame` does the whole
assembly behind the forecast job's ``tickers`` / ``sentiment`` options: it loads the prices
(a bundled dataset or a file), builds the asset's frame and joins the dated CSV read by
`read_dated`; `market_columns` names its covariates without building it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmkit.data import datasets
from lstmkit.data.loading import read_table
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.features.indicators import indicator_columns, indicator_features, returns


def asset_columns(tickers: Sequence[str], spec: Mapping[str, Any] | None = None) -> list[str]:
    """The covariate columns `asset_features` gives: indicators, then related returns."""
    related = [f"{t}_logreturn_{k}" for t in tickers[1:] for k in (1, 5)]
    return [*indicator_columns(spec), *related]


def _grid_prices(prices: pd.DataFrame, tickers: Sequence[str], columns: Sequence[str],
                 id_col: str, time_col: str) -> dict[str, pd.DataFrame]:
    """Each ticker's columns on one business-day grid from the latest first trading day of
    the tickers; exchange holidays carry the last trade forward (a day with zero return)."""
    frames = {t: prices[prices[id_col] == t].set_index(time_col)[list(columns)].sort_index()
              for t in tickers}
    start = max(f.index.min() for f in frames.values())
    end = max(f.index.max() for f in frames.values())
    grid = pd.bdate_range(start, end, name=time_col)
    return {t: f.reindex(f.index.union(grid)).ffill().reindex(grid) for t, f in frames.items()}


def asset_features(prices: pd.DataFrame, tickers: Sequence[str], *,
                   indicators: Mapping[str, Any] | None = None, price: str = "adj_close",
                   volume: str = "volume", id_col: str = "ticker",
                   time_col: str = "ds") -> pd.DataFrame:
    """Daily frame of the first ticker with its indicators and the related tickers' returns.

    `prices` is long (one row per ticker and trading day, like ``lk.datasets.load("stocks")``).
    Columns: `time_col`, ``price`` (the first ticker's `price`), ``logreturn`` (its one-day log
    return: the natural forecasting target), the `indicator_features` of that ticker and, for
    every other ticker T, ``T_logreturn_1`` and ``T_logreturn_5``. The grid is business days
    from the first day every ticker trades; holidays repeat the last trade (zero return) and
    the first rows, before every indicator has its history, are dropped.
    """
    for column in (id_col, time_col, price, volume):
        if column not in prices.columns:
            raise DataValidationError(f"prices lack column {column!r}; columns: "
                                      f"{list(prices.columns)}")
    available = sorted(prices[id_col].astype(str).unique())
    if not tickers:
        raise ConfigError(f"give at least one ticker; available: {available}")
    missing = [t for t in tickers if t not in available]
    if missing:
        raise ConfigError(f"unknown ticker(s) {missing}; available: {available}")
    grid = _grid_prices(prices, tickers, (price, volume), id_col, time_col)
    main = grid[tickers[0]].reset_index()
    out = pd.DataFrame({time_col: main[time_col], "price": main[price]})
    out["logreturn"] = np.log(main[price]).diff().to_numpy()
    features = indicator_features(main, indicators, price=price, volume=volume)
    out = pd.concat([out, features], axis=1)
    for ticker in tickers[1:]:
        other = grid[ticker].reset_index()
        for k in (1, 5):
            out[f"{ticker}_logreturn_{k}"] = returns(other, price, k, log=True).iloc[:, 0]
    complete = out.drop(columns=[time_col]).notna().all(axis=1).to_numpy()
    first = int(np.argmax(complete)) if complete.any() else len(out)
    if first >= len(out) or not complete[first:].all():
        raise DataValidationError(
            f"the indicators leave no complete row in {len(out)} business days of {tickers}; "
            "use shorter indicator windows or a longer date range")
    return out.iloc[first:].reset_index(drop=True)


def join_dated(frame: pd.DataFrame, dated: pd.DataFrame, *, time_col: str = "ds",
               date_col: str = "date", columns: Sequence[str] | None = None) -> pd.DataFrame:
    """`frame` with the value `columns` of `dated` joined as past covariates.

    Each row gets the latest value dated on or before its time (an as-of join: a value dated
    d counts as known at d, and nothing dated later leaks in); rows before the first dated
    value get 0. `columns` defaults to every column but `date_col`.
    """
    if date_col not in dated.columns:
        raise DataValidationError(
            f"the dated series has no {date_col!r} column; its columns are "
            f"{list(dated.columns)}: give a date column and value columns")
    columns = [c for c in dated.columns if c != date_col] if columns is None else list(columns)
    if not columns:
        raise DataValidationError("the dated series has no value column next to its dates")
    clash = [c for c in columns if c in frame.columns]
    if clash:
        raise DataValidationError(f"dated column(s) {clash} already exist in the frame; "
                                  "rename them")
    table = dated[[date_col, *columns]].copy()
    try:
        table[date_col] = pd.to_datetime(table[date_col])
        table[columns] = table[columns].astype(np.float64)
    except (ValueError, TypeError) as err:
        raise DataValidationError(
            f"the dated series needs parseable dates in {date_col!r} and numbers in "
            f"{columns}: {err}") from None
    if table[columns].isna().any().any():
        raise DataValidationError(f"the dated series has missing values in {columns}; "
                                  "drop or fill them")
    table = table.sort_values(date_col).rename(columns={date_col: "__date"})
    left = pd.DataFrame({time_col: frame[time_col].to_numpy(), "__row": np.arange(len(frame))})
    joined = pd.merge_asof(left.sort_values(time_col, kind="stable"), table, left_on=time_col,
                           right_on="__date", direction="backward").sort_values("__row")
    out = frame.copy()
    for column in columns:
        out[column] = joined[column].fillna(0.0).to_numpy()
    return out


def market_frame(tickers: Sequence[str], *, data: str | Path | None = None,
                 dataset: str | None = None, indicators: Mapping[str, Any] | None = None,
                 price: str = "adj_close", volume: str = "volume", id_col: str = "ticker",
                 time_col: str = "ds", sentiment: str | Path | None = None) -> pd.DataFrame:
    """The business-day frame of the first ticker (see `asset_features`), built from the
    prices in a file (`data`) or a bundled `dataset`, with the value columns of the dated
    `sentiment` CSV (see `read_dated`) joined by `join_dated`."""
    prices = load_prices(tickers, data=data, dataset=dataset, id_col=id_col, time_col=time_col)
    frame = asset_features(prices, tickers, indicators=indicators, price=price, volume=volume,
                           id_col=id_col, time_col=time_col)
    if sentiment is None:
        return frame
    dated = read_dated(sentiment)
    return join_dated(frame, dated, time_col=time_col, date_col=dated.columns[0])


def market_columns(tickers: Sequence[str], indicators: Mapping[str, Any] | None = None, *,
                   sentiment: str | Path | None = None) -> list[str]:
    """The covariate columns of `market_frame`: `asset_columns`, then the sentiment values."""
    dated = [] if sentiment is None else list(read_dated(sentiment).columns[1:])
    return [*asset_columns(tickers, indicators), *dated]


def load_prices(tickers: Sequence[str], *, data: str | Path | None = None,
                dataset: str | None = None, id_col: str = "ticker",
                time_col: str = "ds") -> pd.DataFrame:
    """The long price table of a file (CSV/Parquet) or bundled dataset (of ``stocks``, only
    the rows of `tickers`), with `time_col` parsed as datetimes and `id_col` as strings."""
    if data is not None and dataset is not None:
        raise ConfigError(f"give a price file or a bundled dataset, not both: got data={data!r} "
                          f"and dataset={dataset!r}")
    if dataset == "stocks":
        prices = datasets.stock_prices(tickers)
    elif dataset is not None:
        prices = datasets.load(dataset)
    elif data is not None:
        prices, _ = read_table(data)
    else:
        raise ConfigError("give the prices: a file (data) or a bundled dataset (dataset)")
    if time_col in prices.columns:
        prices = prices.assign(**{time_col: pd.to_datetime(prices[time_col])})
    if id_col in prices.columns:
        prices = prices.assign(**{id_col: prices[id_col].astype(str)})
    return prices


def read_dated(path: str | Path) -> pd.DataFrame:
    """A CSV of dates (first column) and numeric values, such as the ``sentiment`` option's."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise DataValidationError(f"cannot read sentiment {path}: {err}") from err
    if table.shape[1] < 2:
        raise DataValidationError(
            f"sentiment {path} has columns {list(table.columns)}; it needs a date column "
            "first and at least one value column (e.g. date,sentiment)")
    return table
