"""Baselines that need the covariates or are trivial, run on a backtest's folds.

``zero`` forecasts 0 (on a returns target, the random walk of the price);
``ridge_covariates`` regresses the target `step` rows ahead on the last observed target and
covariates (ridge, standardised inputs, alpha 1, one model per step, fitted on each fold's
training rows). `add_covariate_baselines` adds them to a finished `BacktestResult`: the
same folds and origins as its other models, scored with the same metrics. The baselines of
`lstmkit.evaluation.baselines` forecast from the target alone and run inside `backtest`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from lstmkit.data.loading import SeriesFrame
from lstmkit.errors import DataValidationError
from lstmkit.evaluation.backtest import BacktestResult
from lstmkit.evaluation.compare import score_forecasts
from lstmkit.evaluation.splits import Fold

COVARIATE_BASELINES = ("zero", "ridge_covariates")
"""The baselines of this module (the others are `lstmkit.evaluation.baselines`)."""


def split_baselines(baselines: list[str] | str) -> tuple[list[str] | str, list[str]]:
    """(names for `backtest`, names for `add_covariate_baselines`) of a baselines option."""
    if isinstance(baselines, str):
        baselines = [baselines]
    own = [b for b in baselines if b in COVARIATE_BASELINES]
    library = [b for b in baselines if b not in COVARIATE_BASELINES]
    return ("all" if library == ["all"] else library), own


def add_covariate_baselines(result: BacktestResult, series: SeriesFrame, names: list[str],
                            horizon: int, metrics: tuple[str, ...]) -> BacktestResult:
    """`result` with the baselines `names` (of `COVARIATE_BASELINES`) added, forecast on the
    same folds and scored with the same metrics."""
    if not names:
        return result
    parts, scored = [], []
    for uid, folds in result.folds.items():
        frame = series.series(uid)
        rows = pd.concat([_forecasts(name, frame, series.covariates, folds, horizon)
                          for name in names], ignore_index=True)
        rows.insert(0, "unique_id", uid)
        scored.append(score_forecasts(rows, frame["y"].to_numpy(float), folds,
                                      season=result.season, names=metrics))
        rows["ds"] = frame["ds"].to_numpy()[rows["position"].to_numpy()]
        parts.append(rows)
    scores = (pd.concat(scored).groupby(["model", "fold", "metric"], sort=False)["value"]
              .mean().reset_index())
    return dataclasses.replace(
        result, forecasts=pd.concat([result.forecasts, *parts], ignore_index=True),
        metrics=pd.concat([result.metrics, scores], ignore_index=True))


def _forecasts(name: str, frame: pd.DataFrame, covariates: tuple[str, ...],
               folds: list[Fold], horizon: int) -> pd.DataFrame:
    """Forecast rows (fold, origin, step, position, model, forecast, actual) of one series."""
    y = frame["y"].to_numpy(np.float64)
    features = frame[["y", *covariates]].to_numpy(np.float64)
    parts = []
    for fold in folds:
        for step in range(1, horizon + 1):
            if name == "zero":
                forecast = np.zeros(len(fold.origins))
            else:  # ridge_covariates: row t's target and covariates -> y[t + step]
                rows = np.arange(fold.train_start, fold.train_end - step)
                if len(rows) < 2:
                    raise DataValidationError(
                        f"ridge_covariates: fold {fold.index} has {len(rows)} training rows "
                        f"for step {step}; give the folds more training data")
                from sklearn.linear_model import Ridge  # slow to import: lazily
                from sklearn.pipeline import make_pipeline
                from sklearn.preprocessing import StandardScaler

                model = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
                model.fit(features[rows], y[rows + step])
                forecast = model.predict(features[fold.origins - 1])
            position = fold.origins + step - 1
            parts.append(pd.DataFrame({
                "fold": fold.index, "origin": fold.origins, "step": step,
                "position": position, "model": name, "forecast": forecast,
                "actual": y[position]}))
    return pd.concat(parts, ignore_index=True)
