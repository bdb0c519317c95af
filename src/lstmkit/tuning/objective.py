"""The search objective: the mean walk-forward CV metric of one trial's forecaster.

Every trial is scored on the same folds (the base config's backtest settings, baselines
off). After each fold the running mean is reported to Optuna, so a pruner can stop a trial
that is already worse than the others at the same fold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pandas as pd

from lstmkit.data.loading import SeriesFrame
from lstmkit.errors import ConfigError, LstmkitError
from lstmkit.evaluation.backtest import backtest
from lstmkit.evaluation.metrics import METRICS
from lstmkit.forecast_job import ForecastConfig
from lstmkit.tuning.space import SearchSpace

HIGHER_IS_BETTER = ("r2", "directional_accuracy")
FOLD_VALUES = "fold_values"  # trial user attribute: the metric of every finished fold
ERROR = "error"  # trial user attribute: why a trial failed


def metric_direction(metric: str, base: ForecastConfig) -> str:
    """Whether to minimize or maximize `metric`; ConfigError if the backtest has no such
    metric."""
    choices = sorted(METRICS) + (["pinball"] if base.likelihood is not None else [])
    if metric not in choices:
        raise ConfigError(f"unknown metric {metric!r} to tune on; choose one of {choices} "
                          "(pinball needs likelihood: quantile or gaussian)")
    return "maximize" if metric in HIGHER_IS_BETTER else "minimize"


def trial_config(base: ForecastConfig, params: dict[str, Any]) -> ForecastConfig:
    """The base config with a trial's parameters set."""
    return ForecastConfig.from_dict({**base.to_dict(), **params})


class CVObjective:
    """Callable for `Study.optimize`: mean over folds of `metric` for the trial's forecaster."""

    def __init__(self, base: ForecastConfig, space: SearchSpace, series: SeriesFrame,
                 metric: str) -> None:
        metric_direction(metric, base)
        self.base, self.space, self.series, self.metric = base, space, series, metric

    def __call__(self, trial: optuna.Trial) -> float:
        config = trial_config(self.base, self.space.suggest(trial))
        values: list[float] = []

        def on_fold(k: int, metrics: pd.DataFrame) -> None:
            values.append(float(metrics.loc[metrics["metric"] == self.metric, "value"].mean()))
            trial.set_user_attr(FOLD_VALUES, list(values))
            running = float(np.mean(values))
            trial.report(running, step=k)
            if trial.should_prune():
                raise optuna.TrialPruned(
                    f"{self.metric} {running:.4g} after {k + 1} fold(s) is worse than the median")

        try:
            backtest(
                config.model(), self.series, folds=config.folds,
                fold_length=config.fold_length, step=config.step, gap=config.gap,
                window=config.window, train_size=config.train_size, refit=config.refit,
                baselines=[], season=config.season, on_fold=on_fold,
                n_jobs=config.fold_jobs,
            )
        except LstmkitError as err:
            trial.set_user_attr(ERROR, str(err))
            raise
        return float(np.mean(values))
