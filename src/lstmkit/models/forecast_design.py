"""Turn a long frame of series into the arrays a forecasting network reads.

Every row t of every series gets two feature vectors:

- encoder features (what the network reads over the lookback): the scaled target y_t, the
  scaled target at the seasonal lags y_{t-m}, the scaled past-only and known-future
  covariates, calendar and Fourier terms;
- step features (what the decoder reads for the step it predicts at time tau): y_{tau-m} for
  the seasonal lags m, the known-future covariates, calendar and Fourier terms.

Series are stacked one after another; `segments` says where each one starts and ends, and
windows never cross them. Scalers are fitted on the rows a caller marks as training only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lstmkit.data.transforms import SeriesScaler
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.features import calendar_features, fourier_features


def step_seconds(freq: str) -> float | None:
    """Length of one step in seconds for fixed frequencies ("30min", "h", "D"); else None."""
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
        return pd.Timedelta(offset).total_seconds()
    except (ValueError, TypeError):
        return None


def default_seasonal_lags(freq: str) -> tuple[int, ...]:
    """Daily and weekly lags for sub-daily data, weekly for daily, yearly for monthly."""
    seconds = step_seconds(freq)
    if seconds is not None and seconds < 86400 and 86400 % seconds == 0:
        per_day = int(86400 // seconds)
        return (per_day, 7 * per_day)
    if seconds == 86400:
        return (7,)
    if freq.upper().startswith(("M", "ME", "MS")):
        return (12,)
    if freq.upper().startswith(("Q", "QE", "QS")):
        return (4,)
    return ()


YEARLY_TERMS = ("dayofyear", "month")
MIN_YEARLY_SPAN = pd.Timedelta(days=730)


def default_calendar(freq: str, span: pd.Timedelta | None = None) -> tuple[str, ...]:
    """Calendar features that vary at this frequency.

    With `span` (the training data's first to last timestamp) under two years the yearly
    terms are left out: one year shows each day of the year once, nothing a network can learn
    a yearly shape from, and a holiday season near the end of the data then gets the inputs
    of days it has never seen."""
    seconds = step_seconds(freq)
    if seconds is not None and seconds < 86400:
        terms: tuple[str, ...] = ("hour", "dayofweek", "dayofyear")
    elif seconds is not None and seconds < 7 * 86400:
        terms = ("dayofweek", "dayofyear")
    elif seconds is not None:
        terms = ("dayofyear",)
    else:
        terms = ("month",)
    if span is not None and span < MIN_YEARLY_SPAN:
        terms = tuple(t for t in terms if t not in YEARLY_TERMS)
    return terms


@dataclass
class DesignSpec:
    """Which features a forecaster uses; fixed at fit time and saved with the model."""

    freq: str
    seasonal_lags: tuple[int, ...]
    past_covariates: tuple[str, ...]
    future_covariates: tuple[str, ...]
    calendar: tuple[str, ...]
    fourier: dict[float, int] = field(default_factory=dict)

    @property
    def max_lag(self) -> int:
        return max(self.seasonal_lags, default=0)

    def known_columns(self, times: pd.Series) -> np.ndarray:
        """Calendar and Fourier terms for timestamps (no data needed, so also the future)."""
        parts = []
        if self.calendar:
            parts.append(calendar_features(times, self.calendar, cyclical=True).to_numpy())
        if self.fourier:
            parts.append(fourier_features(times, self.fourier, self.freq).to_numpy())
        if not parts:
            return np.zeros((len(times), 0))
        return np.concatenate(parts, axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "freq": self.freq,
            "seasonal_lags": list(self.seasonal_lags),
            "past_covariates": list(self.past_covariates),
            "future_covariates": list(self.future_covariates),
            "calendar": list(self.calendar),
            "fourier": [[float(p), int(k)] for p, k in self.fourier.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DesignSpec:
        return cls(
            freq=data["freq"],
            seasonal_lags=tuple(int(m) for m in data["seasonal_lags"]),
            past_covariates=tuple(data["past_covariates"]),
            future_covariates=tuple(data["future_covariates"]),
            calendar=tuple(data["calendar"]),
            fourier={float(p): int(k) for p, k in data["fourier"]},
        )


@dataclass
class Design:
    """Stacked feature arrays of all series (float32) and where each series lives."""

    encoder: np.ndarray  # (rows, encoder features)
    step: np.ndarray  # (rows, step features)
    target: np.ndarray  # (rows,) scaled target, NaN where unknown (the future)
    segments: dict[str, tuple[int, int]]  # id -> (start, end) rows
    times: np.ndarray  # (rows,) timestamps
    ids: np.ndarray  # (rows,) series id per row

    def origins(self, lookback: int, horizon: int, max_lag: int, *, end: dict[str, int] | None
                = None, stride: int = 1) -> np.ndarray:
        """Every origin o with a full lookback (and its lags) before it and `horizon` known
        targets from it on, per series, before `end[id]` (exclusive, relative to the series)."""
        parts = []
        for uid, (start, stop) in self.segments.items():
            limit = start + (end[uid] if end is not None else stop - start)
            first = start + lookback + max_lag
            last = min(limit, stop) - horizon
            if last >= first:
                parts.append(np.arange(last, first - 1, -stride)[::-1])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class Scalers:
    """Per-series scalers of the target and of the covariates, fitted on training rows."""

    target: SeriesScaler
    covariates: SeriesScaler | None

    def state(self) -> dict[str, Any]:
        return {
            "target": self.target.state(),
            "covariates": None if self.covariates is None else self.covariates.state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Scalers:
        cov = state.get("covariates")
        return cls(SeriesScaler.from_state(state["target"]),
                   None if cov is None else SeriesScaler.from_state(cov))


def fit_scalers(frame: pd.DataFrame, spec: DesignSpec, kind: str) -> Scalers:
    """Fit the scalers on `frame` (training rows only: the caller decides what that is)."""
    ids = frame["unique_id"].to_numpy()
    target = SeriesScaler(kind).fit(frame["y"].to_numpy(), ids)
    columns = list(spec.past_covariates + spec.future_covariates)
    covariates = None
    if columns:
        covariates = SeriesScaler(kind).fit(frame[columns].to_numpy(dtype=float), ids)
    return Scalers(target, covariates)


def build_design(frame: pd.DataFrame, spec: DesignSpec, scalers: Scalers) -> Design:
    """Feature arrays for `frame` (long layout, sorted by unique_id then ds).

    Target values may be NaN only for future rows appended for prediction; past-only
    covariates of those rows are held at their last observed value by the caller.
    """
    ids = frame["unique_id"].to_numpy()
    y = scalers.target.transform(frame["y"].to_numpy(dtype=float), ids)
    covariate_cols = list(spec.past_covariates + spec.future_covariates)
    cov = (scalers.covariates.transform(frame[covariate_cols].to_numpy(dtype=float), ids)
           if scalers.covariates is not None else np.zeros((len(frame), 0)))
    n_past = len(spec.past_covariates)
    known = spec.known_columns(frame["ds"])
    lags = lagged(y, ids, spec.seasonal_lags)
    encoder = np.column_stack([y, lags, cov, known])
    step = np.column_stack([lags, cov[:, n_past:], known])
    segments = _segments(ids)
    return Design(
        encoder=np.nan_to_num(encoder, nan=0.0).astype(np.float32),
        step=np.nan_to_num(step, nan=0.0).astype(np.float32),
        target=y.astype(np.float32),
        segments=segments,
        times=frame["ds"].to_numpy(),
        ids=ids,
    )


def lagged(y: np.ndarray, ids: np.ndarray, lags: tuple[int, ...]) -> np.ndarray:
    """(rows, len(lags)) with y shifted by each lag within its series (NaN before the start)."""
    out = np.full((len(y), len(lags)), np.nan)
    for j, m in enumerate(lags):
        if m < len(y):
            out[m:, j] = np.where(ids[m:] == ids[:-m], y[:-m], np.nan)
    return out


def _segments(ids: np.ndarray) -> dict[str, tuple[int, int]]:
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.r_[0, change]
    stops = np.r_[change, len(ids)]
    return {str(ids[s]): (int(s), int(e)) for s, e in zip(starts, stops, strict=True)}


def encoder_size(spec: DesignSpec, n_known: int) -> int:
    """Columns of the encoder features."""
    return 1 + len(spec.seasonal_lags) + len(spec.past_covariates) + len(
        spec.future_covariates) + n_known


def step_size(spec: DesignSpec, n_known: int) -> int:
    """Columns of the step features."""
    return len(spec.seasonal_lags) + len(spec.future_covariates) + n_known


def check_covariates(frame: pd.DataFrame, spec: DesignSpec) -> None:
    """Every declared covariate is a column; none is declared twice."""
    declared = list(spec.past_covariates) + list(spec.future_covariates)
    doubled = {c for c in declared if declared.count(c) > 1}
    if doubled:
        raise ConfigError(
            f"covariate(s) {sorted(doubled)} declared both past-only and known-future; "
            "choose one: past-only if its future values are unknown at forecast time"
        )
    missing = [c for c in declared if c not in frame.columns]
    if missing:
        available = [c for c in frame.columns if c not in ("unique_id", "ds", "y")]
        raise DataValidationError(
            f"covariate column(s) {missing} not in the data; columns available: {available}"
        )
