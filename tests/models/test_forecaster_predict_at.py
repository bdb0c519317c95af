"""LSTMForecaster.predict_at (forecasts from many cutoffs at once) and max_steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from torch.optim.optimizer import register_optimizer_step_pre_hook

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation.backtest import backtest
from lstmkit.models.forecaster import LSTMForecaster

# float32 networks give last-digit differences between batch sizes
RTOL = 1e-6


def hourly(n: int = 400, seed: int = 0, scale: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = scale * (10 + np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.2, n).cumsum() * 0.1)
    return pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"), "y": y,
                         "temp": np.cos(2 * np.pi * t / 24), "flag": (t // 24) % 7 < 5})


def small(**kw: Any) -> LSTMForecaster:
    params = dict(lookback=24, horizon=6, hidden_size=8, num_layers=1, max_epochs=1,
                  batch_size=64, progress=False, seasonal_lags=[24], device="cpu")
    return LSTMForecaster(**{**params, **kw})


@pytest.fixture(scope="module")
def covariate_model() -> LSTMForecaster:
    return small(past_covariates=["temp"], future_covariates=["flag"]).fit(hourly().iloc[:300])


@pytest.fixture
def optimizer_steps() -> Iterator[list[int]]:
    steps: list[int] = []
    handle = register_optimizer_step_pre_hook(lambda opt, args, kwargs: steps.append(1))
    yield steps
    handle.remove()


def future_of(df: pd.DataFrame, steps: int) -> pd.DataFrame:
    times = pd.date_range(df["ds"].iloc[-1], periods=steps + 1, freq="h")[1:]
    return pd.DataFrame({"ds": times, "flag": True})


# ------------------------------------------------------------------------- predict_at


def test_last_cutoff_equals_predict(covariate_model: LSTMForecaster) -> None:
    df = hourly()
    future = future_of(df, 6)
    out = covariate_model.predict_at(df, [df["ds"].iloc[-1], df["ds"].iloc[200]], future=future)
    assert list(out.columns) == ["cutoff", "ds", "step", "y"]
    assert len(out) == 12 and out["step"].tolist() == list(range(1, 7)) * 2
    assert list(out["cutoff"].unique()) == [df["ds"].iloc[200], df["ds"].iloc[-1]]
    first = out[out["cutoff"] == df["ds"].iloc[200]]
    assert (first["ds"] == df["ds"].iloc[201:207].to_numpy()).all()
    predicted = covariate_model.predict(df, future=future)
    last = out[out["cutoff"] == df["ds"].iloc[-1]]
    np.testing.assert_allclose(last["y"].to_numpy(), predicted["y"].to_numpy(), rtol=RTOL)
    np.testing.assert_array_equal(last["ds"].to_numpy(), predicted.index.to_numpy())


def test_equals_the_forecasts_at_the_same_rows(covariate_model: LSTMForecaster) -> None:
    df = hourly()
    rows = np.arange(100, 390, 7)  # first forecast rows; the last ones reach into the data's end
    out = covariate_model.predict_at(df, df["ds"].iloc[rows - 1])
    design = covariate_model.design(covariate_model.load_data(df).frame)
    expected = covariate_model.forecast_at(design, rows)
    np.testing.assert_allclose(out["y"].to_numpy().reshape(len(rows), 6), expected, rtol=RTOL)


def test_equals_the_backtest_at_the_same_origins() -> None:
    df = hourly(360)
    model = small(max_steps=4)
    result = backtest(model, df, folds=3, refit=False, baselines=[])
    forecasts = result.forecasts.sort_values(["origin", "step"])
    origins = forecasts["origin"].unique()
    fitted = small(max_steps=4).fit(df.iloc[: origins.min()])  # refit=False: the first fold's rows
    out = fitted.predict_at(df, df["ds"].iloc[origins - 1])
    assert len(out) == len(forecasts) == 3 * 6
    np.testing.assert_array_equal(out["ds"].to_numpy(), forecasts["ds"].to_numpy())
    np.testing.assert_allclose(out["y"].to_numpy(), forecasts["forecast"].to_numpy(),
                               rtol=RTOL)


def test_many_series_with_cutoffs_per_series() -> None:
    a, b = hourly(300, seed=1), hourly(260, seed=2, scale=3.0)
    long = pd.concat([a.assign(uid="a"), b.assign(uid="b")], ignore_index=True)
    model = small().fit(long, id_col="uid")
    cutoffs = {"a": [a["ds"].iloc[100], a["ds"].iloc[150]], "b": b["ds"].iloc[-1]}
    out = model.predict_at(long, cutoffs)
    assert list(out.columns) == ["uid", "cutoff", "ds", "step", "y"]
    assert out.groupby("uid")["cutoff"].nunique().to_dict() == {"a": 2, "b": 1}
    pd.testing.assert_frame_equal(
        out[out["uid"] == "b"].reset_index(drop=True)[["uid", "ds", "y"]],
        model.predict(long)[lambda f: f["uid"] == "b"].reset_index(drop=True), rtol=RTOL)
    both = model.predict_at(long, a["ds"].iloc[150])  # one time for every series
    assert both.groupby("uid").size().to_dict() == {"a": 6, "b": 6}
    np.testing.assert_allclose(both[both["uid"] == "a"]["y"].to_numpy(),
                               out[out["cutoff"] == a["ds"].iloc[150]]["y"].to_numpy(), rtol=RTOL)


def test_quantile_columns_match_predict() -> None:
    df = hourly(300)
    model = small(likelihood="quantile").fit(df)
    out = model.predict_at(df, [df["ds"].iloc[150], df["ds"].iloc[-1]])
    assert list(out.columns) == ["cutoff", "ds", "step", "y", "y_q0.1", "y_q0.5", "y_q0.9"]
    last = out[out["cutoff"] == df["ds"].iloc[-1]].set_index("ds")
    pd.testing.assert_frame_equal(last[["y", "y_q0.1", "y_q0.5", "y_q0.9"]], model.predict(),
                                  check_names=False, check_freq=False, rtol=RTOL)


def test_time_zone_aware_data_takes_naive_cutoffs_in_its_zone() -> None:
    df = hourly(300)
    df["ds"] = df["ds"].dt.tz_localize("Europe/Berlin")
    model = small().fit(df)
    out = model.predict_at(df, "2024-01-10 05:00")
    assert out["cutoff"].iloc[0] == pd.Timestamp("2024-01-10 05:00", tz="Europe/Berlin")
    assert out["ds"].iloc[0] == pd.Timestamp("2024-01-10 06:00", tz="Europe/Berlin")


def test_errors_name_the_cutoff(covariate_model: LSTMForecaster) -> None:
    df = hourly()
    with pytest.raises(DataValidationError, match=r"cutoff 2025-01-01 00:00:00 is not a time "
                                                  r"of series 'y', which runs 2024-01-01"):
        covariate_model.predict_at(df, "2025-01-01")
    with pytest.raises(DataValidationError, match=r"cutoff 2024-01-02 12:00:00 of series 'y' "
                                                  r"has 37 rows up to it; the model reads 48 "
                                                  r".*earliest possible cutoff is 2024-01-02 23"):
        covariate_model.predict_at(df, ["2024-01-05", "2024-01-02 12:00"])
    with pytest.raises(DataValidationError, match=r"cutoff 2024-01-17 12:00:00 of series 'y': "
                                                  r"its horizon runs 3 step\(s\) past the end "
                                                  r"of the data .*\['flag'\]; pass future="):
        covariate_model.predict_at(df, df["ds"].iloc[-4])
    with pytest.raises(DataValidationError, match="no \\(or NaN\\)"):
        covariate_model.predict_at(df, df["ds"].iloc[-4], future=future_of(df, 2))
    with pytest.raises(DataValidationError, match="cutoffs is empty"):
        covariate_model.predict_at(df, [])
    with pytest.raises(DataValidationError, match="cutoffs must be times"):
        covariate_model.predict_at(df, ["soon"])
    with pytest.raises(DataValidationError, match="time zone"):
        covariate_model.predict_at(df, pd.Timestamp("2024-01-05", tz="UTC"))
    with pytest.raises(DataValidationError, match=r"cutoffs name series \['z'\]"):
        covariate_model.predict_at(df, {"z": "2024-01-05"})


def test_horizon_past_the_data_needs_future_only_for_known_future_covariates(
        covariate_model: LSTMForecaster) -> None:
    df = hourly()
    out = covariate_model.predict_at(df, df["ds"].iloc[-4], future=future_of(df, 3))
    assert out["ds"].iloc[-1] == df["ds"].iloc[-1] + pd.Timedelta(hours=3)
    plain = small().fit(df.iloc[:300])
    assert len(plain.predict_at(df, df["ds"].iloc[-2])) == 6


# -------------------------------------------------------------------------- max_steps


def test_max_steps_is_the_number_of_optimizer_steps(optimizer_steps: list[int]) -> None:
    model = small(max_steps=17, max_epochs=1, validation_fraction=0.0).fit(hourly(300))
    assert len(optimizer_steps) == 17  # 4 batches of 64 windows per epoch: 5 epochs
    assert len(model.history_) == 5
    assert model.get_config()["max_steps"] == 17


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "10"])
def test_max_steps_must_be_a_positive_integer(value: object) -> None:
    with pytest.raises(ConfigError, match=f"max_steps must be None or a positive integer, "
                                          f"got {value!r}"):
        small(max_steps=value).fit(hourly(300))
