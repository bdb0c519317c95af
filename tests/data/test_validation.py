"""Every validation error names the column, row or value and the fix; repairs are exact."""

import logging

import numpy as np
import pandas as pd
import pytest

from lstmkit.data.loading import load_series
from lstmkit.errors import ConfigError, DataValidationError


def hourly(n: int = 8, **extra) -> pd.DataFrame:
    data = {"ds": pd.date_range("2021-01-01", periods=n, freq="h"), "y": np.arange(n, dtype=float)}
    return pd.DataFrame({**data, **extra})


def test_empty_frame_and_header_only_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"the DataFrame has no data"):
        load_series(pd.DataFrame())
    path = tmp_path / "head.csv"
    path.write_text("ds,y\n")
    with pytest.raises(DataValidationError, match=r"columns \['ds', 'y'\] but no rows"):
        load_series(path)


def test_missing_time_column_lists_columns_and_the_flag():
    with pytest.raises(DataValidationError) as err:
        load_series(hourly().rename(columns={"ds": "when"}))
    msg = str(err.value)
    assert "time column 'ds' not found" in msg
    assert "available columns: ['when', 'y']" in msg and "--time-col" in msg


def test_missing_target_names_the_target_flag():
    with pytest.raises(DataValidationError, match=r"target column 'demand' not found.*--target"):
        load_series(hourly(), target="demand")


def test_unparseable_timestamp_names_row_and_value():
    df = hourly(4).astype({"ds": str})
    df.loc[2, "ds"] = "2021-13-45 99:00"
    with pytest.raises(DataValidationError) as err:
        load_series(df)
    msg = str(err.value)
    assert "1 unparseable timestamp(s): row 2 holds '2021-13-45 99:00'" in msg
    assert "format was inferred from row 0 ('2021-01-01 00:00:00')" in msg


def test_empty_timestamp_and_numeric_time_column():
    df = hourly(4).astype({"ds": object})
    df.loc[1, "ds"] = None
    with pytest.raises(DataValidationError, match=r"time column 'ds' is empty in rows 1;"):
        load_series(df)
    with pytest.raises(DataValidationError, match=r"holds numbers \(row 0: 0\).*unit='s'"):
        load_series(pd.DataFrame({"ds": [0, 1, 2], "y": [1.0, 2.0, 3.0]}))


def test_duplicate_timestamps_name_rows_and_suggest_aggregation():
    df = pd.concat([hourly(5), hourly(5).iloc[[3]]], ignore_index=True)
    with pytest.raises(DataValidationError) as err:
        load_series(df)
    msg = str(err.value)
    assert "2021-01-01 03:00:00 appears in rows 3, 5; 1 timestamp(s) repeat" in msg
    assert "df.groupby('ds', as_index=False).mean()" in msg
    assert "name their id column with id_col= (--id-col)" in msg


