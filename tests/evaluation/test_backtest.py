"""Walk-forward backtest: same folds for every model, training never sees the test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.evaluation.backtest import backtest
from lstmkit.models.forecaster import LSTMForecaster


def hourly(n: int = 900) -> pd.DataFrame:
    t = np.arange(n)
    rng = np.random.default_rng(0)
    y = 5 + np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=n)
    return pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"), "y": y})


class Recording(LSTMForecaster):
    """Remembers the last timestamp of every training frame it is fitted on."""

    seen: list = []

    def fit(self, data, **kw):
        Recording.seen.append(data.frame["ds"].max())
        return super().fit(data, **kw)


def model(**kw) -> LSTMForecaster:
    params = dict(lookback=24, horizon=6, hidden_size=8, num_layers=1, max_epochs=1,
                  seasonal_lags=[24], progress=False, train_stride=4)
    params.update(kw)
    return Recording(**params)


def test_every_model_forecasts_the_same_origins_and_training_stops_before_each_fold() -> None:
    df = hourly()
    Recording.seen = []
    result = backtest(model(), df, folds=3, fold_length=24, step=6,
                      baselines=["naive", "seasonal_naive", "mstl"], seasonalities=[24])
    counts = result.forecasts.groupby("model").size()
    assert counts.to_dict() == {m: 3 * 4 * 6 for m in ("lstm", "naive", "seasonal_naive_24",
                                                        "mstl_24")}
    origins = result.forecasts.groupby("model")["origin"].apply(lambda s: sorted(set(s)))
    assert all(o == origins["lstm"] for o in origins)
    fold_starts = [df["ds"].iloc[f.test_start] for f in result.folds["y"]]
    assert len(Recording.seen) == 3
    assert all(seen < start for seen, start in zip(Recording.seen, fold_starts, strict=True))
    assert set(result.metrics["metric"]) >= {"mae", "rmse", "mase", "smape"}
    table = result.table()
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    assert table["mase_mean"].is_monotonic_increasing
    first = result.forecasts[result.forecasts["model"] == "naive"].iloc[0]
    assert first["actual"] == df["y"].iloc[first["origin"]]
    assert first["ds"] == df["ds"].iloc[first["origin"]]


def test_refit_false_trains_once() -> None:
    Recording.seen = []
    result = backtest(model(), hourly(), folds=3, refit=False, baselines=["naive"])
    assert len(Recording.seen) == 1
    assert result.history["fold"].unique().tolist() == [0]


def test_directional_accuracy_and_training_statistics_ignore_the_test_fold() -> None:
    df = hourly()
    Recording.seen = []
    first = backtest(model(), df, folds=2, fold_length=12, refit=False, baselines=["naive"])
    changed = df.copy()
    changed.loc[len(df) - 24:, "y"] += 100.0  # both test folds
    second = backtest(model(), changed, folds=2, fold_length=12, refit=False,
                      baselines=["naive"])
    pd.testing.assert_frame_equal(first.history, second.history)  # same fit, same losses
    lstm = [r.forecasts.query("model == 'lstm' and fold == 0 and origin == @o")["forecast"]
            for r, o in ((first, len(df) - 24), (second, len(df) - 24))]
    np.testing.assert_array_equal(lstm[0].to_numpy(), lstm[1].to_numpy())
    acc = first.metrics.query("metric == 'directional_accuracy'")["value"]
    assert len(acc) == 4 and acc.between(0, 1).all()
    y = df["y"].to_numpy()
    hits = []
    for o in first.folds["y"][0].origins:  # the naive forecast repeats y[o-1]; by hand
        reference = y[o - 1:o + 5]
        hits += list(np.sign(y[o - 1] - reference) == np.sign(y[o:o + 6] - reference))
    naive = first.metrics.query(
        "metric == 'directional_accuracy' and model == 'naive' and fold == 0")["value"]
    assert naive.item() == pytest.approx(np.mean(hits))


def test_forecast_timestamps_keep_the_time_zone() -> None:
    df = hourly(400)
    df["ds"] = df["ds"].dt.tz_localize("Europe/Berlin", nonexistent="shift_forward",
                                       ambiguous="NaT").dt.tz_convert("UTC")
    result = backtest(None, df, horizon=6, folds=2, baselines=["naive"])
    row = result.forecasts.iloc[0]
    assert row["ds"] == df["ds"].iloc[row["position"]]
    assert str(result.forecasts["ds"].dt.tz) == "UTC"


def test_quantile_forecasts_are_scored_for_coverage_and_pinball() -> None:
    result = backtest(model(likelihood="quantile", max_epochs=2), hourly(), folds=2,
                      fold_length=24, baselines=["naive"])
    lstm = result.forecasts[result.forecasts["model"] == "lstm"]
    assert {"q0.1", "q0.5", "q0.9"} <= set(lstm.columns)
    np.testing.assert_allclose(lstm["q0.5"], lstm["forecast"])
    m = result.metrics
    cover = m[(m.metric == "coverage_80") & (m.model == "lstm")]["value"]
    assert len(cover) == 2 and cover.between(0, 1).all()
    inside = ((lstm["actual"] >= lstm["q0.1"]) & (lstm["actual"] <= lstm["q0.9"]))
    assert cover.mean() == pytest.approx(inside.groupby(lstm["fold"]).mean().mean())
    assert set(m[m.metric == "pinball"]["model"]) == {"lstm"}
    levels = np.array([0.1, 0.5, 0.9])
    first = lstm[lstm["fold"] == 0]
    error = first["actual"].to_numpy()[:, None] - first[["q0.1", "q0.5", "q0.9"]].to_numpy()
    pinball = np.maximum(levels * error, (levels - 1) * error).mean()
    score = m[(m.model == "lstm") & (m.fold == 0)].set_index("metric")["value"]
    assert score["pinball"] == pytest.approx(pinball)
    assert score["crps"] == pytest.approx(2 * pinball)
