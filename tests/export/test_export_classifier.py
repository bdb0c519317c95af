"""ONNX export of sequence classifiers: frames and tokens, any batch size and length."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.export import FP32_TOLERANCE, ExportError, OnnxClassifier, to_onnx
from lstmkit.export.sidecar import read_sidecar
from lstmkit.models.sequence_classifier import SequenceClassifier


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("length", [3, 20])
def test_frames_fp32_equals_pytorch(tmp_path, frames_classifier, batch, length) -> None:
    report = to_onnx(frames_classifier, tmp_path / "c.onnx")
    runner = OnnxClassifier(report.path)
    x = np.random.default_rng(length).standard_normal((batch, length, 3)).astype(np.float32)
    with torch.no_grad():
        want = frames_classifier.network_.eval()(torch.from_numpy(x)).numpy()
    assert np.abs(runner.run(x) - want).max() <= FP32_TOLERANCE
    raw = list(x * np.asarray(frames_classifier.scaling_["std"])
               + np.asarray(frames_classifier.scaling_["mean"]))  # frames as the user has them
    np.testing.assert_allclose(runner.predict_proba(x), frames_classifier.predict_proba(raw),
                               atol=1e-5)
    assert runner.classes == ["down", "up"]


@pytest.mark.parametrize("length", [2, 9])
def test_tokens_fp32_and_int8(tmp_path, tokens_classifier, length) -> None:
    vocab = len(tokens_classifier.vocabulary_)
    x = np.random.default_rng(length).integers(0, vocab, (7, length))
    with torch.no_grad():
        want = tokens_classifier.network_.eval()(torch.from_numpy(x)).numpy()
    fp32 = OnnxClassifier(to_onnx(tokens_classifier, tmp_path / "t.onnx").path)
    assert np.abs(fp32.run(x) - want).max() <= FP32_TOLERANCE
    assert np.abs(fp32.run(x[:1]) - want[:1]).max() <= FP32_TOLERANCE
    int8 = OnnxClassifier(to_onnx(tokens_classifier, tmp_path / "t8.onnx", quantize="int8").path)
    assert np.abs(int8.run(x) - want).max() <= 0.1
    side = read_sidecar(tmp_path / "t8.onnx")
    assert side["inputs"][0] == {"name": "tokens", "shape": ["batch", "time"],
                                 "dtype": "int64", "features": None}
    assert side["sequence_classifier"]["vocabulary"]["tokens"][:2] == ["<pad>", "<unk>"]


def test_peephole_classifier_is_not_exportable(tmp_path) -> None:
    X = [np.ones((4, 2)), np.zeros((5, 2))]
    model = SequenceClassifier(cell="peephole", hidden_size=4, max_epochs=1, compile=False,
                               progress=False).fit(X, [0, 1])
    with pytest.raises(ExportError, match="peephole.*not exportable"):
        to_onnx(model, tmp_path / "p.onnx")
