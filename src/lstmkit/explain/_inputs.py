"""What every explanation shares: the fitted model, its design, origins, windows, features.

An origin is the row (and time) of the first forecast step, as in the backtest's forecasts
table: the window at origin o reads the lookback rows o-L .. o-1 and predicts o .. o+H-1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from lstmkit.data.loading import SeriesFrame
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.features import calendar_features
from lstmkit.models.forecast_design import Design
from lstmkit.models.forecaster import LSTMForecaster

Origins = Any  # a timestamp (str, pd.Timestamp, datetime) or a sequence of them, or None


def check_model(model: Any) -> LSTMForecaster:
    """`model` as a fitted LSTMForecaster, or a ConfigError that says what to do."""
    if not isinstance(model, LSTMForecaster):
        raise ConfigError(
            f"explanations need a fitted LSTMForecaster, got {type(model).__name__}")
    if not hasattr(model, "network_"):
        raise ConfigError(
            "this LSTMForecaster is not fitted yet; call fit(data) (or lstmkit.load a saved "
            "model) before explaining it")
    return model


def check_repeats(repeats: Any) -> int:
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ConfigError(f"repeats must be a positive integer, got {repeats!r}")
    return int(repeats)


def series_of(model: LSTMForecaster, data: Any) -> SeriesFrame:
    """`data` (DataFrame, CSV/Parquet path or SeriesFrame) loaded and validated as the model
    was fitted (time column, target, id column, frequency, covariates)."""
    return model.load_data(data)


def design_of(model: LSTMForecaster, data: Any) -> Design:
    """The model's feature arrays of `data`."""
    return model.design(series_of(model, data).frame)


def valid_origins(model: LSTMForecaster, design: Design, *, known: bool = False) -> np.ndarray:
    """Rows with a full lookback (and seasonal lags) before them and `horizon` rows from them
    in their series; with `known`, only those whose `horizon` actuals are all observed."""
    origins = design.origins(model.lookback, model.horizon, model.spec_.max_lag)
    if known and len(origins):
        steps = origins[:, None] + np.arange(model.horizon)
        origins = origins[~np.isnan(design.target[steps]).any(axis=1)]
    return origins


def origin_rows(model: LSTMForecaster, design: Design, origins: Origins,
                series: str | None = None) -> np.ndarray:
    """Design rows of the forecasts whose first step is at each time of `origins`."""
    times = [origins] if _is_scalar(origins) else list(origins)
    if not times:
        raise DataValidationError("origins is empty; give at least one time")
    ids = design.ids.astype(str)
    check_series(design, series)
    stamps = pd.DatetimeIndex(design.times)
    valid = set(valid_origins(model, design).tolist())
    rows = []
    for value in times:
        when = _as_time(value, design.times)
        match = np.flatnonzero(stamps == when)
        if series is not None:
            match = match[ids[match] == str(series)]
        if len(match) == 0:
            raise DataValidationError(
                f"origin {when} is not a timestamp of the data ({_span(design)}); give the "
                "time of a forecast's first step")
        if len(match) > 1:
            raise DataValidationError(
                f"origin {when} is in {len(match)} series; pass series=<id> to choose one")
        row = int(match[0])
        if row not in valid:
            raise DataValidationError(_history_message(model, design, row, when))
        rows.append(row)
    return np.array(rows, dtype=np.int64)


def latest_origins(model: LSTMForecaster, design: Design, count: int,
                   series: str | None = None) -> np.ndarray:
    """The `count` newest valid origins of each series (or of `series`)."""
    check_series(design, series)
    origins = valid_origins(model, design)
    parts = []
    for uid in design.segments:
        if series is not None and uid != str(series):
            continue
        mine = origins[design.ids[origins].astype(str) == uid]
        parts.append(mine[-count:])
    rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if len(rows) == 0:
        raise DataValidationError(
            f"no forecast origin fits in the data: each needs lookback {model.lookback} + "
            f"seasonal lag {model.spec_.max_lag} rows before it and horizon {model.horizon} "
            "rows from it")
    return rows


