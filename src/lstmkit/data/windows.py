"""Sliding windows as views (no copies) and the forecast origins a series allows.

A forecast *origin* ``o`` splits a series: the lookback window is rows ``o - lookback .. o - 1``
and the horizon is rows ``o .. o + horizon - 1``. Windows are strided views of the original
buffer, so memory stays O(n) however many windows there are.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from lstmkit.errors import ConfigError, DataValidationError

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def _positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")


def sliding_windows(values: ArrayT, window: int, stride: int = 1) -> ArrayT:
    """Windows of ``window`` consecutive rows, every ``stride`` rows, as a view of ``values``.

    ``values`` has shape ``(n, *rest)``; the result has shape ``(n_windows, window, *rest)``
    with ``n_windows = (n - window) // stride + 1``, and window ``i`` starts at row
    ``i * stride``. NumPy results are read-only views; torch results share storage.
    """
    _positive_int("window", window)
    _positive_int("stride", stride)
    if values.ndim == 0 or values.shape[0] < window:
        rows = 0 if values.ndim == 0 else values.shape[0]
        raise DataValidationError(
            f"sliding windows need at least window = {window} rows, got {rows}; "
            "use a shorter window or more data"
        )
    if isinstance(values, torch.Tensor):
        return values.unfold(0, window, stride).movedim(-1, 1)
    if not isinstance(values, np.ndarray):
        raise DataValidationError(
            f"values must be a numpy array or torch tensor, got {type(values).__name__}"
        )
    view = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)
    return np.moveaxis(view, -1, 1)[::stride]


def window_origins(
    n: int,
    lookback: int,
    horizon: int,
    stride: int = 1,
    start: int = 0,
    end: int | None = None,
) -> np.ndarray:
    """Origins ``o`` with ``o - lookback >= start`` and ``o + horizon <= end``, ``stride`` apart.

    ``end`` defaults to ``n``. The grid is aligned on the last possible origin
    (``end - horizon``), so the most recent data is always used. ``horizon=0`` gives the
    origins whose lookback ends at ``end`` (the origin for forecasting beyond the data).
    """
    _positive_int("lookback", lookback)
    _positive_int("stride", stride)
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 0:
        raise ConfigError(f"horizon must be an integer >= 0, got {horizon!r}")
    end = n if end is None else end
    if not 0 <= start <= end <= n:
        raise ConfigError(f"need 0 <= start <= end <= n, got start={start}, end={end}, n={n}")
    need, have = lookback + horizon, end - start
    if have < need:
        raise DataValidationError(
            f"needs at least lookback+horizon = {need} rows, got {have}; "
            "shorten the lookback or horizon, or give more data"
        )
    first, last = start + lookback, end - horizon
    aligned = last - (last - first) // stride * stride
    return np.arange(aligned, last + 1, stride, dtype=np.int64)
