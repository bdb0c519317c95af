"""The vendored datasets (movie_snippets, japanese_vowels, ucr_anomaly_135) ship and load intact."""

import hashlib
import zipfile
from importlib import resources

import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmkit.cli import app
from lstmkit.data import datasets
from lstmkit.errors import LstmkitError

BUNDLED = ("movie_snippets", "japanese_vowels", "ucr_anomaly_135")
FILES = [f"{name}.{ext}" for name in BUNDLED for ext in ("csv.gz", "LICENSE")] + ["README.md"]


def test_registry_records_source_licence_and_no_extra():
    infos = {info.name: info for info in datasets.list_datasets()}
    assert set(BUNDLED) <= set(infos)
    movie, vowels, ucr = (infos[name] for name in BUNDLED)
    assert (movie.rows, movie.frequency, movie.time_col, movie.target) == (
        10_568, None, None, "label")
    assert (vowels.rows, vowels.frequency, vowels.time_col, vowels.id_col) == (
        9_961, "sequence", "frame", "utterance")
    assert (ucr.rows, ucr.time_col, ucr.target) == (8_701, "t", "value")
    assert all(info.extra is None for info in (movie, vowels, ucr))
    assert "MIT" in movie.licence and "Hutto & Gilbert" in movie.source
    assert "Pang & Lee" in movie.source
    assert "CC BY 4.0" in vowels.licence and "Kudo" in vowels.source
    assert "Wu & Keogh" in ucr.licence and "BSD-3" in ucr.licence and "aeon" in ucr.source
    for name in BUNDLED:
        frame = datasets.load(name)
        assert list(frame.columns) == list(infos[name].columns)
        assert len(frame) == infos[name].rows
        assert not frame.isna().any().any()


def test_files_and_notices_ship_as_package_resources():
    bundled = resources.files("lstmkit.data").joinpath("bundled")
    for name in FILES:
        assert bundled.joinpath(name).is_file(), name
    notice = {n: bundled.joinpath(f"{n}.LICENSE").read_text(encoding="utf-8") for n in BUNDLED}
    assert "The MIT License" in notice["movie_snippets"]
    assert "Copyright (c) 2016 C.J. Hutto" in notice["movie_snippets"]
    assert "ICWSM-14" in notice["movie_snippets"]
    assert "Pang, B. & Lee, L." in notice["movie_snippets"]
    assert "CC BY 4.0" in notice["japanese_vowels"]
    assert "10.24432/C5NS47" in notice["japanese_vowels"]
    assert "Wu, R. & Keogh, E. J." in notice["ucr_anomaly_135"]
    assert "BSD 3-Clause License" in notice["ucr_anomaly_135"]


def test_loads_from_a_zipped_package(tmp_path, monkeypatch):
    """Nothing assumes a directory on disk: the files are read through importlib.resources."""
    bundled = resources.files("lstmkit.data").joinpath("bundled")
    archive = tmp_path / "lstmkit.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in BUNDLED:
            zf.writestr(f"lstmkit/data/bundled/{name}.csv.gz",
                        bundled.joinpath(f"{name}.csv.gz").read_bytes())
    monkeypatch.setattr(datasets.resources, "files",
                        lambda package: zipfile.Path(archive, "lstmkit/data/"))
    assert datasets.load("ucr_anomaly_135").shape == (8_701, 4)
    assert datasets.load("movie_snippets").shape == (10_568, 5)
    monkeypatch.setattr(datasets.resources, "files",
                        lambda package: zipfile.Path(archive, "elsewhere/"))
    with pytest.raises(LstmkitError, match=r"bundled data file 'japanese_vowels.csv.gz' is "
                                           r"missing from the installed lstmkit; reinstall"):
        datasets.load("japanese_vowels")


def test_movie_snippets_labels_and_dropped_neutral_rows():
    df = datasets.load("movie_snippets")
    assert df.dtypes.astype(str).tolist() == ["int64", "float64", "object", "int64", "object"]
    assert df["id"].is_unique and df["id"].is_monotonic_increasing
    assert df["id"].min() == 1 and df["id"].max() == 10_605
    dropped = sorted(set(range(1, 10_606)) - set(df["id"]))
    assert len(dropped) == 37 and dropped[:3] == [77, 182, 198]  # the snippets rated exactly 0
    assert (df["rating"] != 0).all() and df["rating"].between(-4, 4).all()
    assert ((df["rating"] > 0) == (df["label"] == 1)).all()
    assert df["label"].value_counts().to_dict() == {0: 5_326, 1: 5_242}
    assert (df["text"].str.len() >= 3).all()
    first = df.iloc[0]
    assert (first["id"], first["rating"]) == (1, pytest.approx(2.26666666667))
    assert first["text"].startswith("The Rock is destined to be the 21st Century's new ''Conan''")
    assert "clichés" in df.loc[df["text"].str.contains("Imax 3 D"), "text"].iloc[0]  # UTF-8