@dataclass
class Windows:
    """Network inputs at n origins. For the recursive strategy `encoder` also holds the
    `horizon` rows after the lookback (known-future inputs the forecast loop reads)."""

    encoder: Tensor  # (n, L[+H], Fe)
    step: Tensor  # (n, H, Fd)
    rows: np.ndarray  # (n,) origin rows of the design
    ids: np.ndarray  # (n,) series ids


def windows(model: LSTMForecaster, design: Design, rows: np.ndarray) -> Windows:
    """Gather the windows at `rows` as batched tensors (one indexed gather, no loop)."""
    L, H = model.lookback, model.horizon
    step = torch.from_numpy(design.step[rows[:, None] + np.arange(H)])
    span = np.arange(-L, H if model.strategy == "recursive" else 0)
    encoder = torch.from_numpy(design.encoder[rows[:, None] + span])
    return Windows(encoder, step, rows, design.ids[rows])


def actuals(model: LSTMForecaster, design: Design, rows: np.ndarray) -> np.ndarray:
    """(n, H) observed targets from each origin, original units (NaN where unknown)."""
    scaled = design.target[rows[:, None] + np.arange(model.horizon)].astype(np.float64)
    return model._to_original(scaled, design.ids[rows])


def scaled_forecast(model: LSTMForecaster, encoder: Tensor, step: Tensor) -> Tensor:
    """(n, H) point forecasts in scaled space (the median or the mean of a probabilistic
    head); differentiable for the direct and seq2seq strategies."""
    return point(model, model.network_(encoder, step))


def point(model: LSTMForecaster, raw: Tensor) -> Tensor:
    """The point forecast in raw network outputs: the median of quantile heads, the mean of
    Gaussian ones."""
    if model.likelihood == "quantile":
        return raw[..., list(model.quantiles_).index(0.5)]
    if model.likelihood == "gaussian":
        return raw[..., 0]
    return raw


def to_original(model: LSTMForecaster, scaled: Tensor, ids: np.ndarray) -> Tensor:
    """(n, H) scaled forecasts -> original units, in torch (so gradients pass through)."""
    inverse = model.scalers_.target.inverse_transform
    center = inverse(np.zeros(len(ids)), ids)
    scale = inverse(np.ones(len(ids)), ids) - center
    values = scaled * torch.as_tensor(scale, dtype=scaled.dtype)[:, None] + torch.as_tensor(
        center, dtype=scaled.dtype)[:, None]
    if model.target_transform == "log1p":
        return torch.expm1(values)
    if model.target_transform == "log":
        return torch.exp(values)
    return values


def forecast(model: LSTMForecaster, inputs: Windows, *, batch: int = 1024) -> np.ndarray:
    """(n, H) point forecasts in original units of (possibly permuted) windows."""
    net = model.network_
    was_training = net.training
    net.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, len(inputs.rows), batch):
                part = slice(start, start + batch)
                enc, step, ids = inputs.encoder[part], inputs.step[part], inputs.ids[part]
                if model.strategy == "recursive":
                    scaled = torch.from_numpy(_recursive(model, enc, step))
                else:
                    scaled = scaled_forecast(model, enc, step).double()
                out.append(to_original(model, scaled, ids).numpy())
    finally:
        net.train(was_training)
    return np.concatenate(out)


def _recursive(model: LSTMForecaster, encoder: Tensor, step: Tensor) -> np.ndarray:
    """The model's own recursive loop over standalone windows: each window becomes one
    series of L+H rows of a throwaway design, with its origin at row L."""
    n, span, width = encoder.shape
    L = model.lookback
    steps = torch.zeros(n, span, step.shape[-1])
    steps[:, L:] = step
    fake = Design(
        encoder=encoder.reshape(n * span, width).numpy(),
        step=steps.reshape(n * span, -1).numpy(),
        target=np.zeros(n * span, dtype=np.float32), segments={},
        times=np.zeros(n * span), ids=np.zeros(n * span),
    )
    return model._recursive(fake, np.arange(n) * span + L)


