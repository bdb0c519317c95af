"""`detect` command: files written, report content, errors (through typer's CliRunner)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmkit.commands.detect import detect_app

runner = CliRunner()


@pytest.fixture()
def synthetic_csv(tmp_path):
    """A synthetic seasonal series with a labelled spike at t = 320."""
    t = np.arange(400)
    value = np.sin(2 * np.pi * t / 20) + 0.03 * np.random.default_rng(0).normal(size=400)
    label = np.zeros(400, dtype=int)
    value[320] += 3.0
    label[320] = 1
    path = tmp_path / "synthetic.csv"
    pd.DataFrame({"t": t, "value": value, "label": label}).to_csv(path, index=False)
    return path


def test_detect_writes_scores_intervals_report_and_model(tmp_path, synthetic_csv):
    out = tmp_path / "run"
    result = runner.invoke(detect_app, [
        str(synthetic_csv), "--time-col", "t", "--columns", "value", "--output", str(out),
        "--train-rows", "250", "--lookback", "16", "--hidden-size", "16", "--epochs", "6",
        "--quantile", "1.0", "--label-col", "label", "--tolerance", "2",
    ])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out / "scores.csv")
    assert list(scores.columns) == ["time", "score", "flag", "label"]
    assert len(scores) == 400 and scores["score"].iloc[:16].isna().all()
    assert scores.loc[scores["time"] == 320, "flag"].item() == 1
    intervals = pd.read_csv(out / "intervals.csv")
    assert list(intervals.columns) == ["start", "end", "max_score"]
    assert ((intervals["start"] <= 320) & (intervals["end"] >= 320)).any()
    html = (out / "report.html").read_text()
    assert html.count("<svg") >= 2 and 'id="metrics-table"' in html
    assert 'id="intervals-table"' in html and "event-wise F1" in html
    assert not re.search(r'(src|href)="https?:', html)  # self-contained
    assert (out / "model" / "model.safetensors").exists()
    assert "metrics (tolerance 2)" in result.output


def test_detect_split_column_fits_on_train_rows_and_scores_the_rest(tmp_path, synthetic_csv):
    frame = pd.read_csv(synthetic_csv)
    frame["split"] = np.where(frame["t"] < 250, "train", "test")
    path = tmp_path / "split.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "run"
    result = runner.invoke(detect_app, [
        str(path), "--time-col", "t", "--output", str(out), "--split-col", "split",
        "--label-col", "label", "--lookback", "16", "--epochs", "2",
        "--method", "reconstruction", "--threshold", "contamination", "--contamination", "0.02",
    ])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out / "scores.csv")
    assert scores["time"].tolist() == list(range(250, 400))
    assert scores["flag"].sum() == 3  # 2% of 150 rows


def test_detect_errors_are_one_clear_line(tmp_path, synthetic_csv):
    result = runner.invoke(detect_app, [
        str(synthetic_csv), "--time-col", "t", "--columns", "load", "--output",
        str(tmp_path / "x"),
    ])
    assert result.exit_code == 1
    assert "error:" in result.output and "'load'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(detect_app, [
        str(synthetic_csv), "--output", str(tmp_path / "x"), "--threshold", "best",
    ])
    assert result.exit_code == 1 and "--threshold must be" in result.output
