"""load_series reads CSV, Parquet and DataFrames, wide and long, into one canonical frame."""

import numpy as np
import pandas as pd
import pytest

from lstmkit.data.loading import SeriesFrame, load_series
from lstmkit.errors import ConfigError, DataValidationError


def wide() -> pd.DataFrame:
    return pd.DataFrame({
        "time": pd.date_range("2022-03-01", periods=6, freq="30min"),
        "temp": [5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        "load": [1, 2, 3, 4, 5, 6],
        "workday": [1, 1, 1, 0, 0, 0],
    })


def test_wide_frame_becomes_one_long_series():
    sf = load_series(wide(), time_col="time", target="load")
    assert isinstance(sf, SeriesFrame)
    assert list(sf.frame.columns) == ["unique_id", "ds", "y", "temp", "workday"]
    assert sf.frame.dtypes.astype(str).tolist() == ["object", "datetime64[ns]", "float64",
                                                    "float64", "float64"]
    assert sf.frame["y"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert (sf.freq, sf.target, sf.time_col, sf.id_col) == ("30min", "load", "time", None)
    assert sf.covariates == ("temp", "workday") and sf.notes == ()
    assert sf.ids == ("load",) and sf.lengths == {"load": 6}
    assert isinstance(sf.frame.index, pd.RangeIndex)


def test_covariates_keep_the_users_order_and_selection():
    sf = load_series(wide(), time_col="time", target="load", covariates=["workday", "temp"])
    assert list(sf.frame.columns[3:]) == ["workday", "temp"]
    assert load_series(wide(), time_col="time", target="load", covariates=[]).covariates == ()


def test_long_frame_statsforecast_shape_many_series():
    df = pd.DataFrame({
        "unique_id": ["b"] * 4 + ["a"] * 4,
        "ds": list(pd.date_range("2020-01-01", periods=4, freq="D")) * 2,
        "y": [10.0, 11.0, 12.0, 13.0, 0.0, 1.0, 2.0, 3.0],
    })
    sf = load_series(df, id_col="unique_id")
    assert sf.ids == ("a", "b") and sf.freq == "D"
    assert sf.frame["y"].tolist() == [0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0]
    assert sf.notes == ()  # grouping rows by id is not a sort of time
    one = sf.series("b")
    assert one["y"].tolist() == [10.0, 11.0, 12.0, 13.0] and list(one.index) == [0, 1, 2, 3]
    with pytest.raises(DataValidationError, match=r"no series 'c'; ids include \['a', 'b'\]"):
        sf.series("c")


def test_time_and_id_may_be_index_levels():
    df = pd.DataFrame({"unique_id": ["a", "a", "b", "b"],
                       "ds": list(pd.date_range("2020-01-01", periods=2, freq="h")) * 2,
                       "y": [1.0, 2.0, 3.0, 4.0]})
    sf = load_series(df.set_index(["unique_id", "ds"]), id_col="unique_id")
    assert sf.ids == ("a", "b") and sf.freq == "h" and sf.covariates == ()
    single = load_series(df[df.unique_id == "a"].drop(columns="unique_id").set_index("ds"))
    assert single.frame["y"].tolist() == [1.0, 2.0]


def test_integer_ids_become_strings():
    df = pd.DataFrame({"store": [7, 7, 7], "ds": pd.date_range("2020", periods=3, freq="MS"),
                       "sales": [1.0, 2.0, 3.0]})
    sf = load_series(df, id_col="store", target="sales")
    assert sf.ids == ("7",) and sf.freq == "MS"


def test_dataframe_is_not_mutated():
    df = wide().iloc[[1, 0, 2, 3, 5, 4]]
    df.loc[2, "temp"] = np.nan
    before = df.copy()
    load_series(df, time_col="time", target="load", impute="mean")
    pd.testing.assert_frame_equal(df, before)


def test_csv_with_semicolons(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("ds;y;temp\n2021-01-01;1.5;3\n2021-01-02;2.5;4\n2021-01-03;3.5;5\n")
    sf = load_series(path)
    assert sf.frame["y"].tolist() == [1.5, 2.5, 3.5] and sf.covariates == ("temp",)
    assert sf.freq == "D"


def test_tab_separated_file_with_a_utf8_bom(tmp_path):
    path = tmp_path / "tab.tsv"
    path.write_bytes("\ufeffds\ty\n2021-01-01\t1\n2021-01-02\t2\n".encode())
    assert load_series(path).frame["y"].tolist() == [1.0, 2.0]


def test_latin1_file_names_the_byte_and_the_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("ds,y,station\n2021-01-01,1,Malm\u00f6\n".encode("latin-1"))
    with pytest.raises(DataValidationError) as err:
        load_series(path)
    msg = str(err.value)
    assert "is not UTF-8: byte 0xf6 on line 2 (offset 30)" in msg
    assert "it would be 'ö'" in msg and "iconv -f latin1 -t utf-8" in msg
    assert "encoding='latin-1'" in msg


def test_header_and_rows_with_different_delimiters(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("ds;y\n2021-01-01,1\n2021-01-02,2\n2021-01-03,3\n")
    with pytest.raises(DataValidationError) as err:
        load_series(path)
    msg = str(err.value)
    assert "does not split into columns on ';': line 2 '2021-01-01,1' stays a single column " \
           "but contains ','" in msg
    assert "pd.read_csv(path, sep=',')" in msg
    path.write_text("ds,y\n2021-01-01;1\n2021-01-02;2\n2021-01-03;3\n")
    with pytest.raises(DataValidationError, match=r"does not split into columns on ',': line 2 "
                                                  r"'2021-01-01;1' stays a single column but "
                                                  r"contains ';'"):
        load_series(path)


def test_empty_missing_and_unsupported_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    with pytest.raises(DataValidationError, match=r"empty.csv is empty; give a header line"):
        load_series(empty)
    with pytest.raises(DataValidationError, match=r"no file at .*nope.csv; check the path"):
        load_series(tmp_path / "nope.csv")
    sheet = tmp_path / "data.xlsx"
    sheet.write_bytes(b"PK")
    with pytest.raises(DataValidationError, match=r"unsupported file type '.xlsx'.*DataFrame"):
        load_series(sheet)
    with pytest.raises(ConfigError, match=r"source must be a path or a pandas DataFrame, got list"):
        load_series([1, 2, 3])


def test_parquet_round_trip(tmp_path):
    sf = load_series(wide(), time_col="time", target="load")
    path = tmp_path / "series.parquet"
    sf.frame.to_parquet(path)
    back = load_series(path, id_col="unique_id", covariates=["temp", "workday"])
    pd.testing.assert_frame_equal(back.frame, sf.frame)
    assert back.freq == sf.freq
    broken = tmp_path / "broken.pq"
    broken.write_bytes(b"not parquet")
    with pytest.raises(DataValidationError, match=r"broken.pq cannot be read as Parquet"):
        load_series(broken)


def test_monthly_and_business_day_frequencies_with_gaps():
    months = pd.DataFrame({"ds": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-04-01",
                                                 "2020-05-01"]), "y": 1.0})
    sf = load_series(months, fill_gaps="ffill")
    assert sf.freq == "MS" and sf.frame["ds"].iloc[2] == pd.Timestamp("2020-03-01")
    days = pd.bdate_range("2021-12-20", periods=10).delete(5)  # 2021-12-27 missing
    sf = load_series(pd.DataFrame({"ds": days, "y": 1.0}), fill_gaps="zero")
    assert sf.freq == "B" and len(sf.frame) == 10 and sf.frame["y"].iloc[5] == 0.0
