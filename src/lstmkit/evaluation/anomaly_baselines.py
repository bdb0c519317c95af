"""Classical anomaly detectors with the `AnomalyDetector` interface (fit / score / predict /
intervals / fit_threshold, the same threshold rules).

- `RollingZScore`: causal: each row is compared with the mean and standard deviation of the
  `window` rows before it; score = |z|, combined across columns (mean or max). The first
  `window` rows have no history: NaN.
- `IsolationForestDetector`: scikit-learn's isolation forest over windowed features (the
  `window` rows ending at each row, every column, standardised with training statistics, plus
  the window's first differences); a window's score is minus its `score_samples`, and a row's
  score is the mean of the windows covering it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmkit.data.windows import sliding_windows
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.models.anomaly import COMBINE, BaseAnomalyDetector


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


class _WindowedBaseline(BaseAnomalyDetector):
    window: int

    def _check_length(self, n: int, *, fitting: bool) -> None:
        need = self.window + 1
        if n < need:
            raise DataValidationError(
                f"the data has {n} rows; {type(self).__name__} needs at least window "
                f"{self.window} + 1 = {need}; give more rows or a shorter window")


class RollingZScore(_WindowedBaseline):
    """|x - rolling mean| / rolling std over the previous `window` rows (causal)."""

    def __init__(self, window: int = 50, combine: str = "mean", threshold: float | str =
                 "quantile", quantile: float = 0.99, contamination: float = 0.01,
                 min_gap: int = 0) -> None:
        self.window = window
        self.combine = combine
        self.threshold = threshold
        self.quantile = quantile
        self.contamination = contamination
        self.min_gap = min_gap

    def _check_params(self) -> None:
        _positive_int("window", self.window)
        if self.combine not in COMBINE:
            raise ConfigError(f"combine must be one of {COMBINE}, got {self.combine!r}")
        self._check_threshold_params()

    def _fit_values(self, values: np.ndarray) -> None:
        # a flat stretch has zero spread: floor the std at a small share of the overall spread
        spread = values.std(axis=0)
        self.std_floor_ = np.where(spread > 0, spread * 1e-3, 1e-12)

    def _score_values(self, values: np.ndarray) -> np.ndarray:
        w = self.window
        history = sliding_windows(values, w)[:-1]  # windows ending at rows w-1 .. n-2
        mean = history.mean(axis=1)
        std = np.maximum(history.std(axis=1), self.std_floor_)
        z = np.full(values.shape, np.nan)
        z[w:] = np.abs(values[w:] - mean) / std
        with np.errstate(invalid="ignore"):
            return z.mean(axis=1) if self.combine == "mean" else z.max(axis=1)


class IsolationForestDetector(_WindowedBaseline):
    """Isolation forest on windows of `window` rows (values and first differences)."""

    def __init__(self, window: int = 16, n_estimators: int = 200, max_samples: int | str =
                 "auto", threshold: float | str = "quantile", quantile: float = 0.99,
                 contamination: float = 0.01, min_gap: int = 0, seed: int = 0) -> None:
        self.window = window
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.threshold = threshold
        self.quantile = quantile
        self.contamination = contamination
        self.min_gap = min_gap
        self.seed = seed

    def _check_params(self) -> None:
        _positive_int("window", self.window)
        _positive_int("n_estimators", self.n_estimators)
        self._check_threshold_params()

    def _features(self, values: np.ndarray) -> np.ndarray:
        scaled = (values - self.mean_) / self.std_
        windows = sliding_windows(scaled, self.window)  # (W, window, C) view
        diffs = np.diff(windows, axis=1)
        return np.concatenate([windows.reshape(len(windows), -1),
                               diffs.reshape(len(windows), -1)], axis=1)

    def _fit_values(self, values: np.ndarray) -> None:
        self.mean_ = values.mean(axis=0)
        std = values.std(axis=0)
        self.std_ = np.where(std > 1e-12, std, 1.0)
        from sklearn.ensemble import IsolationForest  # slow to import: lazily

        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators, max_samples=self.max_samples,
            random_state=self.seed,
        ).fit(self._features(values))

    def _score_values(self, values: np.ndarray) -> np.ndarray:
        window_scores = -self.forest_.score_samples(self._features(values))
        n, w = len(values), self.window
        cum = np.r_[0.0, np.cumsum(window_scores)]
        t = np.arange(n)
        lo, hi = np.maximum(0, t - w + 1), np.minimum(t, len(window_scores) - 1) + 1
        return (cum[hi] - cum[lo]) / (hi - lo)
