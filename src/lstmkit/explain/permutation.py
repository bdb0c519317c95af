"""Permutation importance of a forecaster's features and lookback time steps.

The importance of a feature is how much a metric (MAE by default, original units) grows when
that feature's inputs are shuffled across the windows of a set of origins, so that each
forecast reads another window's values for it while everything else stays in place:

    importance = metric(actual, forecast(permuted windows)) - metric(actual, forecast(windows))

A feature is shuffled as a whole sequence (all lookback steps, and the forecast steps for the
seasonal lags and known-future inputs), so its own time pattern stays intact. A block of
lookback steps is shuffled with every feature at those steps. Each permutation is one indexed
gather over the batched window tensors; the same `repeats` permutations are used for every
feature and block, and the mean and standard deviation over them are reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation.metrics import mae, rmse
from lstmkit.explain._inputs import (
    Origins,
    Windows,
    actuals,
    check_model,
    check_repeats,
    check_series,
    design_of,
    features,
    forecast,
    origin_rows,
    valid_origins,
    windows,
)

METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {"mae": mae, "rmse": rmse}
Metric = str | Callable[[np.ndarray, np.ndarray], float]


@dataclass
class PermutationImportance:
    """Importances (increase of `metric` when shuffled; higher = the forecast relies on it).

    features: feature, kind, importance_mean, importance_std (ranked, most important first).
    time_steps: block, offset_start, offset_end (lookback offsets, -1 = the step just before
        the origin), importance_mean, importance_std (newest block first).
    """

    features: pd.DataFrame
    time_steps: pd.DataFrame
    metric: str
    baseline: float  # the metric of the unshuffled forecasts
    n_origins: int
    repeats: int

    def table(self) -> pd.DataFrame:
        """Both tables in one (scope "feature" or "time step"), e.g. for a CSV."""
        feats = self.features.rename(columns={"feature": "name"}).assign(scope="feature")
        steps = self.time_steps.rename(columns={"block": "name"}).assign(
            scope="time step", kind="lookback")
        out = pd.concat([feats, steps], ignore_index=True)
        out["metric"], out["baseline"] = self.metric, self.baseline
        columns = ["scope", "name", "kind", "offset_start", "offset_end", "importance_mean",
                   "importance_std", "metric", "baseline"]
        return out.reindex(columns=columns)


def permutation_importance(
    model: Any,
    data: Any,
    origins: Origins = None,
    *,
    series: str | None = None,
    repeats: int = 5,
    metric: Metric = "mae",
    time_block: int | None = None,
    max_origins: int = 256,
    seed: int = 0,
) -> PermutationImportance:
    """Permutation importance of every feature and every block of lookback steps.

    Args:
        model: a fitted `LSTMForecaster` (any strategy).
        data: rows with observed targets (DataFrame, CSV/Parquet path or SeriesFrame), in the
            layout the model was fitted on.
        origins: times of the forecasts' first steps to score (None: every origin whose
            lookback and `horizon` actuals lie in the data, evenly thinned to `max_origins`).
        series: restrict to one series of a many-series model.
        repeats: shuffles per feature / block (mean and std are reported).
        metric: "mae", "rmse" or a function (actual, forecast) -> float, lower is better.
        time_block: lookback steps shuffled together (default: ceil(lookback / 24)).
        seed: seeds the shuffles.
    """
    model = check_model(model)
    repeats = check_repeats(repeats)
    score, metric_name = _metric(metric)
    block = _block(time_block, model.lookback)
    design = design_of(model, data)
    rows = _scored_rows(model, design, origins, series, max_origins)
    inputs = windows(model, design, rows)
    truth = actuals(model, design, rows)
    base = score(truth, forecast(model, inputs))
    generator = torch.Generator().manual_seed(seed)
    perms = [torch.randperm(len(rows), generator=generator) for _ in range(repeats)]

    def rise(shuffle: Callable[[Tensor], Windows]) -> tuple[float, float]:
        drops = [score(truth, forecast(model, shuffle(p))) - base for p in perms]
        return float(np.mean(drops)), float(np.std(drops))

    feature_rows = []
    for feature in features(model, design):
        mean, std = rise(lambda p, f=feature: _shuffle_columns(inputs, p, f.encoder, f.step))
        feature_rows.append((feature.name, feature.kind, mean, std))
    step_rows = []
    for stop in range(model.lookback, 0, -block):
        start = max(0, stop - block)
        mean, std = rise(lambda p, a=start, b=stop: _shuffle_steps(inputs, p, a, b))
        first, last = start - model.lookback, stop - 1 - model.lookback
        step_rows.append((_block_name(first, last), first, last, mean, std))
    columns = ["importance_mean", "importance_std"]
    feats = pd.DataFrame(feature_rows, columns=["feature", "kind", *columns])
    feats = feats.sort_values("importance_mean", ascending=False, kind="stable")
    steps = pd.DataFrame(step_rows, columns=["block", "offset_start", "offset_end", *columns])
    return PermutationImportance(feats.reset_index(drop=True), steps, metric_name, base,
                                 len(rows), repeats)


def _shuffle_columns(inputs: Windows, perm: Tensor, encoder: tuple[int, ...],
                     step: tuple[int, ...]) -> Windows:
    """Windows whose `encoder` and `step` columns come from the windows `perm`."""
    enc, stp = inputs.encoder, inputs.step
    if encoder:
        enc = enc.clone()
        cols = torch.tensor(encoder)
        enc[:, :, cols] = inputs.encoder[perm][:, :, cols]
    if step:
        stp = stp.clone()
        cols = torch.tensor(step)
        stp[:, :, cols] = inputs.step[perm][:, :, cols]
    return Windows(enc, stp, inputs.rows, inputs.ids)


def _shuffle_steps(inputs: Windows, perm: Tensor, start: int, stop: int) -> Windows:
    """Windows whose lookback positions start..stop-1 come from the windows `perm`."""
    enc = inputs.encoder.clone()
    enc[:, start:stop] = inputs.encoder[perm, start:stop]
    return Windows(enc, inputs.step, inputs.rows, inputs.ids)


def _scored_rows(model: Any, design: Any, origins: Origins, series: str | None,
                 max_origins: int) -> np.ndarray:
    if origins is not None:
        rows = origin_rows(model, design, origins, series)
        unknown = np.isnan(design.target[rows[:, None] + np.arange(model.horizon)]).any(axis=1)
        if unknown.any():
            raise DataValidationError(
                f"origin {design.times[rows[unknown][0]]} has no observed target for some of "
                f"its {model.horizon} steps; permutation importance scores forecasts against "
                "actuals")
    else:
        check_series(design, series)
        rows = valid_origins(model, design, known=True)
        if series is not None:
            rows = rows[design.ids[rows].astype(str) == str(series)]
        if len(rows) > max_origins:
            rows = rows[np.unique(np.linspace(0, len(rows) - 1, max_origins).round()
                                  .astype(int))]
    if len(rows) < 2:
        raise DataValidationError(
            f"permutation importance needs at least 2 origins with observed targets, got "
            f"{len(rows)}; give more data (each origin needs lookback {model.lookback} + "
            f"seasonal lag {model.spec_.max_lag} rows before it and {model.horizon} after)")
    return rows


def _metric(metric: Metric) -> tuple[Callable[[np.ndarray, np.ndarray], float], str]:
    if callable(metric):
        return metric, getattr(metric, "__name__", "metric")
    if metric not in METRICS:
        raise ConfigError(f"metric must be one of {tuple(METRICS)} or a function, got "
                          f"{metric!r}")
    return METRICS[metric], metric


def _block(time_block: int | None, lookback: int) -> int:
    if time_block is None:
        return math.ceil(lookback / 24)
    if isinstance(time_block, bool) or not isinstance(time_block, int) or time_block < 1:
        raise ConfigError(f"time_block must be a positive integer, got {time_block!r}")
    return time_block


def _block_name(first: int, last: int) -> str:
    return f"t{first}" if first == last else f"t{first}..t{last}"
