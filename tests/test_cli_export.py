"""`lstmkit export`: files written next to the model, int8, errors (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmkit.cli import app
from lstmkit.models.forecaster import LSTMForecaster

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "model"
    t = np.arange(200)
    data = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=200, freq="h"),
                         "y": np.sin(2 * np.pi * t / 24) + 0.01 * t})
    LSTMForecaster(lookback=24, horizon=6, hidden_size=8, num_layers=1, max_epochs=1,
                   seasonal_lags=[24], progress=False).fit(data).save(path)
    return path


def test_export_writes_onnx_and_sidecar_next_to_the_model(saved) -> None:
    result = runner.invoke(app, ["export", str(saved), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    assert "fp32 max |ONNX - PyTorch|" in result.output and "tolerance 0.0001" in result.output
    side = json.loads((saved.parent / "model.json").read_text())
    assert side["kind"] == "lstm-forecaster" and side["onnx_file"] == "model.onnx"
    assert (saved.parent / "model.onnx").is_file()


def test_export_int8_to_a_given_path(saved, tmp_path) -> None:
    out = tmp_path / "edge" / "vic.onnx"
    result = runner.invoke(app, ["export", str(saved), "--quantize", "int8", "--output",
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert "int8 max |ONNX - PyTorch|" in result.output
    assert json.loads(out.with_suffix(".json").read_text())["quantize"] == "int8"


def test_export_errors(saved, tmp_path) -> None:
    result = runner.invoke(app, ["export", str(saved), "--format", "tflite"])
    assert result.exit_code == 1 and "unknown export format 'tflite'" in result.output
    result = runner.invoke(app, ["export", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "no model at" in result.output
    result = runner.invoke(app, ["export", str(saved), "--quantize", "int4"])
    assert result.exit_code == 1 and "quantize must be None or 'int8'" in result.output