def test_duplicates_in_long_data_name_the_series():
    df = pd.DataFrame({"id": ["a", "a", "b", "b"], "ds": ["2021-01-01"] * 2 + ["2021-01-02"] * 2,
                       "y": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(DataValidationError, match=r"2021-01-01 00:00:00 of series 'a' appears "
                                                  r"in rows 0, 1; 2 timestamp\(s\) repeat"):
        load_series(df, id_col="id")


def test_unsorted_rows_are_sorted_with_a_warning_and_a_note(caplog):
    df = hourly(6).iloc[[0, 1, 4, 2, 3, 5]]
    with caplog.at_level(logging.WARNING, logger="lstmkit"):
        sf = load_series(df)
    assert sf.frame["y"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert "row 3: 2021-01-01 02:00:00 after 2021-01-01 04:00:00" in sf.notes[0]
    assert any(r.levelno == logging.WARNING and "sorted rows by 'ds'" in r.message
               for r in caplog.records)


def test_gaps_are_listed_with_sizes_and_fixes():
    df = hourly(12).drop(index=[3, 4, 8])
    with pytest.raises(DataValidationError) as err:
        load_series(df)
    msg = str(err.value)
    assert "2 gap(s) on the 'h' grid (3 missing row(s))" in msg
    assert "after 2021-01-01 02:00:00 (row 2): 2 step(s) missing" in msg
    assert "after 2021-01-01 07:00:00 (row 5): 1 step(s) missing" in msg
    assert 'fill_gaps="interpolate", "ffill" or "zero"' in msg and "freq=" in msg


@pytest.mark.parametrize(("method", "expected"), [
    ("interpolate", [2.0, 3.0, 4.0, 5.0]),
    ("ffill", [2.0, 2.0, 2.0, 5.0]),
    ("zero", [2.0, 0.0, 0.0, 5.0]),
])
def test_fill_gaps_adds_exactly_the_missing_rows(method, expected):
    df = hourly(8, x=np.arange(8, dtype=float) * 10).drop(index=[3, 4])
    sf = load_series(df, fill_gaps=method)
    assert len(sf.frame) == 8
    assert sf.frame["ds"].equals(pd.Series(pd.date_range("2021-01-01", periods=8, freq="h"),
                                           name="ds"))
    assert sf.frame["y"].iloc[2:6].tolist() == expected
    assert sf.frame["x"].iloc[2:6].tolist() == [v * 10 for v in expected]
    assert sf.notes == (f"filled 1 gap(s): added 2 row(s) by {method}",)
    assert isinstance(sf.frame.index, pd.RangeIndex)


def test_off_grid_timestamps_are_irregular_spacing():
    df = hourly(6)
    df.loc[3, "ds"] = pd.Timestamp("2021-01-01 03:20")
    with pytest.raises(DataValidationError) as err:
        load_series(df, fill_gaps="zero")
    msg = str(err.value)
    assert "1 timestamp(s) are not on the regular 'h' grid" in msg
    assert "row 3: 2021-01-01 03:20:00" in msg and ".resample('h').mean()" in msg


def test_given_frequency_that_would_explode_the_grid():
    df = pd.DataFrame({"ds": pd.date_range("2021", periods=30, freq="D"), "y": 1.0})
    with pytest.raises(ConfigError, match=r"freq='s' would put about 2,505,601 steps"):
        load_series(df, freq="s")
    with pytest.raises(ConfigError, match=r"freq='fortnightly' is not a pandas frequency"):
        load_series(df, freq="fortnightly")


def test_series_with_different_frequencies():
    df = pd.DataFrame({"id": ["a"] * 3 + ["b"] * 3,
                       "ds": list(pd.date_range("2021", periods=3, freq="h"))
                       + list(pd.date_range("2021", periods=3, freq="D")),
                       "y": 1.0})
    with pytest.raises(DataValidationError, match=r"different frequencies: 'h' \(series 'a'\), "
                                                  r"'D' \(series 'b'\); pass freq="):
        load_series(df, id_col="id")


def test_nan_and_inf_name_column_count_rows_and_impute():
    df = hourly(8, temp=[1.0, np.inf, 3.0, 4.0, np.nan, 6.0, 7.0, 8.0])
    with pytest.raises(DataValidationError) as err:
        load_series(df)
    msg = str(err.value)
    assert "covariate column 'temp' has 2 NaN/inf value(s) (rows 1, 4)" in msg
    assert 'impute="interpolate", "ffill", "zero" or "mean"' in msg
    df.loc[7, "y"] = np.nan
    with pytest.raises(DataValidationError, match=r"target column 'y' has 1 NaN/inf value\(s\) "
                                                  r"\(rows 7\)"):
        load_series(df)


@pytest.mark.parametrize(("method", "temp", "y_last"), [
    ("interpolate", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 4.0),
    ("ffill", [1.0, 1.0, 3.0, 4.0, 4.0, 6.0], 4.0),
    ("zero", [1.0, 0.0, 3.0, 4.0, 0.0, 6.0], 0.0),
    ("mean", [1.0, 3.5, 3.0, 4.0, 3.5, 6.0], 2.0),
])
def test_impute_methods(method, temp, y_last):
    df = hourly(6, temp=[1.0, np.inf, 3.0, 4.0, np.nan, 6.0])
    df.loc[5, "y"] = np.nan
    sf = load_series(df, impute=method)
    assert sf.frame["temp"].tolist() == temp
    assert sf.frame["y"].iloc[-1] == y_last
    assert f"imputed 2 NaN/inf value(s) in covariate column 'temp' by {method}" in sf.notes


def test_impute_is_per_series_and_needs_a_finite_value():
    df = pd.DataFrame({"id": ["a"] * 3 + ["b"] * 3, "ds": list(pd.date_range("2021", periods=3,
                       freq="D")) * 2, "y": [1.0, np.nan, 3.0, 10.0, np.nan, 30.0]})
    sf = load_series(df, id_col="id", impute="mean")
    assert sf.frame["y"].tolist() == [1.0, 2.0, 3.0, 10.0, 20.0, 30.0]
    df["y"] = [1.0, 2.0, 3.0, np.nan, np.nan, np.nan]
    with pytest.raises(DataValidationError, match=r"target column 'y' of series 'b' has no "
                                                  r"finite value to impute from"):
        load_series(df, id_col="id", impute="ffill")


def test_non_numeric_target_and_covariate_name_value_and_row():
    df = hourly(4, price=["1.5", "2.0", "n/a", "3.0"])
    with pytest.raises(DataValidationError) as err:
        load_series(df, covariates=["price"])
    assert str(err.value).startswith("covariate column 'price' is not numeric: row 2 holds 'n/a' "
                                     "(1 non-numeric value(s))")
    df = hourly(3).astype({"y": object})
    df.loc[1, "y"] = "1,5"
    with pytest.raises(DataValidationError, match=r"target column 'y' is not numeric: row 1 "
                                                  r"holds '1,5'.*decimal comma.*decimal=','"):
        load_series(df)


def test_numeric_strings_are_accepted_and_non_numeric_columns_skipped_by_default():
    sf = load_series(hourly(3, price=["1.5", "2", "3"], label=["a", "b", "c"]),
                     covariates=["price"])
    assert sf.frame["price"].tolist() == [1.5, 2.0, 3.0]
    sf = load_series(hourly(3, flag=[True, False, True], label=["a", "b", "c"]))
    assert sf.covariates == ("flag",) and sf.frame["flag"].tolist() == [1.0, 0.0, 1.0]
    assert sf.notes == ("ignored non-numeric column(s) ['label']; name covariates= to use others",)


def test_min_length_message_says_why():
    df = pd.DataFrame({"id": ["x"] * 300 + ["z"] * 400,
                       "ds": list(pd.date_range("2021", periods=300, freq="h"))
                       + list(pd.date_range("2021", periods=400, freq="h")), "y": 1.0})
    with pytest.raises(DataValidationError) as err:
        load_series(df, id_col="id", min_length=384, min_length_reason="lookback 336 + horizon 48")
    assert str(err.value) == ("series 'x' has 300 rows; lookback 336 + horizon 48 need at least "
                              "384 rows")
    with pytest.raises(DataValidationError, match=r"^series 'x' has 300 rows; need at least 500 "
                                                  r"rows \(1 more series are too short\)$"):
        load_series(df, id_col="id", min_length=500)
    assert load_series(df, id_col="id", min_length=300).lengths == {"x": 300, "z": 400}


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match=r"fill_gaps='linear' is not one of \['interpolate'"):
        load_series(hourly(), fill_gaps="linear")
    with pytest.raises(ConfigError, match=r"impute='median' is not one of"):
        load_series(hourly(), impute="median")
    with pytest.raises(ConfigError, match=r"min_length must be a positive integer, got 0"):
        load_series(hourly(), min_length=0)
    with pytest.raises(ConfigError, match=r"min_length must be a positive integer, got 2.5"):
        load_series(hourly(), min_length=2.5)
    with pytest.raises(ConfigError, match=r"covariate column\(s\) \['y'\] would clash"):
        load_series(hourly().rename(columns={"y": "demand"}).assign(y=1.0), target="demand")
    with pytest.raises(ConfigError, match=r"must differ"):
        load_series(hourly(), target="ds")


def test_time_zones_kept_unified_or_rejected_when_mixed():
    aware = hourly(4)
    aware["ds"] = aware["ds"].dt.tz_localize("Europe/Berlin")
    sf = load_series(aware)
    assert str(sf.frame["ds"].dt.tz) == "Europe/Berlin" and sf.freq == "h"
    dst = pd.DataFrame({"ds": ["2021-03-28T00:00+01:00", "2021-03-28T01:00+01:00",
                               "2021-03-28T03:00+02:00", "2021-03-28T04:00+02:00"], "y": 1.0})
    sf = load_series(dst)
    assert str(sf.frame["ds"].dt.tz) == "UTC" and sf.freq == "h"
    assert sf.frame["ds"].iloc[2] == pd.Timestamp("2021-03-28T01:00Z")
    assert sf.notes == ("time column 'ds' had several UTC offsets; converted to UTC",)
    mixed = pd.DataFrame({"ds": ["2021-01-01T00:00+01:00", "2021-01-01 01:00"], "y": 1.0})
    with pytest.raises(DataValidationError, match=r"mixes timestamps with a time zone \(row 0: "
                                                  r"'2021-01-01T00:00\+01:00'\) and without "
                                                  r"\(row 1: '2021-01-01 01:00'\)"):
        load_series(mixed)
