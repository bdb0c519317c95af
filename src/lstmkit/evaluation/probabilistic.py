"""Scores of probabilistic forecasts on NumPy arrays: pinball loss, interval coverage and
width, and the continuous ranked probability score (CRPS).

Quantile forecasts are arrays (..., Q) whose last axis follows `levels`; actuals are (...).
Lower is better for every score except coverage, which should match the interval's level.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstmkit.errors import DataValidationError


def _checked(y: np.ndarray, q: np.ndarray, levels: Sequence[float]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, q = np.asarray(y, dtype=np.float64), np.asarray(q, dtype=np.float64)
    tau = np.asarray(levels, dtype=np.float64)
    if tau.ndim != 1 or tau.size == 0 or np.any((tau <= 0) | (tau >= 1)) \
            or np.any(np.diff(tau) <= 0):
        raise DataValidationError(
            f"quantile levels must be increasing and inside (0, 1), got {list(levels)}")
    if q.shape != (*y.shape, tau.size):
        raise DataValidationError(
            f"quantile forecasts have shape {q.shape}; expected the actuals' shape {y.shape} "
            f"plus one axis of {tau.size} levels")
    if np.isnan(y).any() or np.isnan(q).any():
        raise DataValidationError("actuals or quantile forecasts contain NaN; drop them first")
    return y, q, tau


def pinball_loss(y: np.ndarray, q: np.ndarray, levels: Sequence[float]) -> float:
    """Mean pinball (quantile) loss over every value and level."""
    y, q, tau = _checked(y, q, levels)
    error = y[..., None] - q
    return float(np.maximum(tau * error, (tau - 1) * error).mean())


def crps_quantiles(y: np.ndarray, q: np.ndarray, levels: Sequence[float]) -> float:
    """CRPS from quantile forecasts by its quantile decomposition, CRPS = 2∫ρ_τ(y−q_τ)dτ,
    the integral taken as the mean over `levels`: 2 × the mean pinball loss. It converges to
    the exact CRPS as evenly spaced levels fill (0, 1); with a few levels it is coarse."""
    return 2.0 * pinball_loss(y, q, levels)


def crps_gaussian(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Mean exact CRPS of Gaussian forecasts N(mean, std²):
    σ·[z(2Φ(z) − 1) + 2φ(z) − 1/√π] with z = (y − μ)/σ."""
    y, mean, std = (np.asarray(a, dtype=np.float64) for a in (y, mean, std))
    if not y.shape == mean.shape == std.shape:
        raise DataValidationError(
            f"actuals {y.shape}, means {mean.shape} and stds {std.shape} must have one shape")
    if np.any(std <= 0) or np.isnan(std).any():
        raise DataValidationError("Gaussian CRPS needs every std > 0")
    z = (y - mean) / std
    from scipy.stats import norm  # slow to import: lazily

    score = std * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))
    return float(score.mean())


def interval_coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside [lower, upper]."""
    y, lower, upper = (np.asarray(a, dtype=np.float64) for a in (y, lower, upper))
    return float(((y >= lower) & (y <= upper)).mean())


def interval_width(lower: np.ndarray, upper: np.ndarray) -> float:
    """Mean width of the intervals [lower, upper]."""
    return float((np.asarray(upper, dtype=np.float64) - np.asarray(lower, np.float64)).mean())
