"""Invertible transforms fitted only on the data they are given: scalers, log, differencing.

``SeriesScaler`` learns one centre and one scale per series and per column, with the
definitions of scikit-learn's ``StandardScaler``, ``MinMaxScaler`` and ``RobustScaler``
(population standard deviation, range, inter-quartile range; a constant column gets scale 1;
NaNs are ignored when fitting and kept when transforming). Fit it on the training part only:
nothing outside the rows passed to ``fit`` can reach the statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError, DataValidationError

SCALER_KINDS = ("standard", "minmax", "robust", "none")
_EPS = np.finfo(np.float64).eps


def _as_float(values: Any, name: str = "values") -> np.ndarray:
    """``values`` as a float64 array, or a DataValidationError naming what is wrong."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            f"{name} must be numeric; convert the column to numbers first ({exc})"
        ) from exc
    if np.isinf(array).any():
        position = tuple(int(i) for i in np.argwhere(np.isinf(array))[0])
        raise DataValidationError(
            f"{name} holds an infinite value at position {position}; replace it or mark it NaN"
        )
    return array


def _ones_where_constant(scale: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """scikit-learn's ``_handle_zeros_in_scale``: a constant column is scaled by 1."""
    return np.where(constant, 1.0, scale)


class SeriesScaler:
    """Per-series, per-column scaling ``(x - center) / scale`` with an exact inverse.

    ``values`` are ``(n,)`` or ``(n, c)``; ``ids`` are ``(n,)`` series ids (str or int) or
    None for a single series. A scaler fitted with ids needs ids at transform time and
    vice versa. Results are float64 and keep the shape of the input.
    """

    def __init__(self, kind: str = "standard") -> None:
        if kind not in SCALER_KINDS:
            raise ConfigError(f"unknown scaler kind {kind!r}; choose one of {SCALER_KINDS}")
        self.kind = kind

    # ------------------------------------------------------------------ fitting
    def fit(self, values: Any, ids: Any = None) -> SeriesScaler:
        """Learn centre and scale per series and column from these rows only."""
        x = self._two_d(_as_float(values))
        if ids is None:
            codes, uniques = np.zeros(len(x), dtype=np.int64), None
        else:
            ids = self._check_ids(ids, len(x))
            codes, found = pd.factorize(ids)
            if (codes < 0).any():
                row = int(np.argmax(codes < 0))
                raise DataValidationError(
                    f"series id at row {row} is missing; give every row an id"
                )
            uniques = np.asarray(found).tolist()
        frame = pd.DataFrame(x)
        groups = frame.groupby(codes, sort=True)
        center, scale = self._statistics(groups, frame.shape[1])
        empty = np.isnan(center)
        if empty.any():
            s, c = (int(i) for i in np.argwhere(empty)[0])
            series = "the series" if uniques is None else f"series {uniques[s]!r}"
            raise DataValidationError(
                f"{series} has no non-NaN value in column {c} to fit on; "
                "impute it or drop the column"
            )
        self.ids_: list | None = uniques
        self.center_ = center
        self.scale_ = scale
        return self

    def _statistics(self, groups: Any, n_columns: int) -> tuple[np.ndarray, np.ndarray]:
        """(center, scale), each (n_series, n_columns)."""
        if self.kind == "standard":
            mean = groups.mean().to_numpy()
            var = groups.var(ddof=0).to_numpy()
            count = groups.count().to_numpy()
            constant = var <= count * _EPS * var + (count * mean * _EPS) ** 2
            return mean, _ones_where_constant(np.sqrt(var), constant)
        if self.kind == "minmax":
            low, high = groups.min().to_numpy(), groups.max().to_numpy()
            spread = high - low
            return low, _ones_where_constant(spread, spread < 10 * _EPS)
        if self.kind == "robust":
            q1, q3 = groups.quantile(0.25).to_numpy(), groups.quantile(0.75).to_numpy()
            spread = q3 - q1
            return groups.median().to_numpy(), _ones_where_constant(spread, spread < 10 * _EPS)
        zeros = np.zeros((groups.ngroups, n_columns))  # "none"
        return zeros, zeros + 1.0

    # ------------------------------------------------------------------ applying
    def transform(self, values: Any, ids: Any = None) -> np.ndarray:
        """Scale ``values`` with the statistics of each row's series."""
        x = _as_float(values)
        center, scale = self._row_statistics(x, ids)
        return ((self._two_d(x) - center) / scale).reshape(x.shape)

    def inverse_transform(self, values: Any, ids: Any = None) -> np.ndarray:
        """Undo :meth:`transform`: ``values * scale + center`` per row's series."""
        x = _as_float(values)
        center, scale = self._row_statistics(x, ids)
        return (self._two_d(x) * scale + center).reshape(x.shape)

    def _row_statistics(self, x: np.ndarray, ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """Centre and scale broadcastable against ``x`` as (n, c)."""
        if not hasattr(self, "center_"):
            raise ConfigError("this SeriesScaler is not fitted yet; call fit(train_values) first")
        n_columns = self.center_.shape[1]
        width = 1 if x.ndim == 1 else x.shape[1]
        if x.ndim not in (1, 2) or width != n_columns:
            raise DataValidationError(
                f"values have shape {x.shape} but the scaler was fitted on {n_columns} column(s)"
            )
        if self.ids_ is None:
            if ids is not None:
                raise DataValidationError(
                    "the scaler was fitted on one series without ids; call transform without ids"
                )
            return self.center_[0], self.scale_[0]
        if ids is None:
            raise DataValidationError(
                f"the scaler was fitted per series ({len(self.ids_)} ids); pass the ids of each row"
            )
        ids = self._check_ids(ids, len(x))
        rows = pd.Index(self.ids_).get_indexer(ids)
        if (rows < 0).any():
            unknown = pd.unique(ids[rows < 0])[:5].tolist()
            raise DataValidationError(
                f"series id(s) {unknown} were not seen when fitting; fit the scaler on "
                "training data that contains every series"
            )
        return self.center_[rows], self.scale_[rows]

    @staticmethod
    def _two_d(x: np.ndarray) -> np.ndarray:
        if x.ndim == 1:
            return x.reshape(-1, 1)
        if x.ndim != 2:
            raise DataValidationError(f"values must be (n,) or (n, columns), got shape {x.shape}")
        return x

    @staticmethod
    def _check_ids(ids: Any, n: int) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.shape != (n,):
            raise DataValidationError(f"ids must have shape ({n},) like the rows, got {ids.shape}")
        return ids

    # ------------------------------------------------------------------ saving
    def state(self) -> dict[str, Any]:
        """Fitted state: ``kind`` and ``ids`` are JSON values, ``center``/``scale`` arrays."""
        if not hasattr(self, "center_"):
            raise ConfigError("this SeriesScaler is not fitted yet; call fit(train_values) first")
        return {
            "kind": self.kind,
            "ids": None if self.ids_ is None else list(self.ids_),
            "center": self.center_.copy(),
            "scale": self.scale_.copy(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SeriesScaler:
        """Rebuild a fitted scaler from :meth:`state` (arrays may be numpy or lists)."""
        missing = {"kind", "ids", "center", "scale"} - set(state)
        if missing:
            raise ConfigError(f"scaler state lacks {sorted(missing)}; save it with state()")
        scaler = cls(state["kind"])
        center = np.asarray(state["center"], dtype=np.float64)
        scale = np.asarray(state["scale"], dtype=np.float64)
        n_series = 1 if state["ids"] is None else len(state["ids"])
        if center.ndim != 2 or center.shape != scale.shape or center.shape[0] != n_series:
            raise ConfigError(
                f"scaler state is inconsistent: center {center.shape}, scale {scale.shape}, "
                f"{n_series} series"
            )
        scaler.ids_ = None if state["ids"] is None else list(state["ids"])
        scaler.center_, scaler.scale_ = center, scale
        return scaler


class LogTransform:
    """``log(x + offset)`` and its inverse; ``offset=1`` is ``log1p``/``expm1`` exactly."""

    def __init__(self, offset: float = 0.0) -> None:
        if not np.isfinite(offset):
            raise ConfigError(f"offset must be a finite number, got {offset!r}")
        self.offset = float(offset)

    def transform(self, values: Any) -> np.ndarray:
        """Log of ``values + offset``; every shifted value must be positive (NaN passes)."""
        x = _as_float(values)
        bad = x + self.offset <= 0
        if bad.any():
            position = tuple(int(i) for i in np.argwhere(bad)[0])
            value = float(x[position])
            raise DataValidationError(
                f"log transform needs values > {-self.offset:g}, got {value:g} at position "
                f"{position}; use LogTransform(offset=...) larger than {-value:g}"
            )
        return np.log1p(x) if self.offset == 1.0 else np.log(x + self.offset)

    def inverse_transform(self, values: Any) -> np.ndarray:
        """``exp(values) - offset``."""
        y = _as_float(values)
        return np.expm1(y) if self.offset == 1.0 else np.exp(y) - self.offset


class Difference:
    """Lag-``lag`` differences ``x[t] - x[t - lag]`` along the first axis, exactly invertible."""

    def __init__(self, lag: int = 1) -> None:
        if isinstance(lag, bool) or not isinstance(lag, int | np.integer) or lag < 1:
            raise ConfigError(f"lag must be an integer >= 1, got {lag!r}")
        self.lag = int(lag)

    def transform(self, values: Any) -> np.ndarray:
        """Differences, ``lag`` rows shorter than ``values``."""
        x = _as_float(values)
        if x.ndim == 0 or len(x) <= self.lag:
            rows = 0 if x.ndim == 0 else len(x)
            raise DataValidationError(
                f"differencing with lag {self.lag} needs more than {self.lag} rows, got {rows}"
            )
        return x[self.lag :] - x[: -self.lag]

    def inverse_transform(self, diffs: Any, history: Any) -> np.ndarray:
        """Levels following ``history`` (its last ``lag`` rows are the last observed values)."""
        d = _as_float(diffs, "diffs")
        h = _as_float(history, "history")
        if h.ndim == 0 or len(h) < self.lag or h.shape[1:] != d.shape[1:]:
            raise DataValidationError(
                f"history must hold the last {self.lag} observed rows with trailing shape "
                f"{d.shape[1:]}, got shape {h.shape}"
            )
        m = len(d)
        blocks = -(-m // self.lag)  # ceil: whole blocks of `lag` rows
        padded = np.zeros((blocks * self.lag, *d.shape[1:]))
        padded[:m] = d
        steps = padded.reshape(blocks, self.lag, *d.shape[1:])
        levels = h[-self.lag :] + np.cumsum(steps, axis=0)
        return levels.reshape(padded.shape)[:m]
