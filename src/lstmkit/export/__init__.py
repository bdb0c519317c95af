"""Edge export: ONNX graphs of fitted models, int8 quantisation, and onnxruntime runners.

    report = to_onnx("runs/vic/model", "runs/vic/model.onnx", quantize="int8")
    runner = OnnxForecaster(report.path)

Importing this package needs neither onnx nor onnxruntime; using it does (the optional extra
``pip install "lstmkit[export]"``), else `ExportDependencyError` says so.
"""

from lstmkit.export.errors import ExportDependencyError, ExportError
from lstmkit.export.exporter import FP32_TOLERANCE, ExportReport, to_onnx
from lstmkit.export.graphs import forecaster_windows
from lstmkit.export.runner import OnnxClassifier, OnnxForecaster, load_onnx

__all__ = [
    "FP32_TOLERANCE",
    "ExportDependencyError",
    "ExportError",
    "ExportReport",
    "OnnxClassifier",
    "OnnxForecaster",
    "forecaster_windows",
    "load_onnx",
    "to_onnx",
]
