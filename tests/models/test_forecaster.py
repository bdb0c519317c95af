"""LSTMForecaster: learns, never looks ahead, round-trips, and explains bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.models.forecast_design import default_calendar
from lstmkit.models.forecaster import LSTMForecaster


def seasonal_ar(n: int = 1500, seed: int = 0, scale: float = 1.0) -> pd.DataFrame:
    """Hourly series: a daily cycle plus AR(1) noise (learnable beyond seasonal naive)."""
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    for t in range(1, n):
        noise[t] = 0.97 * noise[t - 1] + rng.normal(0, 0.3)
    t = np.arange(n)
    y = scale * (10 + np.sin(2 * np.pi * t / 24) + noise)
    ds = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"ds": ds, "y": y, "temp": np.cos(2 * np.pi * t / 24),
                         "flag": (t // 24) % 7 < 5})


def small(**kw) -> LSTMForecaster:
    params = dict(lookback=24, horizon=6, hidden_size=16, num_layers=1, max_epochs=8,
                  batch_size=32, progress=False, seasonal_lags=[24])
    params.update(kw)
    return LSTMForecaster(**params)


@pytest.mark.parametrize("strategy", ["direct", "seq2seq", "recursive"])
def test_beats_seasonal_naive_on_learnable_signal(strategy: str) -> None:
    df = seasonal_ar()
    train, test = df.iloc[:-200], df
    model = small(strategy=strategy).fit(train)
    design = model.design(model.load_data(test).frame)
    origins = np.arange(len(df) - 200, len(df) - 6, 6)
    forecast = model.forecast_at(design, origins)
    y = df["y"].to_numpy()
    actual = np.stack([y[o:o + 6] for o in origins])
    snaive = np.stack([y[o - 24:o - 18] for o in origins])
    assert forecast.shape == (len(origins), 6)
    assert np.abs(forecast - actual).mean() < 0.8 * np.abs(snaive - actual).mean()


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_forecast_never_reads_after_its_origin(strategy: str) -> None:
    df = seasonal_ar(600)
    model = small(strategy=strategy, max_epochs=1, past_covariates=["temp"],
                  future_covariates=["flag"]).fit(df.iloc[:400])
    changed = df.copy()
    changed.loc[450:, "y"] *= 5
    changed.loc[450:, "temp"] += 9
    load = lambda d: model.load_data(d).frame  # noqa: E731
    a = model.forecast_at(model.design(load(df)), np.array([450]))
    b = model.forecast_at(model.design(load(changed)), np.array([450]))
    np.testing.assert_array_equal(a, b)


def test_predict_returns_future_timestamps_in_original_units(tmp_path) -> None:
    df = seasonal_ar(800, scale=1000.0)
    model = small(max_epochs=3).fit(df)
    out = model.predict()
    expected = pd.date_range(df["ds"].iloc[-1], periods=7, freq="h")[1:]
    assert list(out.index) == list(expected)
    assert list(out.columns) == ["y"]
    assert 7000 < out["y"].mean() < 13000  # original units, not scaled ones
    model.save(tmp_path / "m")
    again = LSTMForecaster.load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.predict(), out)
    pd.testing.assert_frame_equal(again.predict(df.iloc[:500]), model.predict(df.iloc[:500]))


def test_known_future_covariates_must_be_given() -> None:
    df = seasonal_ar(500)
    model = small(max_epochs=1, future_covariates=["flag"]).fit(df)
    with pytest.raises(DataValidationError, match="known-future covariates"):
        model.predict()
    ahead = pd.DataFrame({"ds": pd.date_range(df["ds"].iloc[-1], periods=7, freq="h")[1:],
                          "flag": 1})
    assert len(model.predict(future=ahead)) == 6
    with pytest.raises(DataValidationError, match="no \\(or NaN\\)"):
        model.predict(future=ahead.iloc[:3])


def test_global_model_over_many_series() -> None:
    a, b = seasonal_ar(500, seed=1), seasonal_ar(450, seed=2, scale=3.0)
    long = pd.concat([a.assign(uid="a"), b.assign(uid="b")])
    model = small(max_epochs=2).fit(long, id_col="uid")
    out = model.predict()
    assert list(out.columns) == ["uid", "ds", "y"]
    assert out.groupby("uid").size().to_dict() == {"a": 6, "b": 6}
    assert out[out.uid == "b"]["y"].mean() > 2 * out[out.uid == "a"]["y"].mean()


def test_clear_errors() -> None:
    df = seasonal_ar(100)
    with pytest.raises(DataValidationError, match="at least"):
        small(lookback=90).fit(df)
    with pytest.raises(DataValidationError, match="covariate column"):
        small(past_covariates=["nope"]).fit(seasonal_ar(300))
    with pytest.raises(ConfigError, match="strategy"):
        small(strategy="sideways").fit(df)
    with pytest.raises(ConfigError, match="both past-only and known-future"):
        small(past_covariates=["temp"], future_covariates=["temp"]).fit(seasonal_ar(300))


def test_log_target_transform_is_inverted_exactly() -> None:
    df = seasonal_ar(600)
    df["y"] = np.exp(df["y"] / 4)
    model = small(max_epochs=2, target_transform="log").fit(df)
    frame = model.load_data(df).frame
    design = model.design(frame)
    np.testing.assert_allclose(
        model.scalers_.target.inverse_transform(design.target.astype(float), design.ids),
        np.log(df["y"].to_numpy()), rtol=1e-6)
    out = model.predict()
    assert (out["y"] > 0).all() and 5 < out["y"].mean() < 30
    with pytest.raises(DataValidationError, match="needs target values > 0; series 'y' has"):
        small(target_transform="log").fit(df.assign(y=df["y"] - 100))
    with pytest.raises(ConfigError, match="target_transform"):
        small(target_transform="sqrt").fit(df)


def test_time_zone_survives_save_load_and_future_parsing(tmp_path) -> None:
    df = seasonal_ar(400)
    df["ds"] = df["ds"].dt.tz_localize("America/New_York")
    model = small(max_epochs=1, future_covariates=["flag"]).fit(df)
    ahead = pd.DataFrame({"ds": pd.date_range(df["ds"].iloc[-1], periods=7, freq="h")[1:],
                          "flag": 1})
    as_text = ahead.assign(ds=ahead["ds"].astype(str))  # "...-05:00" strings from a CSV
    out = model.predict(future=as_text)
    assert str(out.index.tz) == "America/New_York"
    model.save(tmp_path / "m")
    pd.testing.assert_frame_equal(LSTMForecaster.load(tmp_path / "m").predict(future=ahead), out)
    doubled = pd.concat([ahead, ahead.iloc[:1]])
    with pytest.raises(DataValidationError, match="sharing a timestamp"):
        model.predict(future=doubled)


def test_origins_outside_their_series_are_refused() -> None:
    long = pd.concat([seasonal_ar(300).assign(uid="a"), seasonal_ar(300).assign(uid="b")])
    model = small(max_epochs=1).fit(long, id_col="uid")
    design = model.design(model.load_data(long).frame)
    with pytest.raises(DataValidationError, match="needs 48 rows before it"):
        model.forecast_at(design, np.array([302]))  # 2 rows into series b
    with pytest.raises(DataValidationError, match="rows 0..599"):
        model.forecast_at(design, np.array([-1]))


@pytest.mark.parametrize("likelihood", ["quantile", "gaussian"])
def test_probabilistic_heads_give_calibrated_monotone_quantiles(likelihood: str, tmp_path) -> None:
    rng = np.random.default_rng(3)
    n = 1500
    t = np.arange(n)
    df = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                       "y": 10 + 2 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.5, n)})
    model = small(likelihood=likelihood, max_epochs=6).fit(df.iloc[:-300])
    design = model.design(model.load_data(df).frame)
    origins = np.arange(n - 300, n - 6, 6)
    bands = model.forecast_quantiles(design, origins)  # (origins, 6, 3): 0.1, 0.5, 0.9
    assert bands.shape == (len(origins), 6, 3)
    assert (np.diff(bands, axis=-1) >= 0).all()
    actual = np.stack([df["y"].to_numpy()[o:o + 6] for o in origins])
    inside = ((actual >= bands[..., 0]) & (actual <= bands[..., 2])).mean()
    assert 0.65 < inside < 0.95  # nominal 80 %
    np.testing.assert_allclose(model.forecast_at(design, origins), bands[..., 1])
    out = model.predict()
    assert list(out.columns) == ["y", "y_q0.1", "y_q0.5", "y_q0.9"]
    model.save(tmp_path / "m")
    pd.testing.assert_frame_equal(LSTMForecaster.load(tmp_path / "m").predict(), out)
    with pytest.raises(ConfigError, match="strategy='direct'"):
        small(likelihood=likelihood, strategy="recursive").fit(df)
    with pytest.raises(ConfigError, match="median"):
        small(likelihood="quantile", quantiles=[0.1, 0.9]).fit(df)
    with pytest.raises(ConfigError, match=r"increasing order.*\[0.1, 0.5, 0.9\]"):
        small(likelihood="quantile", quantiles=[0.9, 0.5, 0.1]).fit(df)
    with pytest.raises(ConfigError, match=r"in \(0, 1\), got \[0.5, 1.2\]"):
        small(likelihood="quantile", quantiles=[0.5, 1.2]).fit(df)


def test_conformal_offsets_give_nominal_coverage_on_the_calibration_windows() -> None:
    df = seasonal_ar(1200)
    model = small(likelihood="quantile", max_epochs=2, calibrate_intervals=True).fit(df)
    design = model.design(model.load_data(df).frame)
    _, val = model._training_origins(design, model.spec_)
    bands = model.forecast_quantiles(design, val)
    actual = df["y"].to_numpy()[val[:, None] + np.arange(6)]
    inside = (actual >= bands[..., 0]) & (actual <= bands[..., 2])
    assert (inside.mean(axis=0) >= 0.8).all()  # per step, by construction
    assert model.interval_offsets_.shape == (6,)
    raw = small(likelihood="quantile", max_epochs=2).fit(df)
    assert raw.interval_offsets_ is None


def test_recent_calibration_follows_a_jump_in_volatility() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    t = np.arange(n)
    noise = rng.normal(0, 1, n) * np.where(t < 1200, 0.3, 1.2)
    df = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                       "y": 10 + 2 * np.sin(2 * np.pi * t / 24) + noise})
    raw = small(likelihood="quantile", max_epochs=4, calibration_window=20).fit(df.iloc[:1200])
    recent = LSTMForecaster(**{**raw.get_config(), "calibrate_intervals": "recent"})
    recent.fit(df.iloc[:1200])
    frame = raw.load_data(df).frame
    origins = np.arange(1400, n - 6, 6)  # 200 rows into the volatile part
    actual = df["y"].to_numpy()[origins[:, None] + np.arange(6)]

    def coverage(model: LSTMForecaster) -> float:
        bands = model.forecast_quantiles(model.design(frame), origins)
        return float(((actual >= bands[..., 0]) & (actual <= bands[..., -1])).mean())

    assert coverage(raw) < 0.6
    assert 0.7 < coverage(recent) < 0.95


@pytest.mark.parametrize("strategy", ["direct", "seq2seq", "recursive"])
def test_window_norm_moves_the_forecast_with_the_series(strategy: str, tmp_path) -> None:
    df = seasonal_ar(400)
    model = small(strategy=strategy, max_epochs=1, window_norm="standard",
                  future_covariates=["temp"]).fit(df)
    model.save(tmp_path / "m")
    loaded = LSTMForecaster.load(tmp_path / "m")
    assert loaded.window_norm == "standard"
    cutoffs = df["ds"].iloc[[200, 300, 393]]
    base = loaded.predict_at(df, cutoffs)["y"].to_numpy()
    moved = loaded.predict_at(df.assign(y=3 * df["y"] + 1000.0), cutoffs)["y"].to_numpy()
    np.testing.assert_allclose(moved, 3 * base + 1000.0, rtol=1e-5)
    plain = small(strategy=strategy, max_epochs=1, future_covariates=["temp"]).fit(df)
    plain_moved = plain.predict_at(df.assign(y=3 * df["y"] + 1000.0), cutoffs)["y"].to_numpy()
    plain_base = plain.predict_at(df, cutoffs)["y"].to_numpy()
    assert np.abs(plain_moved - (3 * plain_base + 1000.0)).max() > 10
    with pytest.raises(ConfigError, match="window_norm must be one of"):
        small(window_norm=True).fit(df)
    with pytest.raises(ConfigError, match="use window_norm='center'"):
        small(window_norm="standard", likelihood="gaussian").fit(df)


def test_aligned_decoder_model_round_trips_and_refuses_what_it_cannot_do(tmp_path) -> None:
    df = seasonal_ar(400)
    model = small(max_epochs=1, decoder_states="aligned", window_norm="standard",
                  window_loss=True).fit(df)
    model.save(tmp_path / "m")
    loaded = LSTMForecaster.load(tmp_path / "m")
    assert (loaded.decoder_states, loaded.window_loss) == ("aligned", True)
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())
    with pytest.raises(ConfigError, match="needs strategy='direct' and lookback >= horizon, "
                                          "got strategy='direct', lookback 4, horizon 6"):
        small(lookback=4, decoder_states="both").fit(df)
    with pytest.raises(ConfigError, match="needs strategy='direct'"):
        small(strategy="seq2seq", decoder_states="aligned").fit(df)
    with pytest.raises(ConfigError, match="decoder_states must be one of"):
        small(decoder_states=True).fit(df)
    with pytest.raises(ConfigError, match="window_loss=True .* needs window_norm='standard', "
                                          "got 'center'"):
        small(window_norm="center", window_loss=True).fit(df)


def test_default_calendar_leaves_out_yearly_terms_below_two_years_of_data() -> None:
    df = seasonal_ar(300)  # hourly, under two weeks
    model = small(max_steps=1, calendar=True).fit(df)
    assert model.spec_.calendar == ("hour", "dayofweek")
    assert default_calendar("30min", pd.Timedelta(days=729)) == ("hour", "dayofweek")
    assert default_calendar("30min", pd.Timedelta(days=730)) == ("hour", "dayofweek", "dayofyear")
    assert default_calendar("MS", pd.Timedelta(days=365)) == ()
    assert default_calendar("MS", pd.Timedelta(days=4000)) == ("month",)
    assert default_calendar("D") == ("dayofweek", "dayofyear")  # no span: all terms


@pytest.mark.parametrize("calendar", ["hour", None, 3])
def test_calendar_that_is_not_a_list_is_refused(calendar: object) -> None:
    with pytest.raises(ConfigError, match=r"calendar must be True, False or a list.*got"):
        small(max_steps=1, calendar=calendar).fit(seasonal_ar(300))


def test_random_sampling_reaches_the_trainer_and_bad_values_name_the_option(
        tmp_path: Path) -> None:
    """sampling="random" draws each batch's windows with replacement: same seed, other
    batches, other weights; the forecasts stay finite and the option is saved."""
    t = np.arange(300)
    df = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=300, freq="h"),
                       "y": np.sin(2 * np.pi * t / 24) + 0.01 * t})
    params = dict(lookback=24, horizon=6, hidden_size=8, num_layers=1, max_epochs=2,
                  batch_size=16, seasonal_lags=(), calendar=False, validation_fraction=0.0,
                  progress=False)
    drawn = LSTMForecaster(sampling="random", **params).fit(df)
    again = LSTMForecaster(sampling="random", **params).fit(df)
    epochs = LSTMForecaster(**params).fit(df)
    weights = [dict(m.network_.state_dict()) for m in (drawn, again, epochs)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])
    assert np.isfinite(drawn.predict(df)["y"]).all()
    assert LSTMForecaster.load(drawn.save(tmp_path / "m")).sampling == "random"
    with pytest.raises(ConfigError, match="sampling must be one of 'epochs', 'random'"):
        LSTMForecaster(sampling="shuffled", **params).fit(df)
