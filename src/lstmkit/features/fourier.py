"""Fourier seasonal terms on absolute time, so a timestamp gets the same values in any frame.

Time is counted in steps of ``freq`` since 1970-01-01 (wall-clock time for time-zone aware
stamps), never from the first row of a frame: training, test and future rows agree.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from lstmkit.errors import ConfigError
from lstmkit.features.calendar import timestamps

_EPOCH = pd.Timestamp("1970-01-01")
_MONTHS_PER_STEP = {
    pd.offsets.MonthBegin: 1,
    pd.offsets.MonthEnd: 1,
    pd.offsets.QuarterBegin: 3,
    pd.offsets.QuarterEnd: 3,
    pd.offsets.YearBegin: 12,
    pd.offsets.YearEnd: 12,
}


def elapsed_steps(times: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Steps of ``freq`` from 1970-01-01 to each timestamp (fractional between grid points)."""
    try:
        offset = to_offset(freq)
    except ValueError as exc:
        raise ConfigError(f"freq {freq!r} is not a pandas frequency such as '30min'") from exc
    wall = times.tz_localize(None) if times.tz is not None else times
    if isinstance(offset, pd.offsets.Tick | pd.offsets.Week):
        step = pd.Timedelta(days=7 * offset.n) if isinstance(offset, pd.offsets.Week) else offset
        return ((wall - _EPOCH) / pd.Timedelta(step)).to_numpy(dtype=np.float64)
    months = _MONTHS_PER_STEP.get(type(offset))
    if months is None:
        raise ConfigError(
            f"freq {freq!r} has no fixed step; use a fixed one ('30min', 'h', 'D', 'W') "
            "or a month, quarter or year frequency"
        )
    elapsed = (wall.year - 1970) * 12 + wall.month - 1
    return elapsed.to_numpy(dtype=np.float64) / (months * offset.n)


def fourier_features(
    ds: pd.Series | pd.DatetimeIndex, periods: Mapping[float, int], freq: str
) -> pd.DataFrame:
    """``sin{k}_{P}`` and ``cos{k}_{P}`` for ``k = 1..K`` and each ``{P: K}`` in ``periods``.

    ``P`` is measured in steps of ``freq``: on half-hourly data (``freq="30min"``) period 48
    is one day and 336 one week. Each term is ``sin(2 pi k t / P)`` with ``t`` the steps
    since 1970-01-01. ``K`` may be at most ``P / 2`` (higher orders repeat lower ones).
    """
    if not periods:
        raise ConfigError("periods is empty; give {period: order}, e.g. {48: 3}")
    for period, order in periods.items():
        if not period > 0 or isinstance(order, bool) or not isinstance(order, int | np.integer):
            raise ConfigError(f"periods needs {{period > 0: integer order}}, got {period}: {order}")
        if not 1 <= order <= period / 2:
            raise ConfigError(
                f"order {order} for period {period:g} must be between 1 and period/2 = "
                f"{period / 2:g}; higher orders alias onto lower ones"
            )
    times, index = timestamps(ds)
    steps = elapsed_steps(times, freq)
    columns: dict[str, np.ndarray] = {}
    for period, order in periods.items():
        phase = np.mod(steps, period) / period  # exact repetition for whole periods
        for k in range(1, int(order) + 1):
            angle = 2.0 * np.pi * k * phase
            columns[f"sin{k}_{period:g}"] = np.sin(angle)
            columns[f"cos{k}_{period:g}"] = np.cos(angle)
    return pd.DataFrame(columns, index=index)
