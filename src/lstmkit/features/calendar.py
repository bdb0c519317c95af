"""Calendar and holiday features of timestamps: known in advance, so usable as future covariates.

Timestamps are read as wall-clock time in their own time zone (13:30 local is hour 13.5).
The result is indexed like the input: by the Series' index, or by the DatetimeIndex itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError, DataValidationError

CALENDAR_FEATURES = ("hour", "dayofweek", "day", "month", "dayofyear", "is_weekend")


def timestamps(ds: pd.Series | pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, pd.Index]:
    """``ds`` as a DatetimeIndex plus the index the features get; rejects non-dates and NaT."""
    if isinstance(ds, pd.DatetimeIndex):
        times, index = ds, ds
    elif isinstance(ds, pd.Series) and pd.api.types.is_datetime64_any_dtype(ds.dtype):
        times, index = pd.DatetimeIndex(ds), ds.index
    else:
        kind = ds.dtype if isinstance(ds, pd.Series) else type(ds).__name__
        raise DataValidationError(
            f"timestamps must be a datetime Series or DatetimeIndex, got {kind}; "
            "parse the column with pd.to_datetime first"
        )
    if times.hasnans:
        row = int(np.argmax(times.isna()))
        raise DataValidationError(f"timestamp at row {row} is missing (NaT); drop or fill it")
    return times, index


def _cycle(values: np.ndarray, period: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    angle = 2.0 * np.pi * values / period
    return np.sin(angle), np.cos(angle)


def calendar_features(
    ds: pd.Series | pd.DatetimeIndex,
    features: Sequence[str] = ("hour", "dayofweek", "month", "dayofyear"),
    *,
    cyclical: bool = True,
) -> pd.DataFrame:
    """Calendar position of each timestamp.

    ``hour`` counts minutes and seconds as fractions (13:30 -> 13.5); ``dayofweek`` is 0 on
    Monday; ``day`` is the day of the month. With ``cyclical`` each feature becomes
    ``{name}_sin``/``{name}_cos`` on its cycle (24 h, 7 days, days in the month, 12 months,
    days in the year), so the end of a cycle sits next to its start; otherwise the plain
    numbers (integers, except the fractional hour). ``is_weekend`` is always 0/1.
    """
    unknown = [f for f in features if f not in CALENDAR_FEATURES]
    if unknown or not features:
        raise ConfigError(
            f"unknown calendar feature(s) {unknown or features!r}; choose from {CALENDAR_FEATURES}"
        )
    times, index = timestamps(ds)
    # (value, value at the start of the cycle, cycle length) per feature
    hour = times.hour + times.minute / 60 + times.second / 3600
    raw = {
        "hour": (np.asarray(hour, dtype=np.float64), 0, 24.0),
        "dayofweek": (times.dayofweek.to_numpy(), 0, 7.0),
        "day": (times.day.to_numpy(), 1, times.days_in_month.to_numpy()),
        "month": (times.month.to_numpy(), 1, 12.0),
        "dayofyear": (times.dayofyear.to_numpy(), 1, np.where(times.is_leap_year, 366.0, 365.0)),
    }
    columns: dict[str, np.ndarray] = {}
    for name in features:
        if name == "is_weekend":
            columns[name] = np.asarray(times.dayofweek >= 5, dtype=np.int64)
            continue
        value, first, period = raw[name]
        if cyclical:
            columns[f"{name}_sin"], columns[f"{name}_cos"] = _cycle(value - first, period)
        else:
            columns[name] = value if name == "hour" else value.astype(np.int64)
    return pd.DataFrame(columns, index=index)


def holiday_features(
    ds: pd.Series | pd.DatetimeIndex, country: str, subdiv: str | None = None
) -> pd.DataFrame:
    """``is_holiday`` (0/1): whether each timestamp's date is a public holiday.

    Uses the optional ``holidays`` package (``pip install holidays``); ``country`` is an
    ISO code such as ``"AU"`` and ``subdiv`` a subdivision such as ``"VIC"``.
    """
    try:
        import holidays
    except ImportError as exc:
        raise ConfigError(
            "holiday_features needs the optional 'holidays' package; install it with "
            "`pip install holidays`"
        ) from exc
    times, index = timestamps(ds)
    days = (times.tz_localize(None) if times.tz is not None else times).normalize()
    years = sorted(set(days.year.tolist()))
    try:
        calendar = holidays.country_holidays(country, subdiv=subdiv, years=years)
    except NotImplementedError as exc:
        raise ConfigError(
            f"the holidays package has no calendar for country={country!r}, subdiv={subdiv!r}; "
            "use an ISO 3166 code such as 'AU' and one of its subdivisions"
        ) from exc
    dates = pd.DatetimeIndex(sorted(calendar.keys()))
    return pd.DataFrame({"is_holiday": days.isin(dates).astype(np.int64)}, index=index)
