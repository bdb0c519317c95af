"""Forecast evaluation: metrics, walk-forward folds, classical baselines, comparison tables."""

from lstmkit.evaluation.baselines import (
    ARIMA,
    BASELINE_NAMES,
    ETS,
    MSTL,
    Baseline,
    Drift,
    LinearAR,
    MovingAverage,
    Naive,
    SeasonalNaive,
    backtest_baselines,
    make_baselines,
)
from lstmkit.evaluation.compare import comparison_table, score_forecasts
from lstmkit.evaluation.metrics import (
    METRICS,
    compute_metrics,
    directional_accuracy,
    mae,
    mape,
    mase,
    r2,
    rmse,
    smape,
)
from lstmkit.evaluation.splits import Fold, walk_forward

__all__ = [
    "ARIMA",
    "BASELINE_NAMES",
    "ETS",
    "METRICS",
    "MSTL",
    "Baseline",
    "Drift",
    "Fold",
    "LinearAR",
    "MovingAverage",
    "Naive",
    "SeasonalNaive",
    "backtest_baselines",
    "comparison_table",
    "compute_metrics",
    "directional_accuracy",
    "mae",
    "make_baselines",
    "mape",
    "mase",
    "r2",
    "rmse",
    "score_forecasts",
    "smape",
    "walk_forward",
]
