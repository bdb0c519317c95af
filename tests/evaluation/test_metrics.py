"""Metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from sklearn import metrics as skm

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation import (
    METRICS,
    compute_metrics,
    directional_accuracy,
    mae,
    mape,
    mase,
    r2,
    rmse,
    smape,
)

Y = np.array([1.0, 2.0, 4.0, 8.0])
P = np.array([2.0, 2.0, 3.0, 10.0])  # errors -1, 0, 1, -2


def test_hand_computed_values() -> None:
    assert mae(Y, P) == pytest.approx(1.0)
    assert rmse(Y, P) == pytest.approx(np.sqrt(6 / 4))
    assert mape(Y, P) == pytest.approx(100 * (1 + 0 + 0.25 + 0.25) / 4)
    assert smape(Y, P) == pytest.approx(100 * (2 / 3 + 0 + 2 / 7 + 4 / 18) / 4)
    ss_tot = np.sum((Y - Y.mean()) ** 2)
    assert r2(Y, P) == pytest.approx(1 - 6 / ss_tot)


def test_match_sklearn_on_2d_arrays() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(5, 2, size=(6, 4))
    p = y + rng.normal(0, 1, size=(6, 4))
    yt, yp = y.ravel(), p.ravel()
    assert mae(y, p) == pytest.approx(skm.mean_absolute_error(yt, yp))
    assert rmse(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(yt, yp)))
    assert mape(y, p) == pytest.approx(100 * skm.mean_absolute_percentage_error(yt, yp))
    assert r2(y, p) == pytest.approx(skm.r2_score(yt, yp))


def test_smape_bounds_and_zero_over_zero() -> None:
    assert smape(np.array([0.0, 1.0]), np.array([0.0, 1.0])) == 0.0
    assert smape(np.array([1.0, -1.0]), np.array([-1.0, 1.0])) == pytest.approx(200.0)


def test_mase_scale_and_season() -> None:
    insample = np.array([1.0, 3.0, 2.0, 4.0, 3.0])  # |diffs| 2,1,2,1 -> 1.5; lag 2: 1,1,1 -> 1
    assert mase(Y, P, insample=insample) == pytest.approx(1.0 / 1.5)
    assert mase(Y, P, insample=insample, season=2) == pytest.approx(1.0)


def test_mase_errors() -> None:
    with pytest.raises(DataValidationError, match="more than season=4"):
        mase(Y, P, insample=np.ones(4), season=4)
    with pytest.raises(DataValidationError, match="repeats exactly"):
        mase(Y, P, insample=np.array([1.0, 2.0, 1.0, 2.0]), season=2)
    with pytest.raises(ConfigError, match="season"):
        mase(Y, P, insample=np.arange(5.0), season=0)


def test_mape_zero_raises_and_names_alternatives() -> None:
    with pytest.raises(DataValidationError, match="smape or mase"):
        mape(np.array([0.0, 1.0]), np.array([1.0, 1.0]))


def test_nan_and_shape_errors_name_the_array() -> None:
    with pytest.raises(DataValidationError, match="y_pred contains 1 NaN"):
        mae(Y, np.array([1.0, np.nan, 1.0, 1.0]))
    with pytest.raises(DataValidationError, match="y_true contains"):
        rmse(np.array([np.nan, 1.0]), np.array([1.0, 1.0]))
    with pytest.raises(DataValidationError, match="shape"):
        mae(Y, P[:3])


def test_r2_constant_target_raises() -> None:
    with pytest.raises(DataValidationError, match="constant"):
        r2(np.ones(3), np.arange(3.0))


def test_directional_accuracy_1d_and_2d() -> None:
    # references: 10, 11, 9 -> true moves up, down, up; predictions up, up, up
    y = np.array([11.0, 9.0, 12.0])
    p = np.array([12.0, 12.0, 10.0])
    assert directional_accuracy(y, p, last_value=10.0) == pytest.approx(2 / 3)
    y2 = np.stack([y, -y])
    p2 = np.stack([p, -y])  # second row predicts exactly the true values
    acc = directional_accuracy(y2, p2, last_value=np.array([10.0, -10.0]))
    assert acc == pytest.approx((2 + 3) / 6)
    with pytest.raises(DataValidationError, match="last_value has shape"):
        directional_accuracy(y2, p2, last_value=10.0)


def test_compute_metrics_drops_mape_on_zeros(caplog: pytest.LogCaptureFixture) -> None:
    y = np.array([0.0, 2.0, 4.0])
    p = np.array([1.0, 2.0, 3.0])
    insample = np.array([0.0, 1.0, 3.0])
    with caplog.at_level(logging.INFO, logger="lstmkit.evaluation.metrics"):
        out = compute_metrics(y, p, insample=insample, season=1)
    assert "mape" not in out
    assert "mape left out" in caplog.text
    assert out["mae"] == pytest.approx(2 / 3)
    assert out["mase"] == pytest.approx((2 / 3) / 1.5)
    assert set(out) == {"mae", "rmse", "smape", "mase", "r2"}
    assert set(METRICS) >= set(out)
    with pytest.raises(ConfigError, match="unknown metric"):
        compute_metrics(y, p, insample=insample, season=1, names=("mae", "wape"))
