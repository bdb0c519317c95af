"""LSTMForecaster(ensemble=K): K networks with their own seeds forecast as their mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.errors import ConfigError
from lstmkit.explain import attention_weights, explain_model
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.nn.forecast_ensemble import ForecastEnsemble, member_seed
from lstmkit.training import Trainer


def series(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(n)
    y = 50 + 0.05 * t + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, n)
    return pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"), "y": y})


def small(**kw) -> LSTMForecaster:
    params = dict(lookback=24, horizon=6, hidden_size=8, num_layers=1, max_epochs=2,
                  batch_size=64, seasonal_lags=[], calendar=False, validation_fraction=0,
                  progress=False, seed=5)
    params.update(kw)
    return LSTMForecaster(**params)


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # forked members then train with the threads of a plain fit
    yield
    torch.set_num_threads(before)


def test_an_ensemble_forecasts_the_mean_of_its_members_trained_alone() -> None:
    df = series()
    ensemble = small(ensemble=3).fit(df)
    alone = [small(seed=member_seed(5, i)).fit(df) for i in range(3)]
    assert isinstance(ensemble.network_, ForecastEnsemble)
    assert len(ensemble.member_histories_) == 3
    assert ensemble.history_ is ensemble.member_histories_[0]
    forecasts = np.stack([m.predict()["y"].to_numpy() for m in alone])
    assert np.ptp(forecasts, axis=0).max() > 1e-3  # the members differ
    np.testing.assert_allclose(ensemble.predict()["y"], forecasts.mean(0), rtol=1e-5)
    cutoffs = df["ds"].iloc[[200, 300]]
    past = np.stack([m.predict_at(df, cutoffs)["y"].to_numpy() for m in alone]).mean(0)
    np.testing.assert_allclose(ensemble.predict_at(df, cutoffs)["y"], past, rtol=1e-5)


def test_an_ensemble_of_one_is_the_plain_model() -> None:
    df = series()
    plain, one = small().fit(df), small(ensemble=1).fit(df)
    assert not isinstance(one.network_, ForecastEnsemble)
    np.testing.assert_array_equal(plain.predict()["y"], one.predict()["y"])


def test_members_trained_side_by_side_match_members_trained_in_turn(one_thread) -> None:
    df = series()
    in_turn = small(ensemble=3, n_jobs=1).fit(df)
    side_by_side = small(ensemble=3, n_jobs=2).fit(df)
    np.testing.assert_allclose(side_by_side.predict()["y"], in_turn.predict()["y"], rtol=1e-6)
    losses = [[r.train_loss for r in h.records] for h in in_turn.member_histories_]
    assert [[r.train_loss for r in h.records] for h in side_by_side.member_histories_] == losses
    assert len({tuple(run) for run in losses}) == 3


def test_a_saved_ensemble_loads_with_its_members_and_histories(tmp_path: Path) -> None:
    df = series()
    model = small(ensemble=2, window_norm="standard", decoder_states="aligned",
                  window_loss=True, ema_decay=0.9).fit(df)
    loaded = LSTMForecaster.load(model.save(tmp_path / "m"))
    assert loaded.ensemble == 2 and isinstance(loaded.network_, ForecastEnsemble)
    np.testing.assert_array_equal(loaded.predict()["y"], model.predict()["y"])
    assert ([h.to_dict() for h in loaded.member_histories_]
            == [h.to_dict() for h in model.member_histories_])


def test_quantile_ensembles_average_monotone_quantiles() -> None:
    df = series()
    model = small(ensemble=2, likelihood="quantile", quantiles=(0.1, 0.5, 0.9)).fit(df)
    out = model.predict()
    assert (out["y_q0.1"] <= out["y_q0.5"]).all() and (out["y_q0.5"] <= out["y_q0.9"]).all()
    np.testing.assert_allclose(out["y"], out["y_q0.5"])


def test_gaussian_ensembles_give_intervals_around_the_mean() -> None:
    df = series()
    out = small(ensemble=2, likelihood="gaussian", quantiles=(0.1, 0.5, 0.9)).fit(df).predict()
    assert (out["y_q0.1"] < out["y"]).all() and (out["y"] < out["y_q0.9"]).all()


@pytest.mark.parametrize("name, value", [("ensemble", 0), ("ensemble", 1.5), ("ensemble", True),
                                         ("ensemble", "2"), ("n_jobs", 0), ("n_jobs", -1)])
def test_bad_ensemble_settings_name_the_option(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"{name} must be a positive integer, got"):
        small(**{name: value}).fit(series())


def test_an_ensemble_is_explained_as_one_model_without_attention_weights() -> None:
    df = series()
    model = small(ensemble=2, attention="dot", seasonal_lags=[24]).fit(df)
    with pytest.raises(ConfigError, match="ensemble of 2 networks.*ensemble=1"):
        attention_weights(model, df)
    result = explain_model(model, df, repeats=1, max_origins=32, n_steps=8)
    assert result.attention is None
    attribution = result.attribution
    # integrated gradients are complete: the attributions add up to forecast - baseline
    assert attribution.cells["attribution"].sum() == pytest.approx(
        attribution.forecast - attribution.baseline_forecast, abs=1e-2)
    cutoff = attribution.origin - pd.Timedelta(hours=1)  # the last row the forecast reads
    assert attribution.forecast == pytest.approx(model.predict_at(df, cutoff)["y"].mean(),
                                                 rel=1e-4)
    assert set(result.importance.table()["name"]) >= {"y", "y lag 24"}


def test_a_member_failing_in_its_worker_names_the_member(monkeypatch) -> None:
    fit = Trainer.fit

    def fail_second(self, *args, **kwargs):
        if self.config.seed == member_seed(5, 1):
            raise ConfigError("out of patience")
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "fit", fail_second)
    with pytest.raises(ConfigError, match="ensemble member 1 failed in its worker process "
                                          r"\(exit code 1\): out of patience"):
        small(ensemble=3, n_jobs=2).fit(series())


def test_a_recursive_ensemble_feeds_its_mean_forecast_back() -> None:
    df = series()
    params = dict(strategy="recursive", seasonal_lags=[24])
    ensemble = small(ensemble=2, **params).fit(df)
    alone = [small(seed=member_seed(5, i), **params).fit(df) for i in range(2)]
    first_steps = np.mean([m.predict()["y"].iloc[0] for m in alone])
    out = ensemble.predict()["y"].to_numpy()
    assert out[0] == pytest.approx(first_steps, rel=1e-5)  # step 1: the members' mean
    later = np.stack([m.predict()["y"].to_numpy() for m in alone]).mean(0)
    assert np.abs(out[1:] - later[1:]).max() > 0  # later steps read the fed-back mean
    assert np.isfinite(out).all() and len(out) == 6
