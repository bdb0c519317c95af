"""Point-forecast metrics on NumPy arrays: MAE, RMSE, MAPE, sMAPE, MASE, R², directional accuracy.

Every function takes ``y_true`` and ``y_pred`` of equal shape (any shape; values are pooled) and
returns a Python float. NaN in either array raises `DataValidationError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from lstmkit.errors import ConfigError, DataValidationError

logger = logging.getLogger(__name__)


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and flatten a pair of equally shaped arrays to float64."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise DataValidationError(
            f"y_true has shape {t.shape} but y_pred has shape {p.shape}; pass arrays of equal shape"
        )
    if t.size == 0:
        raise DataValidationError("y_true and y_pred are empty; pass at least one value")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if np.isnan(arr).any():
            count = int(np.isnan(arr).sum())
            raise DataValidationError(
                f"{name} contains {count} NaN value(s); impute or drop them before scoring"
            )
    return t.ravel(), p.ravel()


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error in percent; undefined (raises) when any actual is 0."""
    t, p = _pair(y_true, y_pred)
    zeros = int(np.count_nonzero(t == 0))
    if zeros:
        raise DataValidationError(
            f"mape is undefined: y_true has {zeros} zero value(s); use smape or mase instead"
        )
    return float(100.0 * np.mean(np.abs((t - p) / t)))


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric MAPE in percent (0..200): mean of 200·|y - ŷ| / (|y| + |ŷ|); 0/0 counts as 0."""
    t, p = _pair(y_true, y_pred)
    denom = np.abs(t) + np.abs(p)
    ratio = np.divide(2.0 * np.abs(t - p), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * np.mean(ratio))


def mase(
    y_true: np.ndarray, y_pred: np.ndarray, *, insample: np.ndarray, season: int = 1
) -> float:
    """Mean absolute scaled error: MAE divided by the in-sample MAE of the seasonal naive forecast.

    The scale is ``mean |insample[t] - insample[t - season]|`` over the training data.
    """
    t, p = _pair(y_true, y_pred)
    if isinstance(season, bool) or not isinstance(season, int | np.integer) or season < 1:
        raise ConfigError(f"season must be an integer >= 1, got {season!r}")
    ins = np.asarray(insample, dtype=np.float64).ravel()
    if ins.size <= season:
        raise DataValidationError(
            f"mase needs more than season={season} in-sample values, got {ins.size}; "
            "pass a longer insample or a smaller season"
        )
    if np.isnan(ins).any():
        raise DataValidationError(
            "insample contains NaN values; impute or drop them before scoring with mase"
        )
    scale = float(np.mean(np.abs(ins[season:] - ins[:-season])))
    if scale == 0.0:
        raise DataValidationError(
            f"mase is undefined: the in-sample seasonal naive error (season={season}) is 0 "
            "because insample repeats exactly; use mae or rmse instead"
        )
    return float(np.mean(np.abs(t - p)) / scale)


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (raises when y_true is constant)."""
    t, p = _pair(y_true, y_pred)
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        raise DataValidationError(
            "r2 is undefined: y_true is constant; use mae or rmse instead"
        )
    return float(1.0 - np.sum((t - p) ** 2) / ss_tot)


def directional_accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, *, last_value: np.ndarray | float
) -> float:
    """Share of horizon steps whose predicted direction of change matches the actual one.

    The reference of step t is the previous actual value: ``last_value`` for the first step,
    ``y_true[..., t-1]`` after it. ``y_true``/``y_pred`` have shape (h,) or (n, h); ``last_value``
    has shape () or (n,) to match.
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    _pair(t, p)
    if t.ndim not in (1, 2):
        raise DataValidationError(
            f"directional_accuracy needs y arrays of shape (h,) or (n, h), got {t.shape}"
        )
    last = np.asarray(last_value, dtype=np.float64)
    if last.shape != t.shape[:-1]:
        raise DataValidationError(
            f"last_value has shape {last.shape} but y_true has shape {t.shape}; "
            f"pass one last observed value per forecast, shape {t.shape[:-1]}"
        )
    if np.isnan(last).any():
        raise DataValidationError("last_value contains NaN; pass the last observed actual values")
    reference = np.concatenate([last[..., None], t[..., :-1]], axis=-1)
    hits = np.sign(p - reference) == np.sign(t - reference)
    return float(np.mean(hits))


Metric = Callable[..., float]

METRICS: dict[str, Metric] = {
    "mae": mae,
    "rmse": rmse,
    "mape": mape,
    "smape": smape,
    "mase": mase,
    "r2": r2,
}
"""Metrics `compute_metrics` can compute by name (directional accuracy needs `last_value`)."""

DEFAULT_METRICS: tuple[str, ...] = ("mae", "rmse", "mape", "smape", "mase", "r2")


def compute_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    insample: np.ndarray,
    season: int,
    names: Sequence[str] = DEFAULT_METRICS,
) -> dict[str, float]:
    """Compute the named metrics; ``mape`` is left out (with a log note) when y_true has zeros."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ConfigError(
            f"unknown metric(s) {unknown}; choose from {sorted(METRICS)}"
        )
    t, p = _pair(y_true, y_pred)
    out: dict[str, float] = {}
    for name in names:
        if name == "mape" and np.any(t == 0):
            logger.info("mape left out: y_true contains zeros (use smape or mase)")
            continue
        if name == "mase":
            out[name] = mase(t, p, insample=insample, season=season)
        else:
            out[name] = METRICS[name](t, p)
    return out
