"""The zero and ridge_covariates baselines: forecast on a backtest's folds, scored alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmkit.data.loading import load_series
from lstmkit.evaluation.backtest import backtest
from lstmkit.evaluation.covariate_baselines import add_covariate_baselines, split_baselines


def test_zero_and_ridge_forecast_the_same_folds_and_ridge_learns_a_lagged_covariate() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    y = np.r_[0.0, 2.0 * x[:-1]] + rng.normal(0, 0.01, 300)  # y[t] = 2 x[t-1] + noise
    frame = pd.DataFrame({"ds": pd.bdate_range("2020-01-01", periods=300), "y": y, "x": x})
    series = load_series(frame, covariates=["x"])
    result = backtest(None, series, horizon=1, folds=2, fold_length=20, step=1,
                      baselines=["naive"], season=1, metrics=("mae",))
    result = add_covariate_baselines(result, series, ["zero", "ridge_covariates"], 1, ("mae",))
    rows = result.forecasts
    naive_rows = rows[rows["model"] == "naive"].reset_index(drop=True)
    for name in ("zero", "ridge_covariates"):
        mine = rows[rows["model"] == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[["fold", "origin", "position", "actual", "ds"]],
                                      naive_rows[["fold", "origin", "position", "actual", "ds"]])
    assert (rows.loc[rows["model"] == "zero", "forecast"] == 0).all()
    mae = result.metrics.pivot_table(index="model", values="value")["value"]
    assert mae["ridge_covariates"] < 0.05 < mae["zero"]  # it learned y = 2 x[t-1]


def test_split_baselines_routes_the_covariate_baselines_to_this_module() -> None:
    assert split_baselines(["zero", "naive", "ridge_covariates"]) == (
        ["naive"], ["zero", "ridge_covariates"])
    assert split_baselines("all") == ("all", [])
    assert split_baselines(["all", "zero"]) == ("all", ["zero"])
    assert split_baselines(["zero"]) == ([], ["zero"])