def test_movie_snippets_split_is_fixed():
    df = datasets.load("movie_snippets")
    assert df["split"].value_counts().to_dict() == {"train": 7_398, "test": 2_113,
                                                    "validation": 1_057}
    firsts = {s: df.loc[df["split"] == s, "id"].head(5).tolist() for s in ("train", "validation",
                                                                            "test")}
    assert firsts == {"train": [1, 2, 3, 4, 6], "validation": [16, 22, 26, 33, 45],
                      "test": [5, 8, 20, 29, 35]}
    digest = hashlib.sha256(",".join(df["split"]).encode()).hexdigest()
    assert digest == "a4d46c54df9f2171677a7ace0c819e673e1c58f07cbddadc952a695c7c67e185"
    balance = df.groupby("split")["label"].mean()
    assert balance.between(0.48, 0.51).all()  # both classes in every part


def test_japanese_vowels_counts_and_frames():
    df = datasets.load("japanese_vowels")
    assert df.shape == (9_961, 16)
    assert df.dtypes.astype(str).tolist() == ["int64", "object", "int64", "int64"] + [
        "float64"] * 12
    per = df.groupby("utterance").agg(split=("split", "first"), speaker=("speaker", "first"),
                                      frames=("frame", "size"), last=("frame", "max"),
                                      splits=("split", "nunique"),
                                      speakers=("speaker", "nunique"))
    assert per.index.tolist() == list(range(640))
    assert (per["splits"] == 1).all() and (per["speakers"] == 1).all()
    assert per["split"].value_counts().to_dict() == {"test": 370, "train": 270}
    assert (per.loc[:269, "split"] == "train").all()
    assert (per["frames"].min(), per["frames"].max()) == (7, 29)
    assert (per["last"] == per["frames"] - 1).all()  # frames 0..n-1, none missing
    assert df.groupby("utterance")["frame"].is_monotonic_increasing.all()
    counts = per.groupby("split")["speaker"].value_counts().unstack()
    assert counts.columns.tolist() == list(range(1, 10))
    assert counts.loc["train"].tolist() == [30] * 9
    assert counts.loc["test"].tolist() == [31, 35, 88, 44, 29, 24, 40, 50, 29]
    assert df.iloc[0, 4:7].tolist() == [1.860936, -0.207383, 0.261557]
    assert df["c1"].sum() == pytest.approx(8007.148377)


def test_ucr_anomaly_135_parts_and_labels():
    df = datasets.load("ucr_anomaly_135")
    assert df.dtypes.astype(str).tolist() == ["int64", "float64", "object", "int64"]
    train, test = (df[df["split"] == s].reset_index(drop=True) for s in ("train", "test"))
    assert (len(train), len(test)) == (1_200, 7_501)
    assert df["split"].tolist() == ["train"] * 1_200 + ["test"] * 7_501
    assert train["t"].tolist() == list(range(1_200)) and test["t"].tolist() == list(range(7_501))
    assert train["is_anomaly"].sum() == 0
    assert test.index[test["is_anomaly"] == 1].tolist() == list(range(4187, 4199))
    assert set(df["is_anomaly"].unique()) == {0, 1}
    pd.testing.assert_series_equal(train["value"], test["value"].iloc[:1_200])  # as in aeon
    assert test["value"].iloc[0] == 63.73215 and test["value"].iloc[-1] == 70.52612
    assert 55 < test["value"].min() and test["value"].max() < 105


def test_cli_lists_and_exports_bundled(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if "│" in line}
    assert "10,568" in lines["movie_snippets"] and "MIT" in lines["movie_snippets"]
    assert "9,961" in lines["japanese_vowels"] and "CC BY 4.0" in lines["japanese_vowels"]
    assert "8,701" in lines["ucr_anomaly_135"] and "Wu & Keogh" in lines["ucr_anomaly_135"]
    path = tmp_path / "vowels.csv"
    result = runner.invoke(app, ["datasets", "export", "japanese_vowels", "--output", str(path)])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_csv(path), datasets.load("japanese_vowels"))
