"""`AnomalyDetector`: LSTM anomaly scores, thresholds, 0/1 flags and flagged intervals.

    detector = AnomalyDetector(method="forecast", lookback=64)
    detector.fit(normal_part, columns=["value"], time_col="t")
    scores = detector.score(df)        # one score per row, higher = more anomalous
    flags = detector.predict(df)       # 0/1 per row
    detector.intervals(df)             # DataFrame(start, end, max_score), one row per run

Two ways of scoring, both learned from normal data only:

- ``"forecast"``: an LSTM reads the last `lookback` rows of every column and forecasts the
  next `horizon` rows. The residual of a row is its mean forecast error over the origins that
  forecast it; each column's residual is standardised with a robust scale (median and MAD of
  the training residuals), and the per-column |z| are combined (mean or max) across columns.
  The first `lookback` rows have no forecast: their score is NaN and they are never flagged.
- ``"reconstruction"``: an LSTM encoder-decoder (`lstmkit.nn.autoencoder.LSTMAutoencoder`)
  reconstructs every window of `lookback` rows through a narrow code. A row's error is the
  mean squared reconstruction error of the windows covering it; it is standardised per column
  with the median and MAD of the training errors and combined across columns.

Thresholds: ``threshold="quantile"`` flags scores at or above the `quantile` of the training
scores; ``"contamination"`` flags the top `contamination` share of each scored series; a
number is used as it is; `fit_threshold(scores, labels)` sets the F1-best threshold from a
labelled validation part and overrides the rule. Values are scaled with statistics of the
training rows only. Training runs on the shared `Trainer`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import Dataset

from lstmkit import io
from lstmkit.data.loading import read_table
from lstmkit.data.windows import sliding_windows
from lstmkit.errors import ConfigError, DataValidationError, LstmkitError
from lstmkit.models.base import BaseEstimator
from lstmkit.nn.autoencoder import LSTMAutoencoder
from lstmkit.nn.regressor import SequenceRegressorNet
from lstmkit.training import Trainer, TrainingHistory

logger = logging.getLogger(__name__)

METHODS = ("forecast", "reconstruction")
THRESHOLD_RULES = ("quantile", "contamination")
COMBINE = ("mean", "max")
MAD_TO_STD = 1.4826  # MAD of a normal distribution times this is its standard deviation
_PREDICT_BATCH = 1024


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class SeriesMatrix:
    """Validated values (n, n_columns) float64, the row labels (times) and column names."""

    values: np.ndarray
    times: pd.Index
    columns: tuple[str, ...]
    is_frame: bool


def as_matrix(
    data: Any,
    columns: Sequence[str] | str | None = None,
    time_col: str | None = None,
    *,
    expect_columns: Sequence[str] | None = None,
) -> SeriesMatrix:
    """Read `data` (DataFrame, Series, array, CSV/Parquet path) into a validated matrix.

    DataFrames: `columns` default to every numeric column but `time_col`; rows are labelled by
    `time_col` (which must increase strictly) or else by the index. Arrays: 1-D is one column,
    2-D is (rows, columns), named ``x0, x1, ...`` unless `columns` names them. With
    `expect_columns` (scoring a fitted detector) DataFrames must hold those columns and arrays
    must have that many. Every value must be finite.
    """
    if isinstance(columns, str):
        columns = [columns]
    if isinstance(data, str | os.PathLike):
        data = read_table(Path(data))[0]
    if isinstance(data, pd.Series):
        data = data.to_frame(name=str(data.name) if data.name is not None else "x0")
    if isinstance(data, pd.DataFrame):
        return _frame_matrix(data, columns, time_col, expect_columns)
    if time_col is not None:
        raise ConfigError(
            f"time_col={time_col!r} needs a DataFrame (or CSV/Parquet file) with that column; "
            f"got a {type(data).__name__}"
        )
    return _array_matrix(data, columns, expect_columns)


def _frame_matrix(frame: pd.DataFrame, columns: Sequence[str] | None, time_col: str | None,
                  expect_columns: Sequence[str] | None) -> SeriesMatrix:
    if frame.empty:
        raise DataValidationError("the data has no rows; give at least one row per time step")
    if time_col is not None and time_col not in frame.columns:
        if time_col in (frame.index.names or []):
            frame = frame.reset_index()
        else:
            raise DataValidationError(
                f"time column {time_col!r} is not in the data; its columns are "
                f"{[str(c) for c in frame.columns]}")
    wanted = list(expect_columns if expect_columns is not None else (columns or []))
    if not wanted:
        wanted = [c for c in frame.columns
                  if c != time_col and pd.api.types.is_numeric_dtype(frame[c])]
        if not wanted:
            raise DataValidationError(
                f"the data has no numeric column besides the time column; its columns are "
                f"{[str(c) for c in frame.columns]}: name the value columns with columns=[...]")
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        fitted = " the detector was fitted on" if expect_columns is not None else ""
        raise DataValidationError(
            f"column(s) {missing} not in the data ({[str(c) for c in frame.columns]});"
            f"{fitted or ' choose from those'} {list(wanted) if fitted else ''}".rstrip())
    if time_col is not None and time_col in wanted:
        raise ConfigError(f"{time_col!r} is the time column; it cannot also be a value column")
    values = np.empty((len(frame), len(wanted)), dtype=np.float64)
    for j, name in enumerate(wanted):
        column = frame[name]
        numeric = pd.to_numeric(column, errors="coerce")
        bad = numeric.isna() & column.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataValidationError(
                f"column {name!r} must be numeric; row {row} holds {column.iloc[row]!r}: "
                "convert it, or leave the column out of columns=[...]")
        values[:, j] = numeric.to_numpy(dtype=np.float64)
    times = pd.Index(frame[time_col]) if time_col is not None else frame.index
    if time_col is not None:
        _check_time_order(times, time_col)
    _check_finite(values, [str(c) for c in wanted], times)
    return SeriesMatrix(values, pd.Index(times), tuple(str(c) for c in wanted), True)


def _array_matrix(data: Any, columns: Sequence[str] | None,
                  expect_columns: Sequence[str] | None) -> SeriesMatrix:
    try:
        raw = data.detach().cpu().numpy() if isinstance(data, Tensor) else data
        values = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataValidationError(
            f"data must be a DataFrame, a numeric array (rows, columns) or a CSV/Parquet path; "
            f"got {type(data).__name__} ({err})") from None
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise DataValidationError(
            f"data must be a non-empty 1-D array or 2-D array (rows, columns), got shape "
            f"{values.shape}")
    if expect_columns is not None:
        names = list(expect_columns)
        if values.shape[1] != len(names):
            raise DataValidationError(
                f"data has {values.shape[1]} column(s), the detector was fitted on "
                f"{len(names)} ({names}); give the same columns in the same order")
    elif columns:
        names = list(columns)
        if len(names) != values.shape[1]:
            raise DataValidationError(
                f"columns names {len(names)} column(s) {names} but the array has "
                f"{values.shape[1]}")
    else:
        names = [f"x{j}" for j in range(values.shape[1])]
    times = pd.RangeIndex(len(values))
    _check_finite(values, names, times)
    return SeriesMatrix(values, times, tuple(names), False)


def _check_time_order(times: pd.Index, time_col: str) -> None:
    if times.hasnans:
        row = int(np.flatnonzero(pd.isna(times))[0])
        raise DataValidationError(
            f"time column {time_col!r} is empty in row {row}; fill in or drop that row")
    try:
        steps = np.asarray(times[1:]) > np.asarray(times[:-1])
    except TypeError as err:
        raise DataValidationError(
            f"time column {time_col!r} cannot be ordered ({err}); give numbers or timestamps"
        ) from None
    if not steps.all():
        row = int(np.flatnonzero(~steps)[0]) + 1
        raise DataValidationError(
            f"time column {time_col!r} must increase strictly: row {row} ({times[row]}) does "
            f"not come after row {row - 1} ({times[row - 1]}); sort the data by time and drop "
            "duplicate timestamps")


def _check_finite(values: np.ndarray, names: Sequence[str], times: pd.Index) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        count = int(bad.any(axis=1).sum())
        raise DataValidationError(
            f"column {names[col]!r} is {values[row, col]} in row {row} (time {times[row]}); "
            f"{count} row(s) hold NaN/inf. Fill them (e.g. df.interpolate()) or drop them first")


# ----------------------------------------------------------------------------- runs


def flagged_runs(flags: Any, min_gap: int = 0) -> list[tuple[int, int]]:
    """Contiguous runs of 1s in `flags` as inclusive (start, end) positions.

    Runs separated by at most `min_gap` unflagged points are merged (the gap is included).
    """
    if isinstance(min_gap, bool) or not isinstance(min_gap, int | np.integer) or min_gap < 0:
        raise ConfigError(f"min_gap must be an integer >= 0, got {min_gap!r}")
    f = np.asarray(flags).astype(bool).astype(np.int8).reshape(-1)
    if f.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], f, [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    runs: list[tuple[int, int]] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if runs and s - runs[-1][1] - 1 <= min_gap:
            runs[-1] = (runs[-1][0], e)
        else:
            runs.append((s, e))
    return runs


def runs_frame(runs: Sequence[tuple[int, int]], scores: np.ndarray, times: pd.Index
               ) -> pd.DataFrame:
    """DataFrame(start, end, max_score) of `runs`, start/end as row labels (times)."""
    starts = [times[s] for s, _ in runs]
    ends = [times[e] for _, e in runs]
    peaks = [float(np.nanmax(scores[s:e + 1])) for s, e in runs]
    return pd.DataFrame({
        "start": pd.Series(starts, dtype=times.dtype if len(runs) else object),
        "end": pd.Series(ends, dtype=times.dtype if len(runs) else object),
        "max_score": pd.Series(peaks, dtype=float),
    })


def robust_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column median and MAD * 1.4826 (ignoring NaN); a zero MAD falls back to the
    mean absolute deviation, then to 1."""
    center = np.nanmedian(values, axis=0)
    deviation = np.abs(values - center)
    scale = np.nanmedian(deviation, axis=0) * MAD_TO_STD
    mean_dev = np.nanmean(deviation, axis=0) * math.sqrt(math.pi / 2)
    scale = np.where(scale > 1e-12, scale, np.where(mean_dev > 1e-12, mean_dev, 1.0))
    return center, scale


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The threshold t maximising the point-wise F1 of `scores >= t`, and that F1.

    NaN scores are never flagged. Ties in F1 go to the highest threshold (fewest flags).
    """
    finite = np.isfinite(scores)
    positives = int(labels.sum())
    s, y = scores[finite], labels[finite]
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last row of each tie group
    tp, fp, thresholds = tp[last], fp[last], s[last]
    f1 = np.where(tp > 0, 2 * tp / (tp + fp + positives), 0.0)
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


# ----------------------------------------------------------------------------- base


class BaseAnomalyDetector:
    """fit / score / predict / intervals / fit_threshold shared by every detector.

    Subclasses implement `_fit_values(values)` (learn from normal rows) and
    `_score_values(values) -> (n,)` (NaN where a row cannot be scored).
    """

    threshold: float | str
    quantile: float
    contamination: float
    min_gap: int

    # -- scikit-learn API -----------------------------------------------------------------

    def fit(self, data: Any, *, columns: Sequence[str] | str | None = None,
            time_col: str | None = None) -> BaseAnomalyDetector:
        """Learn what normal looks like from `data` (normal rows only) and set the threshold.

        `columns` (default: every numeric column but `time_col`) are the values; `time_col`
        labels the rows (default: the index). Arrays are (rows, columns) or 1-D.
        """
        self._check_params()
        matrix = as_matrix(data, columns, time_col)
        self._check_length(len(matrix.values), fitting=True)
        self._fit_values(matrix.values)
        self.columns_ = matrix.columns
        self.time_col_ = time_col
        self.n_features_in_ = len(matrix.columns)
        train_scores = self._score_values(matrix.values)
        self.threshold_ = self._rule_threshold(train_scores)
        self.threshold_source_ = (
            self.threshold if isinstance(self.threshold, str) else "fixed")
        return self

    def score(self, data: Any) -> np.ndarray | pd.Series:
        """Anomaly score per row (higher = more anomalous; NaN where it is undefined).

        A DataFrame gives a Series indexed by time (or by its index); an array gives an array.
        """
        matrix = self._matrix(data)
        scores = self._score_values(matrix.values)
        return pd.Series(scores, index=matrix.times, name="score") if matrix.is_frame else scores

    def predict(self, data: Any) -> np.ndarray | pd.Series:
        """0/1 flag per row (1 = anomalous), in the type `score` returns."""
        matrix = self._matrix(data)
        flags = self.flags(self._score_values(matrix.values))
        return pd.Series(flags, index=matrix.times, name="flag") if matrix.is_frame else flags

    def intervals(self, data: Any, *, min_gap: int | None = None) -> pd.DataFrame:
        """Flagged runs as DataFrame(start, end, max_score); start/end are row labels.

        Runs at most `min_gap` (default: the constructor's) unflagged rows apart are merged.
        """
        matrix = self._matrix(data)
        scores = self._score_values(matrix.values)
        gap = self.min_gap if min_gap is None else min_gap
        return runs_frame(flagged_runs(self.flags(scores), gap), scores, matrix.times)

    def flags(self, scores: Any) -> np.ndarray:
        """0/1 flags of precomputed `scores` under the current threshold (NaN -> 0)."""
        self._check_fitted()
        s = np.asarray(scores, dtype=np.float64).reshape(-1)
        threshold = self.threshold_for(s)
        with np.errstate(invalid="ignore"):
            return (np.isfinite(s) & (s >= threshold)).astype(np.int64)

    def threshold_for(self, scores: Any) -> float:
        """The threshold applied to `scores`: the fitted one, or for the contamination rule
        the score of the top `contamination` share of these scores."""
        self._check_fitted()
        if self.threshold_ is not None:
            return float(self.threshold_)
        s = np.asarray(scores, dtype=np.float64)
        s = np.sort(s[np.isfinite(s)])[::-1]
        if s.size == 0:
            return math.inf
        k = max(1, int(round(self.contamination * s.size)))
        return float(s[min(k, s.size) - 1])

    def fit_threshold(
        self,
        scores: Any,
        labels: Any,
        *,
        metric: Callable[[np.ndarray, np.ndarray], float] | None = None,
        max_candidates: int = 256,
    ) -> BaseAnomalyDetector:
        """Set the threshold that maximises F1 on a labelled validation part; returns self.

        `scores` come from `score` on the validation rows, `labels` are their 0/1 truth. The
        default is the point-wise F1 over every distinct score; `metric(labels, flags)` (e.g.
        an event-wise F1) is maximised over `max_candidates` quantiles of the scores instead.
        The fitted threshold replaces the rule given to the constructor.
        """
        self._check_fitted()
        s = np.asarray(scores, dtype=np.float64).reshape(-1)
        y = _binary_labels(labels, len(s))
        if not np.isfinite(s).any():
            raise DataValidationError("every score is NaN; score more rows than the lookback")
        if metric is None:
            threshold, best = best_f1_threshold(s, y)
        else:
            finite = s[np.isfinite(s)]
            qs = np.linspace(0.0, 1.0, max(2, int(max_candidates)))
            candidates = np.unique(np.quantile(finite, qs, method="lower"))[::-1]
            values = []
            for c in candidates:
                with np.errstate(invalid="ignore"):
                    flags = (np.isfinite(s) & (s >= c)).astype(np.int64)
                values.append(float(metric(y, flags)))
            index = int(np.argmax(values))
            threshold, best = float(candidates[index]), values[index]
        self.threshold_ = threshold
        self.threshold_source_ = "f1"
        self.threshold_f1_ = best
        return self

    # -- helpers --------------------------------------------------------------------------

    def _matrix(self, data: Any) -> SeriesMatrix:
        self._check_fitted()
        time_col = self.time_col_
        if time_col is not None and not isinstance(data, pd.DataFrame | str | os.PathLike):
            time_col = None
        matrix = as_matrix(data, None, time_col, expect_columns=self.columns_)
        self._check_length(len(matrix.values), fitting=False)
        return matrix

    def _rule_threshold(self, train_scores: np.ndarray) -> float | None:
        if self.threshold == "contamination":
            return None
        if self.threshold == "quantile":
            finite = train_scores[np.isfinite(train_scores)]
            if finite.size == 0:
                raise DataValidationError("no training row could be scored; give more rows")
            return float(np.quantile(finite, self.quantile))
        return float(self.threshold)

    def _check_threshold_params(self) -> None:
        t = self.threshold
        if isinstance(t, str):
            if t not in THRESHOLD_RULES:
                raise ConfigError(
                    f"threshold must be one of {THRESHOLD_RULES} or a number, got {t!r}")
        elif isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise ConfigError(
                f"threshold must be one of {THRESHOLD_RULES} or a finite number, got {t!r}")
        if not isinstance(self.quantile, int | float) or not 0 < self.quantile <= 1:
            raise ConfigError(f"quantile must be in (0, 1], got {self.quantile!r}")
        if not isinstance(self.contamination, int | float) or not 0 < self.contamination < 1:
            raise ConfigError(f"contamination must be in (0, 1), got {self.contamination!r}")
        if (isinstance(self.min_gap, bool) or not isinstance(self.min_gap, int | np.integer)
                or self.min_gap < 0):
            raise ConfigError(f"min_gap must be an integer >= 0, got {self.min_gap!r}")

    def _is_fitted(self) -> bool:
        return hasattr(self, "columns_")

    def _check_fitted(self) -> None:
        if not self._is_fitted():
            raise LstmkitError(
                f"this {type(self).__name__} is not fitted yet; call fit(data) first")

    def _check_params(self) -> None:
        self._check_threshold_params()

    def _check_length(self, n: int, *, fitting: bool) -> None:
        raise NotImplementedError

    def _fit_values(self, values: np.ndarray) -> None:
        raise NotImplementedError

    def _score_values(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _binary_labels(labels: Any, n: int) -> np.ndarray:
    y = np.asarray(labels).reshape(-1)
    if len(y) != n:
        raise DataValidationError(f"labels has {len(y)} rows but scores has {n}; align them")
    try:
        y = y.astype(np.float64)
    except (TypeError, ValueError):
        raise DataValidationError("labels must be 0/1 (or booleans)") from None
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataValidationError(f"labels must be 0/1; row {row} holds {y[row]:g}")
    if not y.any():
        raise DataValidationError(
            "labels hold no anomaly; the F1-best threshold needs at least one labelled "
            "anomalous row in the validation part (use a part that contains an event, or a "
            "quantile threshold)")
    return y.astype(np.int64)


# ----------------------------------------------------------------------------- windows


class _Windows(Dataset):
    """Training/scoring samples over a scaled series, gathered per batch from views.

    forecast: (x[o-L:o], x[o:o+H] flattened) at origins o; reconstruction: (w, w) for the
    window starting at each origin.
    """

    def __init__(self, values: Tensor, origins: np.ndarray, lookback: int, horizon: int,
                 forecast: bool) -> None:
        self.inputs = sliding_windows(values, lookback)  # (n-L+1, L, C) view
        self.targets = sliding_windows(values, horizon) if forecast else None
        self.origins = torch.as_tensor(np.asarray(origins, dtype=np.int64))
        self.lookback = lookback
        self.forecast = forecast

    def __len__(self) -> int:
        return len(self.origins)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        x, y = self.__getitems__([index])
        return x[0], y[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor]:
        o = self.origins[torch.as_tensor(indices, dtype=torch.long)]
        if not self.forecast:
            x = self.inputs[o]
            return x, x
        x = self.inputs[o - self.lookback]
        return x, self.targets[o].reshape(len(o), -1)

    @staticmethod
    def collate_fn(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """Batches arrive whole from `__getitems__`."""
        return batch


# ----------------------------------------------------------------------------- detector


@io.register_model("anomaly-detector")
class AnomalyDetector(BaseAnomalyDetector, BaseEstimator):
    """LSTM anomaly detector (forecast residuals or autoencoder reconstruction errors).

    Args:
        method: "forecast" or "reconstruction" (see the module docstring).
        lookback: rows the forecaster reads before each forecast, or the autoencoder's
            window length.
        horizon: rows forecast from each origin (forecast method); a row's residual is the
            mean error of the `horizon` forecasts that cover it.
        hidden_size, num_layers, cell, dropout: the recurrent layers.
        latent_size: width of the autoencoder's bottleneck (reconstruction method).
        combine: "mean" or "max" of the per-column standardised scores.
        threshold: "quantile", "contamination" or a number (see the module docstring).
        quantile: quantile of the training scores for threshold="quantile".
        contamination: share of rows flagged for threshold="contamination".
        min_gap: flagged runs at most this many rows apart form one interval.
        train_stride: use every n-th training window.
        validation_fraction: last share of the training windows held out for early stopping
            and for keeping the best weights (0 disables).
    """

    def __init__(
        self,
        method: str = "forecast",
        lookback: int = 32,
        horizon: int = 1,
        hidden_size: int = 32,
        num_layers: int = 1,
        cell: str = "lstm",
        dropout: float = 0.0,
        latent_size: int = 8,
        combine: str = "mean",
        threshold: float | str = "quantile",
        quantile: float = 0.99,
        contamination: float = 0.01,
        min_gap: int = 0,
        max_epochs: int = 20,
        batch_size: int = 32,
        lr: float = 5e-3,
        weight_decay: float = 0.0,
        clip_norm: float | None = 1.0,
        lr_schedule: str = "cosine",
        early_stopping_patience: int | None = None,
        validation_fraction: float = 0.1,
        train_stride: int = 1,
        seed: int = 0,
        device: str = "auto",
        precision: str = "float32",
        progress: bool | None = None,
    ) -> None:
        self.method = method
        self.lookback = lookback
        self.horizon = horizon
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.dropout = dropout
        self.latent_size = latent_size
        self.combine = combine
        self.threshold = threshold
        self.quantile = quantile
        self.contamination = contamination
        self.min_gap = min_gap
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.lr_schedule = lr_schedule
        self.early_stopping_patience = early_stopping_patience
        self.validation_fraction = validation_fraction
        self.train_stride = train_stride
        self.seed = seed
        self.device = device
        self.precision = precision
        self.progress = progress

    # -- training -------------------------------------------------------------------------

    def _fit_values(self, values: np.ndarray) -> None:
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        self.mean_, self.std_ = mean, std
        scaled = self._scaled(values)
        train, val = self._training_origins(len(values))
        network = self._network(values.shape[1])
        trainer = self._trainer(val is not None)
        history = trainer.fit(
            network,
            self._dataset(scaled, train),
            self._dataset(scaled, val) if val is not None else None,
            torch.nn.MSELoss(),
        )
        self.network_, self.history_ = network, history
        errors = self._errors(scaled)
        self.center_, self.scale_ = robust_scale(errors)

    def _training_origins(self, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        L, H = self.lookback, self._span
        if self.method == "forecast":
            origins = np.arange(L, n - H + 1)  # window reads o-L..o-1, targets o..o+H-1
        else:
            origins = np.arange(0, n - L + 1)  # window covers o..o+L-1
        n_val = int(round(len(origins) * self.validation_fraction))
        if not self.validation_fraction or n_val == 0:
            return origins[:: self.train_stride], None
        val = origins[-n_val:]
        # no training target may be a row the validation samples predict or reconstruct:
        # forecast targets are rows o..o+H-1, reconstructed windows rows o..o+L-1
        reach = H if self.method == "forecast" else L
        train = origins[origins + reach <= val[0]]
        if len(train) == 0:
            raise DataValidationError(
                f"{n} training rows leave no training window beside the validation windows "
                f"(validation_fraction={self.validation_fraction}); give more rows, a shorter "
                "lookback or validation_fraction=0")
        return train[:: self.train_stride], val

    @property
    def _span(self) -> int:
        return self.horizon if self.method == "forecast" else 0

    def _network(self, n_features: int) -> torch.nn.Module:
        torch.manual_seed(self.seed)
        if self.method == "forecast":
            return SequenceRegressorNet(
                n_features, n_features * self.horizon, self.hidden_size, self.num_layers,
                cell=self.cell, dropout=self.dropout)
        return LSTMAutoencoder(
            n_features, self.lookback, self.hidden_size, self.latent_size, self.num_layers,
            cell=self.cell, dropout=self.dropout)


    def _dataset(self, scaled: Tensor, origins: np.ndarray) -> _Windows:
        return _Windows(scaled, origins, self.lookback, max(self.horizon, 1),
                        self.method == "forecast")

    # -- scoring --------------------------------------------------------------------------

    def _scaled(self, values: np.ndarray) -> Tensor:
        return torch.from_numpy(((values - self.mean_) / self.std_).astype(np.float32))

    def _errors(self, scaled: Tensor) -> np.ndarray:
        """Per-row, per-column errors (n, C): forecast residuals (signed, NaN for the first
        `lookback` rows) or reconstruction errors (mean over the covering windows)."""
        n, C = scaled.shape
        L = self.lookback
        x = scaled.double().numpy()
        if self.method == "forecast":
            H = self.horizon
            origins = np.arange(L, n - H + 1)
            pred = self._predict(scaled, origins).reshape(len(origins), H, C)
            total = np.zeros((n, C))
            count = np.zeros((n, 1))
            for k in range(H):  # forecast k steps ahead of origin o is for row o + k
                rows = origins + k
                total[rows] += x[rows] - pred[:, k]
                count[rows] += 1
            with np.errstate(invalid="ignore"):
                return np.where(count > 0, total / np.maximum(count, 1), np.nan)
        starts = np.arange(0, n - L + 1)
        recon = self._predict(scaled, starts)  # (W, L, C)
        window_error = ((recon - sliding_windows(x, L)) ** 2).mean(axis=1)  # (W, C)
        # row t is covered by the windows starting at max(0, t-L+1) .. min(t, W-1)
        cum = np.vstack([np.zeros((1, C)), np.cumsum(window_error, axis=0)])
        t = np.arange(n)
        lo, hi = np.maximum(0, t - L + 1), np.minimum(t, len(starts) - 1) + 1
        return (cum[hi] - cum[lo]) / (hi - lo)[:, None]

    def _predict(self, scaled: Tensor, origins: np.ndarray) -> np.ndarray:
        dataset = self._dataset(scaled, origins)
        trainer = Trainer(batch_size=_PREDICT_BATCH, device=self.device, progress=False)
        return trainer.predict(self.network_, dataset).double().numpy()

    def _score_values(self, values: np.ndarray) -> np.ndarray:
        errors = self._errors(self._scaled(values))
        z = (errors - self.center_) / self.scale_
        if self.method == "forecast":
            z = np.abs(z)
        with np.errstate(invalid="ignore"):
            combined = z.mean(axis=1) if self.combine == "mean" else z.max(axis=1)
        return combined

    # -- checks ---------------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("lookback", "horizon", "hidden_size", "num_layers", "latent_size",
                     "max_epochs", "batch_size", "train_stride"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.combine not in COMBINE:
            raise ConfigError(f"combine must be one of {COMBINE}, got {self.combine!r}")
        if not isinstance(self.validation_fraction, int | float) or not (
                0 <= self.validation_fraction < 1):
            raise ConfigError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        self._check_threshold_params()

    def _min_rows(self, fitting: bool) -> int:
        if self.method == "forecast":
            return self.lookback + self.horizon + (1 if fitting else 0)
        return self.lookback + (1 if fitting else 0)

    def _check_length(self, n: int, *, fitting: bool) -> None:
        need = self._min_rows(fitting)
        if n < need:
            what = (f"lookback {self.lookback} + horizon {self.horizon}"
                    if self.method == "forecast" else f"the window (lookback) {self.lookback}")
            raise DataValidationError(
                f"the data has {n} rows; {'fitting' if fitting else 'scoring'} the "
                f"{self.method} method needs at least {need} ({what}"
                f"{' + 1' if fitting else ''}); give more rows or a shorter lookback")

    # -- persistence ----------------------------------------------------------------------

    def get_extra(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns_),
            "time_col": self.time_col_,
            "mean": self.mean_.tolist(),
            "std": self.std_.tolist(),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
            "threshold": self.threshold_,
            "threshold_source": self.threshold_source_,
            "threshold_f1": getattr(self, "threshold_f1_", None),
            "history": self.history_.to_dict(),
        }

    def set_extra(self, extra: dict[str, Any]) -> None:
        self.columns_ = tuple(extra["columns"])
        self.time_col_ = extra["time_col"]
        self.n_features_in_ = len(self.columns_)
        self.mean_, self.std_ = np.array(extra["mean"]), np.array(extra["std"])
        self.center_, self.scale_ = np.array(extra["center"]), np.array(extra["scale"])
        self.threshold_ = extra["threshold"]
        self.threshold_source_ = extra["threshold_source"]
        if extra.get("threshold_f1") is not None:
            self.threshold_f1_ = extra["threshold_f1"]
        self.history_ = TrainingHistory.from_dict(extra["history"])
        self.network_ = self._network(self.n_features_in_)
