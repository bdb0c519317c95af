"""The JSON file written next to an exported ``.onnx``: what a caller needs to feed it.

``model.onnx`` gets ``model.json``::

    {"format": "lstmkit-onnx", "format_version": 1, "lstmkit_version": ..., "kind": ...,
     "onnx_file": "model.onnx", "quantize": null | "int8", "opset": 17,
     "inputs": [{"name", "shape", "dtype", "features"}], "outputs": [{"name", "shape", ...}],
     "check": {"max_abs_error", "tolerance", "samples"}, <kind>: {...}}

Shapes use a string for a dynamic axis ("batch", "time") and an int for a fixed one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lstmkit.errors import ModelFileError

FORMAT = "lstmkit-onnx"
FORMAT_VERSION = 1


def sidecar_path(onnx_path: str | os.PathLike[str]) -> Path:
    """``model.onnx`` -> ``model.json``."""
    return Path(onnx_path).with_suffix(".json")


def write_sidecar(path: Path, fields: dict[str, Any]) -> None:
    """Write the sidecar JSON (format header first)."""
    from lstmkit import __version__

    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "lstmkit_version": __version__}
    path.write_text(json.dumps({**header, **fields}, indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")


def read_sidecar(onnx_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check the sidecar of ``onnx_path``; :class:`ModelFileError` if unusable."""
    path = sidecar_path(onnx_path)
    if not Path(onnx_path).is_file():
        raise ModelFileError(f"no ONNX model at {onnx_path}; export one with `lstmkit export`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ModelFileError(
            f"{path} is missing: an exported model needs its sidecar JSON next to the .onnx "
            "(copy both files, or export again)") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is not readable JSON ({err}); export again") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not an lstmkit ONNX sidecar (format {FORMAT!r})")
    if data.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format_version {data.get('format_version')!r}; this lstmkit reads "
            f"{FORMAT_VERSION} (written by lstmkit {data.get('lstmkit_version', 'unknown')})")
    return data
