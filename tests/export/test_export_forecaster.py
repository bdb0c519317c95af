"""ONNX export of forecasters: equal to PyTorch, int8 close, sidecar complete."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from export_models import hourly, windows

from lstmkit.errors import DataValidationError
from lstmkit.export import (
    FP32_TOLERANCE,
    OnnxForecaster,
    forecaster_windows,
    load_onnx,
    to_onnx,
)
from lstmkit.export.graphs import known_feature_names
from lstmkit.export.sidecar import read_sidecar

INT8_BOUND = 0.1  # max |int8 - PyTorch| of the raw (scaled) outputs on a trained tiny model


@pytest.mark.parametrize("name", ["direct_quantile", "seq2seq", "recursive",
                                  "gaussian_ensemble"])
@pytest.mark.parametrize("batch", [1, 7])
def test_fp32_equals_pytorch(request, tmp_path, name: str, batch: int) -> None:
    model = request.getfixturevalue(name)
    report = to_onnx(model, tmp_path / "m.onnx")
    assert report.max_abs_error <= FP32_TOLERANCE
    design, origins, encoder, steps = windows(model, hourly(), batch)
    runner = OnnxForecaster(report.path)
    if model.strategy != "recursive":  # its graph is the network plus the feedback loop
        with torch.no_grad():
            want = model.network_.eval()(torch.from_numpy(encoder), torch.from_numpy(steps))
        assert np.abs(runner.run(encoder, steps) - want.numpy()).max() <= FP32_TOLERANCE
    ids = design.ids[origins]
    np.testing.assert_allclose(runner.forecast(encoder, steps, ids),
                               model.forecast_at(design, origins), atol=1e-3)
    if model.likelihood is not None:
        np.testing.assert_allclose(runner.forecast_quantiles(encoder, steps),
                                   model.forecast_quantiles(design, origins), atol=1e-3)


def test_int8_stays_close_to_pytorch(tmp_path, direct_quantile) -> None:
    report = to_onnx(direct_quantile, tmp_path / "m.onnx", quantize="int8")
    fp32 = to_onnx(direct_quantile, tmp_path / "fp32.onnx")
    assert report.quantize == "int8" and report.size_bytes < fp32.size_bytes
    assert report.max_abs_error <= INT8_BOUND
    data = hourly()
    design, origins, encoder, steps = windows(direct_quantile, data, 64)
    got = OnnxForecaster(report.path).forecast(encoder, steps)
    want = direct_quantile.forecast_at(design, origins)
    assert np.abs(got - want).max() <= INT8_BOUND * direct_quantile.scalers_.target.scale_.max()
    truth = data["y"].to_numpy()[origins[:, None] + np.arange(6)]  # one series: rows = rows
    assert np.abs(got - truth).mean() <= 1.05 * np.abs(want - truth).mean()


def test_sidecar_round_trip(tmp_path, direct_quantile) -> None:
    path = direct_quantile.save(tmp_path / "model")
    report = to_onnx(path, tmp_path / "edge" / "m.onnx")
    side = read_sidecar(report.path)
    assert report.sidecar == tmp_path / "edge" / "m.json"
    assert side == json.loads(report.sidecar.read_text())
    assert side["kind"] == "lstm-forecaster" and side["quantize"] is None
    assert side["lstmkit_version"] and side["check"]["max_abs_error"] == report.max_abs_error
    info = side["lstm_forecaster"]
    assert (info["lookback"], info["horizon"], info["quantiles"]) == (24, 6, [0.1, 0.5, 0.9])
    encoder, steps = side["inputs"]
    known = known_feature_names(direct_quantile.spec_)
    assert encoder["features"] == ["y", "y_lag24", "temp", "flag", *known]
    assert steps["features"] == ["y_lag24", "flag", *known]
    assert encoder["shape"] == ["batch", 24, 4 + len(known)]
    assert side["outputs"][0]["shape"] == ["batch", 6, 3]
    scaler = info["target_scaler"]
    assert scaler["center"][0][0] == pytest.approx(direct_quantile.scalers_.target.center_[0, 0])
    assert isinstance(load_onnx(report.path), OnnxForecaster)


def test_recursive_graph_reads_the_horizon_rows(tmp_path, recursive) -> None:
    side = read_sidecar(to_onnx(recursive, tmp_path / "r.onnx").path)
    encoder = side["inputs"][0]
    assert encoder["shape"][:2] == ["batch", 24 + 6] and encoder["rows"].startswith(
        "o-lookback .. o+horizon-1")
    assert side["outputs"][0]["shape"] == ["batch", 6]


def test_windows_must_fit_in_their_series(recursive) -> None:
    design, origins, _, _ = windows(recursive, hourly(), 1)
    with pytest.raises(DataValidationError, match="needs 48 rows before it"):
        forecaster_windows(recursive, design, np.array([10]))
    with pytest.raises(DataValidationError, match="6 rows from it"):
        forecaster_windows(recursive, design, origins + 3)
