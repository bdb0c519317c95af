"""Score backtest forecasts per fold and rank models in one comparison table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation.metrics import DEFAULT_METRICS, compute_metrics, directional_accuracy
from lstmkit.evaluation.splits import Fold

FORECAST_COLUMNS = ("fold", "origin", "step", "position", "model", "forecast", "actual")
METRIC_COLUMNS = ("model", "fold", "metric", "value")
LOWER_IS_BETTER = {"mae", "rmse", "mape", "smape", "mase"}


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{what} lacks column(s) {missing}; expected columns {list(columns)}"
        )


def score_forecasts(
    forecasts: pd.DataFrame,
    y: np.ndarray,
    folds: Sequence[Fold],
    *,
    season: int,
    names: Sequence[str] = DEFAULT_METRICS,
) -> pd.DataFrame:
    """Long metrics frame (model, fold, metric, value) from a backtest forecasts frame.

    Per model and fold, all origins' horizon values are pooled; MASE is scaled by the fold's
    training data y[train_start:train_end]. "directional_accuracy" in `names` scores, per
    origin, whether each step moves the same way as the actuals from the previous actual
    value (y[origin - 1] for the first step).
    """
    _require(forecasts, FORECAST_COLUMNS, "forecasts")
    if forecasts[["forecast", "actual"]].isna().any().any():
        raise DataValidationError(
            "forecasts has NaN in 'forecast' or 'actual'; drop or fill those rows before scoring"
        )
    values = np.asarray(y, dtype=np.float64)
    by_index = {f.index: f for f in folds}
    unknown = sorted({int(k) for k in forecasts["fold"].unique()} - set(by_index))
    if unknown:
        raise DataValidationError(
            f"forecasts has fold(s) {unknown} that are not in folds {sorted(by_index)}; "
            "score with the folds the backtest used"
        )
    directional = "directional_accuracy" in names
    pooled = [n for n in names if n != "directional_accuracy"]
    rows: list[tuple[str, int, str, float]] = []
    for (model, fold_index), group in forecasts.groupby(["model", "fold"], sort=True):
        fold = by_index[int(fold_index)]
        scores = compute_metrics(
            group["actual"].to_numpy(),
            group["forecast"].to_numpy(),
            insample=values[fold.train_start : fold.train_end],
            season=season,
            names=pooled,
        )
        if directional:
            scores["directional_accuracy"] = _directional(group, values)
        rows.extend((str(model), int(fold_index), m, v) for m, v in scores.items())
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


def _directional(group: pd.DataFrame, values: np.ndarray) -> float:
    """Directional accuracy over the origins of one model and fold."""
    ordered = group.sort_values(["origin", "step"])
    n_origins = ordered["origin"].nunique()
    actual = ordered["actual"].to_numpy().reshape(n_origins, -1)
    forecast = ordered["forecast"].to_numpy().reshape(n_origins, -1)
    origins = ordered["origin"].to_numpy()[:: actual.shape[1]]
    return directional_accuracy(actual, forecast, last_value=values[origins - 1])


def comparison_table(
    metrics: pd.DataFrame, *, rank_by: Sequence[str] = ("mase", "mae")
) -> pd.DataFrame:
    """One row per model with ``<metric>_mean`` / ``<metric>_std`` over folds, best first.

    Models are ranked by the first metric of `rank_by` present in `metrics`, ties broken by
    the next ones (lower is better except r2 and directional accuracy); `rank` starts at 1.
    """
    _require(metrics, METRIC_COLUMNS, "metrics")
    if metrics.empty:
        raise DataValidationError("metrics is empty; score some forecasts first")
    stats = metrics.groupby(["model", "metric"])["value"].agg(["mean", "std"]).unstack("metric")
    stats.columns = [f"{metric}_{stat}" for stat, metric in stats.columns]
    order = sorted(stats.columns, key=lambda c: (c.rsplit("_", 1)[0], c.endswith("_std")))
    table = stats[order]
    keys = [m for m in rank_by if f"{m}_mean" in table.columns]
    if not keys:
        raise ConfigError(
            f"rank_by {list(rank_by)} names no metric in the table; choose from "
            f"{sorted(metrics['metric'].unique())}"
        )
    table = table.sort_values(
        [f"{m}_mean" for m in keys], ascending=[m in LOWER_IS_BETTER for m in keys]
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index()
