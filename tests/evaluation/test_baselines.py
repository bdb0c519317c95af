"""Classical baselines: exact forecasts, fitted coefficients, statsforecast wrappers, backtest."""

from __future__ import annotations

import numpy as np
import pytest
from statsforecast.models import AutoETS

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation import (
    ARIMA,
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
    walk_forward,
)


def trend_season(n: int, season: int = 12) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    return 50.0 + 0.2 * t + 5.0 * np.sin(2 * np.pi * t / season)


def test_simple_baselines_exact() -> None:
    h = np.array([1.0, 2.0, 4.0, 7.0])
    np.testing.assert_allclose(Naive().fit(h).predict(h, 3), [7.0, 7.0, 7.0])
    np.testing.assert_allclose(Drift().fit(h).predict(h, 2), [9.0, 11.0])
    np.testing.assert_allclose(MovingAverage(3).fit(h).predict(h, 2), [13 / 3, 13 / 3])


def test_seasonal_naive_exact_on_pure_season() -> None:
    y = np.tile([3.0, 1.0, 4.0, 1.0, 5.0], 8)
    model = SeasonalNaive(5).fit(y[:23])
    np.testing.assert_array_equal(model.predict(y[:23], 12), y[23:35])
    assert model.name == "seasonal_naive_5"


def test_linear_ar_recovers_ar2() -> None:
    rng = np.random.default_rng(0)
    y = np.zeros(6000)
    for t in range(2, y.size):
        y[t] = 1.0 + 0.6 * y[t - 1] - 0.3 * y[t - 2] + rng.normal(0, 0.5)
    model = LinearAR(2).fit(y)
    np.testing.assert_allclose(model.coef_, [0.6, -0.3], atol=0.03)
    assert model.intercept_ == pytest.approx(1.0, abs=0.05)
    f = model.predict(y, 2)
    first = model.intercept_ + model.coef_ @ [y[-1], y[-2]]
    second = model.intercept_ + model.coef_ @ [first, y[-1]]
    np.testing.assert_allclose(f, [first, second])


def test_linear_ar_lag_list_is_exact_on_seasonal_recurrence() -> None:
    y = np.tile(np.arange(6.0), 20) + 0.0  # y[t] = y[t-6] exactly
    model = LinearAR([1, 6]).fit(y[:90])
    np.testing.assert_allclose(model.predict(y[:90], 10), y[90:100], atol=1e-8)
    assert model.name == "linear_ar_1_6"
    assert LinearAR([*range(1, 49), 336]).name == "linear_ar_49lags_max336"


def test_ets_beats_naive_on_trend_and_season() -> None:
    y = trend_season(252)
    train, test = y[:240], y[240:]
    ets = ETS(12).fit(train)
    ets_mae = np.abs(ets.predict(train, 12) - test).mean()
    naive_mae = np.abs(Naive().fit(train).predict(train, 12) - test).mean()
    assert ets.name == "ets_12"
    assert ets_mae < 0.1 * naive_mae


def test_ets_forward_matches_fitted_model_without_refit() -> None:
    y = trend_season(300) + np.random.default_rng(1).normal(0, 0.3, 300)
    ets = ETS(12).fit(y[:240])
    reference = AutoETS(season_length=12).fit(y[:240])
    np.testing.assert_allclose(ets.predict(y[:240], 6), reference.predict(6)["mean"])
    np.testing.assert_allclose(
        ets.predict(y[:270], 6), reference.forward(y[:270], 6)["mean"], rtol=1e-10
    )
    assert ets.model_.model_["method"] == reference.model_["method"]


def test_long_season_names_and_max_train() -> None:
    assert ETS(48).name == "ets_nonseasonal"
    assert ARIMA(48).name == "arima_sdiff48"
    assert ARIMA(12).name == "arima_12"
    model = ETS(1, max_train=50).fit(trend_season(200))
    assert (model.start_, model.n_train_) == (150, 200)
    assert model.model_.model_["fitted"].size == 50


