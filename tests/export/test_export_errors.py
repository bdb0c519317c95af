"""Export errors: unknown format or option, missing model, unsupported model, no onnx."""

from __future__ import annotations

import json
import sys

import pytest

from lstmkit.errors import ConfigError, ModelFileError
from lstmkit.export import ExportDependencyError, ExportError, OnnxForecaster, to_onnx
from lstmkit.models.forecaster import LSTMForecaster


def test_unknown_format_and_options(tmp_path, seq2seq) -> None:
    with pytest.raises(ConfigError, match="unknown export format 'tflite'; supported: onnx"):
        to_onnx(seq2seq, tmp_path / "m.onnx", format="tflite")
    with pytest.raises(ConfigError, match="quantize must be None or 'int8'"):
        to_onnx(seq2seq, tmp_path / "m.onnx", quantize="int4")
    with pytest.raises(ConfigError, match=r"must be a \.onnx file"):
        to_onnx(seq2seq, tmp_path / "m.bin")


def test_missing_model_folder(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="no model at .*nope"):
        to_onnx(tmp_path / "nope", tmp_path / "m.onnx")


def test_unfitted_or_unsupported_model(tmp_path) -> None:
    with pytest.raises(ExportError, match="not fitted"):
        to_onnx(LSTMForecaster(), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="cannot export a dict"):
        to_onnx({}, tmp_path / "m.onnx")


@pytest.mark.parametrize("module", ["onnx", "onnxruntime", "onnxruntime.quantization"])
def test_missing_onnx_names_the_extra(tmp_path, monkeypatch, seq2seq, module) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(ExportDependencyError, match=r'pip install "lstmkit\[export\]"'):
        to_onnx(seq2seq, tmp_path / "m.onnx", quantize="int8")
    assert not list(tmp_path.iterdir())


def test_runner_refuses_missing_or_foreign_sidecar(tmp_path, seq2seq) -> None:
    report = to_onnx(seq2seq, tmp_path / "m.onnx")
    side = json.loads(report.sidecar.read_text())
    report.sidecar.write_text(json.dumps({**side, "format_version": 99}))
    with pytest.raises(ModelFileError, match="format_version 99"):
        OnnxForecaster(report.path)
    report.sidecar.unlink()
    with pytest.raises(ModelFileError, match="sidecar JSON"):
        OnnxForecaster(report.path)
