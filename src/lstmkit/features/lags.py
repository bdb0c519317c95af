"""Causal lag and rolling-window features, computed within each series.

Rows are taken to be in time order within each series (sort by series id and time first).
Each function returns only the new columns, indexed like the input frame, which is never
modified.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError, DataValidationError

ROLLING_STATS = ("mean", "std", "var", "min", "max", "sum", "median")


def _check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"column(s) {missing} not in the frame; available columns: {list(frame.columns)}"
        )


def _int_list(name: str, values: int | Iterable[int], minimum: int) -> list[int]:
    items = [values] if isinstance(values, int | np.integer) else list(values)
    bad = [v for v in items if isinstance(v, bool) or not isinstance(v, int | np.integer)]
    if not items or bad or min(items) < minimum:
        raise ConfigError(f"{name} must be integers >= {minimum}, got {values!r}")
    return [int(v) for v in items]


def _series_keys(frame: pd.DataFrame, column: str, by: str | None) -> pd.Series | None:
    """Series ids on a positional index, or None for a single series."""
    _check_columns(frame, [column] if by is None else [column, by])
    if by is None:
        return None
    keys = frame[by].reset_index(drop=True)
    if keys.isna().any():
        row = int(np.argmax(keys.isna().to_numpy()))
        raise DataValidationError(
            f"series id column {by!r} is missing at row {row}; give every row a series id"
        )
    return keys


def lag_features(
    frame: pd.DataFrame, column: str, lags: int | Iterable[int], *, by: str | None = None
) -> pd.DataFrame:
    """``{column}_lag_{k}``: the value ``k`` rows earlier in the same series (NaN before)."""
    keys = _series_keys(frame, column, by)
    values = frame[column].reset_index(drop=True)
    grouped = values if keys is None else values.groupby(keys, sort=False)
    columns = {f"{column}_lag_{k}": grouped.shift(k).to_numpy() for k in _int_list("lags", lags, 1)}
    return pd.DataFrame(columns, index=frame.index)


def rolling_features(
    frame: pd.DataFrame,
    column: str,
    windows: int | Iterable[int],
    stats: Sequence[str] = ("mean", "std", "min", "max"),
    *,
    by: str | None = None,
    shift: int = 1,
) -> pd.DataFrame:
    """``{column}_roll_{stat}_{w}``: statistics of rows ``t - shift - w + 1 .. t - shift``.

    The value at row ``t`` uses rows ``<= t - shift`` of the same series only, so with the
    default ``shift=1`` a target's own value never enters its features. A window that is not
    yet full is NaN; ``std``/``var`` use ``ddof=1`` like pandas.
    """
    unknown = [s for s in stats if s not in ROLLING_STATS]
    if unknown or not stats:
        raise ConfigError(
            f"unknown rolling stat(s) {unknown or stats!r}; choose from {ROLLING_STATS}"
        )
    (shift,) = _int_list("shift", shift, 0)
    keys = _series_keys(frame, column, by)
    values = frame[column].reset_index(drop=True)
    if keys is None:
        shifted = values.shift(shift)
    else:
        shifted = values.groupby(keys, sort=False).shift(shift)
    columns = {}
    for w in _int_list("windows", windows, 1):
        # grouped rolling restarts at each series, so no series' values reach another's
        rolling = shifted.rolling(w) if keys is None else shifted.groupby(keys).rolling(w)
        for stat in stats:
            result = getattr(rolling, stat)()
            if keys is not None:  # (series id, row) index back to row order
                result = result.droplevel(0).sort_index()
            columns[f"{column}_roll_{stat}_{w}"] = result.to_numpy()
    return pd.DataFrame(columns, index=frame.index)
