"""`to_onnx`: export a saved or fitted model's network to ONNX, check it against PyTorch with
onnxruntime, optionally quantise its weights to int8, and write the sidecar JSON.

Tolerance: the fp32 graph must match PyTorch within ``FP32_TOLERANCE`` (max abs error on the
raw outputs of the sample inputs, 1e-4; measured errors are ~1e-7), else nothing is written.
An int8 graph (``quantize="int8"``: `onnxruntime.quantization.quantize_dynamic`, weights int8,
activations quantised on the fly) is reported, not bounded: its error depends on the weights.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lstmkit import io
from lstmkit.errors import ConfigError
from lstmkit.export.errors import ExportError, require
from lstmkit.export.graphs import Graph, graph_of
from lstmkit.export.sidecar import sidecar_path, write_sidecar

FORMATS = ("onnx",)
QUANTIZE = (None, "int8")
OPSET = 17
FP32_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ExportReport:
    """What `to_onnx` wrote and how closely it matches PyTorch."""

    path: Path
    sidecar: Path
    quantize: str | None
    size_bytes: int
    max_abs_error: float  # the written graph vs PyTorch on the sample inputs (raw outputs)
    fp32_max_abs_error: float  # the fp32 graph vs PyTorch (equal to the above without quantize)
    tolerance: float  # bound on the fp32 error; int8 errors are reported only
    samples: tuple[str, ...]  # input shapes of the check


def to_onnx(model: Any, path: str | os.PathLike[str], *, quantize: str | None = None,
            format: str = "onnx") -> ExportReport:
    """Export `model` (a fitted estimator or a saved model folder) to the ``.onnx`` file
    `path`, with its sidecar ``.json`` next to it; check it with onnxruntime."""
    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; supported: {', '.join(FORMATS)}")
    if quantize not in QUANTIZE:
        raise ConfigError(f"quantize must be None or 'int8', got {quantize!r}")
    target = Path(path)
    if target.suffix != ".onnx":
        raise ConfigError(f"the output must be a .onnx file, got {target}")
    require("onnx")
    require("onnxruntime")
    if quantize:
        require("onnxruntime.quantization")
    if isinstance(model, str | os.PathLike):
        model = io.load(model)
    graph = graph_of(model)
    expected = _torch_outputs(graph)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.stem}-", dir=target.parent) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _export(graph, fp32)
        fp32_error = _max_error(fp32, graph, expected)
        if not fp32_error <= FP32_TOLERANCE:
            raise ExportError(
                f"the ONNX graph differs from PyTorch by {fp32_error:.3g} > {FP32_TOLERANCE:g} "
                "on the sample inputs; nothing was written")
        final, error = fp32, fp32_error
        if quantize == "int8":
            final = Path(tmp) / "int8.onnx"
            _quantize_int8(fp32, final)
            error = _max_error(final, graph, expected)
        samples = tuple("x".join(str(d) for d in s[0].shape) for s in graph.samples)
        sidecar = Path(tmp) / "sidecar.json"
        write_sidecar(sidecar, {
            "kind": graph.kind, "onnx_file": target.name, "quantize": quantize,
            "opset": OPSET, "inputs": graph.inputs, "outputs": graph.outputs,
            "check": {"max_abs_error": error, "fp32_max_abs_error": fp32_error,
                      "fp32_tolerance": FP32_TOLERANCE, "samples": list(samples)},
            graph.kind.replace("-", "_"): graph.info,
        })
        os.replace(final, target)
        os.replace(sidecar, sidecar_path(target))
    return ExportReport(target, sidecar_path(target), quantize, target.stat().st_size, error,
                        fp32_error, FP32_TOLERANCE, samples)


def _export(graph: Graph, path: Path) -> None:
    """Trace the network with torch's TorchScript-based exporter (dynamic axes by name)."""
    example = tuple(torch.from_numpy(a) for a in graph.samples[-1])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph.module, example, str(path), dynamo=False, opset_version=OPSET,
            input_names=[s["name"] for s in graph.inputs],
            output_names=[s["name"] for s in graph.outputs],
            dynamic_axes=graph.dynamic_axes,
        )
    require("onnx").checker.check_model(str(path))


def _quantize_int8(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()  # onnxruntime advises shape pre-processing on the root logger
    quiet = logging.Filter("no-root-records")
    root.addFilter(quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root.removeFilter(quiet)


def _torch_outputs(graph: Graph) -> list[np.ndarray]:
    with torch.no_grad():
        return [graph.module(*(torch.from_numpy(a) for a in sample)).numpy()
                for sample in graph.samples]


def _max_error(path: Path, graph: Graph, expected: list[np.ndarray]) -> float:
    session = session_for(path)
    names = [s["name"] for s in graph.inputs]
    errors = [float(np.max(np.abs(session.run(None, dict(zip(names, sample, strict=True)))[0]
                                  - want)))
              for sample, want in zip(graph.samples, expected, strict=True)]
    return max(errors)


def session_for(path: str | os.PathLike[str], threads: int | None = None) -> Any:
    """An onnxruntime CPU session of `path` (`threads` intra-op threads, default: ORT's)."""
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