def test_arima_seasonal_difference_reproduces_a_pure_season() -> None:
    y = np.tile(np.sin(np.arange(30) / 3.0) * 4 + 10, 12)
    model = ARIMA(30).fit(y[:300])
    np.testing.assert_allclose(model.predict(y[:300], 40), y[300:340], atol=1e-6)
    np.testing.assert_allclose(model.predict(y[:315], 20), y[315:335], atol=1e-6)


def test_mstl_first_origin_and_forward() -> None:
    from statsforecast.models import MSTL as SfMSTL

    y = trend_season(360, 12) + 2.0 * np.cos(2 * np.pi * np.arange(360) / 36)
    model = MSTL([12, 36]).fit(y[:300])
    assert model.name == "mstl_12_36"
    reference = SfMSTL(season_length=[12, 36], trend_forecaster=AutoETS(model="ZZN")).fit(y[:300])
    np.testing.assert_allclose(model.predict(y[:300], 24), reference.predict(24)["mean"])
    later = model.predict(y[:324], 24)
    naive_mae = np.abs(y[323] - y[324:348]).mean()
    assert np.abs(later - y[324:348]).mean() < 0.2 * naive_mae
    with pytest.raises(ConfigError, match="at least one season >= 2"):
        MSTL([1])


class CountingNaive(Naive):
    def __init__(self) -> None:
        self.fits = 0
        self.history_lengths: list[int] = []

    def fit(self, y: np.ndarray) -> CountingNaive:
        self.fits += 1
        return super().fit(y)

    def predict(self, history: np.ndarray, horizon: int) -> np.ndarray:
        self.history_lengths.append(history.size)
        return super().predict(history, horizon)


def test_backtest_frame_and_fit_once_per_fold() -> None:
    y = np.arange(60.0) ** 1.5
    folds = walk_forward(60, horizon=4, folds=3, fold_length=8, step=2, gap=1)
    counting = CountingNaive()
    seasonal = SeasonalNaive(4)
    progress: list[tuple[str, int]] = []
    frame = backtest_baselines(
        y, folds, [counting, seasonal], 4, on_progress=lambda m, k: progress.append((m, k))
    )
    assert counting.fits == 3
    assert counting.history_lengths == [36, 38, 40, 44, 46, 48, 52, 54, 56]
    assert list(frame.columns) == [
        "fold", "origin", "step", "position", "model", "forecast", "actual"
    ]
    assert len(frame) == 3 * 3 * 4 * 2
    np.testing.assert_array_equal(frame["position"], frame["origin"] + frame["step"] - 1)
    np.testing.assert_allclose(frame["actual"], y[frame["position"]])
    sn = frame[frame["model"] == "seasonal_naive_4"]
    np.testing.assert_allclose(sn["forecast"], y[sn["position"] - 4])
    nv = frame[frame["model"] == "naive"]
    np.testing.assert_allclose(nv["forecast"], y[nv["origin"] - 1])
    assert progress[:2] == [("naive", 0), ("seasonal_naive_4", 0)]
    assert set(frame.attrs["seconds"]) == {"naive", "seasonal_naive_4"}


def test_backtest_rejects_folds_beyond_series() -> None:
    folds = walk_forward(50, horizon=4, folds=2)
    with pytest.raises(DataValidationError, match="build the folds with n=len"):
        backtest_baselines(np.arange(40.0), folds, [Naive()], 4)


def test_make_baselines_names_and_errors() -> None:
    names = [b.name for b in make_baselines(season=48, seasonalities=[336])]
    assert names == [
        "naive", "seasonal_naive_48", "seasonal_naive_336", "drift", "moving_average_48",
        "linear_ar_49lags_max336", "ets_nonseasonal", "arima_sdiff48", "mstl_48_336",
    ]
    assert "mstl" not in {b.name for b in make_baselines(season=1)}
    assert [b.name for b in make_baselines("drift", season=7)] == ["drift"]
    with pytest.raises(ConfigError, match=r"unknown baseline\(s\) \['prophet'\].*'naive'"):
        make_baselines(["naive", "prophet"], season=7)


def test_short_history_error_names_model() -> None:
    with pytest.raises(DataValidationError, match="seasonal_naive_12: history has 5 values"):
        SeasonalNaive(12).predict(np.arange(5.0), 3)
    assert isinstance(Naive(), Baseline)