@dataclass(frozen=True)
class Feature:
    """A feature as a user names it, and the input columns that carry it."""

    name: str
    kind: str  # target, seasonal lag, past covariate, future covariate, calendar, fourier
    encoder: tuple[int, ...]  # columns of the encoder inputs
    step: tuple[int, ...]  # columns of the step inputs


def features(model: LSTMForecaster, design: Design) -> list[Feature]:
    """The model's input columns grouped as features: the target, each seasonal lag, each
    covariate, each calendar feature (its sin/cos pair) and each Fourier period."""
    spec, target = model.spec_, str(model.target_)
    known = _known_names(model, design)
    encoder = ([(target, "target")]
               + [(f"{target} lag {m}", "seasonal lag") for m in spec.seasonal_lags]
               + [(c, "past covariate") for c in spec.past_covariates]
               + [(c, "future covariate") for c in spec.future_covariates] + known)
    step = encoder[1:1 + len(spec.seasonal_lags)] + encoder[
        1 + len(spec.seasonal_lags) + len(spec.past_covariates):]
    groups: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
    for columns, part in ((encoder, 0), (step, 1)):
        for index, key in enumerate(columns):
            groups.setdefault(key, ([], []))[part].append(index)
    return [Feature(name, kind, tuple(e), tuple(s)) for (name, kind), (e, s) in groups.items()]


def column_names(model: LSTMForecaster, design: Design) -> tuple[list[str], list[str]]:
    """Feature names of each encoder column and each step column."""
    enc = [""] * design.encoder.shape[1]
    step = [""] * design.step.shape[1]
    for feature in features(model, design):
        for i in feature.encoder:
            enc[i] = feature.name
        for i in feature.step:
            step[i] = feature.name
    return enc, step


def _known_names(model: LSTMForecaster, design: Design) -> list[tuple[str, str]]:
    spec = model.spec_
    names: list[tuple[str, str]] = []
    if spec.calendar:
        sample = pd.Series(design.times[:1])
        for column in calendar_features(sample, spec.calendar, cyclical=True).columns:
            names.append((f"calendar {column.removesuffix('_sin').removesuffix('_cos')}",
                          "calendar"))
    for period, order in spec.fourier.items():
        names += [(f"fourier {period:g}", "fourier")] * (2 * order)
    return names


def check_series(design: Design, series: str | None) -> None:
    if series is not None and str(series) not in design.segments:
        raise DataValidationError(
            f"series {series!r} is not in the data; series are {list(design.segments)[:10]}")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | pd.Timestamp | np.datetime64) or not isinstance(
        value, Sequence | np.ndarray | pd.Index | pd.Series)


def _as_time(value: Any, like: np.ndarray) -> pd.Timestamp:
    try:
        when = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise DataValidationError(f"origin {value!r} is not a time: {err}") from err
    zone = pd.DatetimeIndex(like[:1]).tz
    if zone is not None and when.tz is None:
        return when.tz_localize(zone)
    if zone is None and when.tz is not None:
        raise DataValidationError(
            f"origin {value!r} has a time zone but the data's times have none; drop it")
    return when


def _span(design: Design) -> str:
    parts = [f"series {uid!r} runs {design.times[a]} .. {design.times[b - 1]}"
             for uid, (a, b) in list(design.segments.items())[:3]]
    return "; ".join(parts)


def _history_message(model: LSTMForecaster, design: Design, row: int,
                     when: pd.Timestamp) -> str:
    start, stop = design.segments[str(design.ids[row])]
    need = model.lookback + model.spec_.max_lag
    if row - start < need:
        return (f"origin {when} has {row - start} rows before it; the model needs {need} "
                f"(lookback {model.lookback} + seasonal lag {model.spec_.max_lag}); the "
                f"earliest possible origin is {design.times[start + need]}")
    return (f"origin {when} has {stop - row} rows from it; the model needs horizon "
            f"{model.horizon} rows from the origin (the latest possible origin is "
            f"{design.times[stop - model.horizon]})")
