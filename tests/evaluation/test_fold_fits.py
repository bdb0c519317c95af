"""Backtest folds fitted side by side in forked workers give what fitting them in turn gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.data.loading import load_series
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation.backtest import backtest
from lstmkit.evaluation.fold_fits import fit_each
from lstmkit.federated import FederatedForecaster
from lstmkit.forecast_job import ForecastConfig
from lstmkit.models.forecaster import LSTMForecaster


def hourly(n: int = 700) -> pd.DataFrame:
    t = np.arange(n)
    rng = np.random.default_rng(4)
    y = 5 + np.sin(2 * np.pi * t / 24) + 0.002 * t + 0.1 * rng.normal(size=n)
    return pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"), "y": y})


def model(**kw) -> LSTMForecaster:
    params = dict(lookback=24, horizon=6, hidden_size=8, num_layers=1, max_steps=30,
                  batch_size=32, seasonal_lags=[24], calendar=False, progress=False, seed=3)
    params.update(kw)
    return LSTMForecaster(**params)


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers train on one thread: in turn, so does this process
    yield
    torch.set_num_threads(before)


def lstm_rows(result) -> pd.DataFrame:
    rows = result.forecasts[result.forecasts["model"] == "lstm"]
    return rows.sort_values(["fold", "origin", "step"]).reset_index(drop=True)


def test_folds_side_by_side_forecast_and_score_as_folds_in_turn(one_thread) -> None:
    df = hourly()
    settings = dict(folds=3, fold_length=24, step=6, baselines=["seasonal_naive"])
    forecaster = model(likelihood="quantile", quantiles=[0.1, 0.5, 0.9])
    in_turn = backtest(forecaster, df, **settings)
    side_by_side = backtest(forecaster, df, **settings, n_jobs=2)
    a, b = lstm_rows(in_turn), lstm_rows(side_by_side)
    assert len(a) == 3 * 4 * 6
    assert a["forecast"].nunique() > 10  # real forecasts, not a constant
    np.testing.assert_allclose(b["forecast"], a["forecast"], rtol=1e-6)
    np.testing.assert_allclose(b[["q0.1", "q0.9"]], a[["q0.1", "q0.9"]], rtol=1e-6)
    pd.testing.assert_frame_equal(side_by_side.history, in_turn.history)
    merged = in_turn.metrics.merge(side_by_side.metrics, on=["model", "fold", "metric"])
    np.testing.assert_allclose(merged["value_y"], merged["value_x"], rtol=1e-5)
    assert forecaster.__dict__.get("network_") is None  # the given model stays unfitted


def test_only_the_refit_folds_are_trained_side_by_side(one_thread) -> None:
    df = hourly()
    in_turn = backtest(model(), df, folds=4, fold_length=12, refit=2, baselines=[])
    side_by_side = backtest(model(), df, folds=4, fold_length=12, refit=2, baselines=[],
                            n_jobs=3)
    assert sorted(side_by_side.history["fold"].unique()) == [0, 2]
    np.testing.assert_allclose(lstm_rows(side_by_side)["forecast"],
                               lstm_rows(in_turn)["forecast"], rtol=1e-6)


def test_fit_each_fits_a_copy_per_span_and_an_ensemble_in_each(one_thread) -> None:
    series = load_series(hourly())
    early = load_series(hourly().iloc[:400])
    fitted = fit_each(model(ensemble=2, n_jobs=2), [early, series], n_jobs=2)
    alone = [model(ensemble=2).fit(early), model(ensemble=2).fit(series)]
    for got, want in zip(fitted, alone, strict=True):
        assert got.n_jobs == 2 and len(got.member_histories_) == 2
        np.testing.assert_allclose(got.predict()["y"], want.predict()["y"], rtol=1e-6)
    assert fitted[0].predict().index[0] == hourly()["ds"].iloc[400]  # after its own span


def test_a_failing_fold_is_raised_with_its_own_error_and_index() -> None:
    spans = [load_series(hourly()), load_series(hourly().iloc[:20])]
    with pytest.raises(DataValidationError, match=r"training span 1 failed.*rows"):
        fit_each(model(), spans, n_jobs=2)


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_fits_at_once_must_be_a_positive_integer(jobs) -> None:
    with pytest.raises(ConfigError, match="n_jobs .* positive integer"):
        backtest(model(), hourly(), folds=2, fold_length=12, baselines=[], n_jobs=jobs)


def test_a_federated_model_is_not_fitted_in_forked_workers() -> None:
    federated = FederatedForecaster(clients=1, rounds=1, lookback=24, horizon=6)
    with pytest.raises(ConfigError, match="FederatedForecaster cannot be fitted in forked"):
        fit_each(federated, [load_series(hourly())] * 2, n_jobs=2)


@pytest.mark.parametrize("jobs", [0, "two", False])
def test_the_config_names_fold_jobs_when_it_is_wrong(jobs) -> None:
    with pytest.raises(ConfigError, match=r"fold_jobs \(backtest folds trained at once\)"):
        ForecastConfig(dataset="vic_electricity", fold_jobs=jobs)



def test_a_federated_config_refuses_fold_jobs_before_loading_data() -> None:
    with pytest.raises(ConfigError, match="fold_jobs forks a process per fold, and a federated"):
        ForecastConfig(dataset="vic_electricity", fold_jobs=2, federated={"clients": 2})


@pytest.mark.parametrize(("settings", "message"), [
    ({"device": "gpu"}, "device='gpu' is not a device torch knows"),
    ({"device": None}, "device must be a name such as 'auto'"),
    ({"lookback": 0}, "lookback must be a positive integer, got 0"),
])
def test_bad_settings_are_refused_before_any_worker_starts(settings, message) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        fit_each(model(**settings), [load_series(hourly())] * 2, n_jobs=2)
    assert "worker process" not in str(caught.value)


class RefusesLongData(LSTMForecaster):
    """Refuses training data of more than 660 rows: of 3 folds of 24 rows in 700, the last."""

    def fit(self, data, **kw):
        if len(data.frame) > 660:
            raise DataValidationError(f"{len(data.frame)} rows")
        return super().fit(data, **kw)


def test_a_failing_backtest_fold_is_named_by_its_fold_number() -> None:
    failing = RefusesLongData(**model().get_config())
    with pytest.raises(DataValidationError, match=r"backtest fold 3/3 failed .*: 676 rows"):
        backtest(failing, hourly(), folds=3, fold_length=24, baselines=[], n_jobs=2)
