"""Errors of the ONNX export (all in the `LstmkitError` family)."""

from __future__ import annotations

import importlib
from types import ModuleType

from lstmkit.errors import LstmkitError

INSTALL_HINT = 'pip install "lstmkit[export]"'


class ExportError(LstmkitError):
    """A model cannot be exported, or the exported graph does not match PyTorch."""


class ExportDependencyError(ExportError, ImportError):
    """onnx or onnxruntime is not installed (they are the optional extra `export`)."""


def require(module: str) -> ModuleType:
    """Import an optional export dependency, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ExportDependencyError(
            f"ONNX export needs the package {module.split('.')[0]!r}, which is not installed "
            f"({err}); install the export extra: {INSTALL_HINT}"
        ) from err
