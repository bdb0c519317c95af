"""Scoring backtest frames and ranking models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation import (
    SeasonalNaive,
    backtest_baselines,
    comparison_table,
    make_baselines,
    score_forecasts,
    walk_forward,
)


def test_score_forecasts_pools_origins_per_fold() -> None:
    y = np.array([0.0, 2.0, 1.0, 3.0, 2.0, 4.0, 3.0, 5.0, 4.0, 6.0])
    folds = walk_forward(10, horizon=2, folds=2, fold_length=2, step=1)
    # fold 0: train [0, 6), origin 6 -> positions 6, 7; fold 1: train [0, 8), origin 8
    frame = pd.DataFrame({
        "fold": [0, 0, 1, 1],
        "origin": [6, 6, 8, 8],
        "step": [1, 2, 1, 2],
        "position": [6, 7, 8, 9],
        "model": "m",
        "forecast": [4.0, 4.0, 4.0, 8.0],
        "actual": y[[6, 7, 8, 9]],
    })
    metrics = score_forecasts(frame, y, folds, season=1, names=("mae", "mase"))
    assert list(metrics.columns) == ["model", "fold", "metric", "value"]
    values = metrics.set_index(["fold", "metric"])["value"]
    assert values[(0, "mae")] == pytest.approx(1.0)  # |3-4|, |5-4|
    assert values[(1, "mae")] == pytest.approx(1.0)  # |4-4|, |6-8|
    # in-sample naive errors alternate 2, 1: fold 0 scales by 8/5 (y[:6]), fold 1 by 11/7 (y[:8])
    assert values[(0, "mase")] == pytest.approx(1.0 / (8 / 5))
    assert values[(1, "mase")] == pytest.approx(1.0 / (11 / 7))


def test_score_forecasts_errors() -> None:
    folds = walk_forward(10, horizon=2, folds=1)
    with pytest.raises(DataValidationError, match=r"lacks column\(s\) \['actual'\]"):
        score_forecasts(pd.DataFrame(columns=["fold", "origin", "step", "position", "model",
                                              "forecast"]), np.zeros(10), folds, season=1)
    frame = pd.DataFrame({"fold": [3], "origin": [8], "step": [1], "position": [8],
                          "model": ["m"], "forecast": [1.0], "actual": [1.0]})
    with pytest.raises(DataValidationError, match=r"fold\(s\) \[3\]"):
        score_forecasts(frame, np.arange(10.0), folds, season=1)


def test_comparison_table_mean_std_and_rank() -> None:
    metrics = pd.DataFrame({
        "model": ["a", "a", "b", "b", "c", "c"] * 2,
        "fold": [0, 1] * 6,
        "metric": ["mase"] * 6 + ["mae"] * 6,
        "value": [1.0, 3.0, 1.0, 1.0, 2.0, 2.0, 5.0, 7.0, 4.0, 4.0, 1.0, 1.0],
    })
    table = comparison_table(metrics)
    assert table["model"].tolist() == ["b", "c", "a"]  # a and c tie on mase 2.0, mae breaks it
    assert table["rank"].tolist() == [1, 2, 3]
    assert list(table.columns) == ["model", "rank", "mae_mean", "mae_std", "mase_mean",
                                   "mase_std"]
    row = table.set_index("model").loc["a"]
    assert row["mase_mean"] == pytest.approx(2.0)
    assert row["mase_std"] == pytest.approx(np.std([1.0, 3.0], ddof=1))
    assert comparison_table(metrics, rank_by=("mae",))["model"].tolist() == ["c", "b", "a"]
    with pytest.raises(ConfigError, match="rank_by"):
        comparison_table(metrics, rank_by=("smape",))


def test_r2_ranks_higher_first() -> None:
    metrics = pd.DataFrame({"model": ["a", "b"], "fold": [0, 0], "metric": "r2",
                            "value": [0.2, 0.9]})
    assert comparison_table(metrics, rank_by=("r2",))["model"].tolist() == ["b", "a"]


def test_end_to_end_seasonal_signal_ranks_seasonal_naive_first() -> None:
    t = np.arange(400.0)
    y = 10 + np.sin(2 * np.pi * t / 10) * 3 + np.random.default_rng(0).normal(0, 0.05, 400)
    folds = walk_forward(400, horizon=10, folds=3, fold_length=30, step=10)
    baselines = [*make_baselines(["naive", "drift"], season=10), SeasonalNaive(10)]
    forecasts = backtest_baselines(y, folds, baselines, 10)
    table = comparison_table(score_forecasts(forecasts, y, folds, season=10))
    assert table.iloc[0]["model"] == "seasonal_naive_10"
    assert table.iloc[0]["mase_mean"] == pytest.approx(1.0, abs=0.35)
    assert table.iloc[-1]["mase_mean"] > 10
