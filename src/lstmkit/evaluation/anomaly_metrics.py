"""Anomaly detection metrics on labelled series: point-wise, event-wise and ranking.

- point-wise precision / recall / F1 treat every row as one sample;
- event-wise: an *event* is a contiguous run of labelled anomalous rows. It is detected when
  any flagged row lies within ``[start - tolerance, end + tolerance]``. A contiguous run of
  flagged rows that touches no event's tolerance window is one false-positive event.
  precision = detected / (detected + false-positive runs), recall = detected / events;
- ROC-AUC and PR-AUC (average precision) of the scores, from scikit-learn. Rows whose score
  is NaN (e.g. the first `lookback` rows of a forecast detector) rank below every scored row.

Metrics with an empty denominator are 0 (no flags: precision 0; no events: recall 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.models.anomaly import flagged_runs


def _binary(values: Any, name: str, n: int | None = None) -> np.ndarray:
    array = np.asarray(values).reshape(-1)
    if n is not None and len(array) != n:
        raise DataValidationError(f"{name} has {len(array)} rows, labels have {n}; align them")
    try:
        as_float = array.astype(np.float64)
    except (TypeError, ValueError):
        raise DataValidationError(f"{name} must hold 0/1 values (or booleans)") from None
    bad = ~np.isin(as_float, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataValidationError(f"{name} must hold 0/1 values; row {row} holds {array[row]}")
    return as_float.astype(np.int64)


def _scores(values: Any, n: int) -> np.ndarray:
    s = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(s) != n:
        raise DataValidationError(f"scores has {len(s)} rows, labels have {n}; align them")
    if np.isinf(s).any():
        row = int(np.flatnonzero(np.isinf(s))[0])
        raise DataValidationError(f"scores must be finite or NaN; row {row} is {s[row]}")
    finite = np.isfinite(s)
    if not finite.any():
        raise DataValidationError("every score is NaN; nothing to rank")
    low = s[finite].min() - 1.0
    return np.where(finite, s, low)


def _prf(tp: float, n_pred: float, n_true: float) -> dict[str, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def point_metrics(labels: Any, flags: Any) -> dict[str, float]:
    """Point-wise precision, recall and F1 of 0/1 `flags` against 0/1 `labels`."""
    y = _binary(labels, "labels")
    f = _binary(flags, "flags", len(y))
    return _prf(float((y & f).sum()), float(f.sum()), float(y.sum()))


def label_events(labels: Any) -> list[tuple[int, int]]:
    """Labelled events: contiguous runs of 1s as inclusive (start, end) positions."""
    return flagged_runs(_binary(labels, "labels"))


def event_metrics(labels: Any, flags: Any, tolerance: int = 0) -> dict[str, float]:
    """Event-wise precision, recall and F1 with a tolerance window (see the module docstring).

    Also returns the counts: events, detected, false_positive_runs.
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | np.integer) or tolerance < 0:
        raise ConfigError(f"tolerance must be an integer >= 0, got {tolerance!r}")
    y = _binary(labels, "labels")
    f = _binary(flags, "flags", len(y))
    events = flagged_runs(y)
    near = np.zeros(len(y), dtype=bool)  # rows within the tolerance window of some event
    detected = 0
    for start, end in events:
        lo, hi = max(0, start - tolerance), min(len(y), end + tolerance + 1)
        near[lo:hi] = True
        detected += bool(f[lo:hi].any())
    false_runs = sum(1 for s, e in flagged_runs(f) if not near[s:e + 1].any())
    out = _prf(float(detected), float(detected + false_runs), float(len(events)))
    out.update(events=len(events), detected=detected, false_positive_runs=false_runs)
    return out


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve of `scores` (NaN ranks lowest); NaN if one class is absent."""
    y = _binary(labels, "labels")
    s = _scores(scores, len(y))
    if y.min() == y.max():
        return float("nan")
    from sklearn.metrics import roc_auc_score  # slow to import: lazily

    return float(roc_auc_score(y, s))


def pr_auc(labels: Any, scores: Any) -> float:
    """Area under the precision-recall curve as average precision (scikit-learn)."""
    y = _binary(labels, "labels")
    s = _scores(scores, len(y))
    if not y.any():
        return float("nan")
    from sklearn.metrics import average_precision_score  # slow to import: lazily

    return float(average_precision_score(y, s))


def anomaly_metrics(labels: Any, scores: Any, flags: Any, tolerance: int = 0
                    ) -> dict[str, float]:
    """Every metric at once, flat: event_/point_ precision, recall, f1; roc_auc; pr_auc."""
    event = event_metrics(labels, flags, tolerance)
    point = point_metrics(labels, flags)
    out: dict[str, float] = {f"event_{k}": v for k, v in event.items()}
    out.update({f"point_{k}": v for k, v in point.items()})
    out["roc_auc"] = roc_auc(labels, scores)
    out["pr_auc"] = pr_auc(labels, scores)
    out["flagged"] = int(_binary(flags, "flags").sum())
    return out


def event_f1(tolerance: int = 0):
    """A `metric(labels, flags)` giving the event-wise F1, for `fit_threshold(metric=...)`."""

    def metric(labels: Any, flags: Any) -> float:
        return event_metrics(labels, flags, tolerance)["f1"]

    return metric
