"""Scalers, log and difference transforms: sklearn semantics, exact inverses, no leakage."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from lstmkit.data.transforms import Difference, LogTransform, SeriesScaler
from lstmkit.errors import ConfigError, DataValidationError

SKLEARN = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


def _panel(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = np.array(["north", "south", "east"])[rng.integers(0, 3, n)]
    values = rng.normal(size=(n, 3)) * [1.0, 50.0, 1.0] + [0.0, 1000.0, 0.0]
    values[:, 2] = np.where(ids == "north", 7.0, values[:, 2])  # constant within one series
    return values, ids


@pytest.mark.parametrize("kind", sorted(SKLEARN))
def test_scaler_matches_sklearn_per_series(kind: str) -> None:
    values, ids = _panel()
    scaled = SeriesScaler(kind).fit(values, ids).transform(values, ids)
    for series in np.unique(ids):
        rows = ids == series
        expected = SKLEARN[kind]().fit_transform(values[rows])
        np.testing.assert_allclose(scaled[rows], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["standard", "minmax", "robust", "none"])
def test_scaler_inverse_is_exact(kind: str) -> None:
    values, ids = _panel()
    scaler = SeriesScaler(kind).fit(values, ids)
    restored = scaler.inverse_transform(scaler.transform(values, ids), ids)
    np.testing.assert_allclose(restored, values, rtol=1e-12, atol=1e-12)


def test_constant_column_gets_scale_one() -> None:
    values, ids = _panel()
    scaler = SeriesScaler("standard").fit(values, ids)
    north = scaler.ids_.index("north")
    assert scaler.center_[north, 2] == 7.0
    assert scaler.scale_[north, 2] == 1.0
    assert np.all(scaler.transform(values, ids)[ids == "north", 2] == 0.0)


def test_one_series_one_dimension_keeps_shape() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    scaler = SeriesScaler("minmax").fit(y)
    scaled = scaler.transform(y)
    assert scaled.shape == (4,)
    np.testing.assert_allclose(scaled, [0.0, 1 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(scaler.inverse_transform(scaled), y)


def test_nans_are_ignored_when_fitting_and_kept() -> None:
    y = np.array([[1.0], [np.nan], [3.0]])
    scaler = SeriesScaler("standard").fit(y)
    assert scaler.center_[0, 0] == 2.0 and scaler.scale_[0, 0] == 1.0
    out = scaler.transform(y)
    assert np.isnan(out[1, 0]) and out[0, 0] == -1.0 and out[2, 0] == 1.0


def test_integer_series_ids() -> None:
    values = np.array([1.0, 2.0, 10.0, 30.0])
    ids = np.array([5, 5, 9, 9])
    scaled = SeriesScaler("minmax").fit(values, ids).transform(values[::-1], ids[::-1])
    np.testing.assert_allclose(scaled, [1.0, 0.0, 1.0, 0.0])


def test_fit_sees_only_training_rows() -> None:
    values, ids = _panel(200)
    train = 150
    data = values.copy()
    scaler = SeriesScaler("robust").fit(data[:train], ids[:train])
    center, scale = scaler.center_.copy(), scaler.scale_.copy()
    before = scaler.transform(data[:train], ids[:train])

    data[train:] = 1e9  # anything after the training slice
    refit = SeriesScaler("robust").fit(data[:train], ids[:train])

    np.testing.assert_array_equal(refit.center_, center)
    np.testing.assert_array_equal(refit.scale_, scale)
    np.testing.assert_array_equal(scaler.center_, center)  # the fitted scaler kept no view
    np.testing.assert_array_equal(refit.transform(data[:train], ids[:train]), before)


def test_fit_does_not_keep_a_view_of_its_input() -> None:
    data = np.array([[1.0], [2.0], [3.0]])
    scaler = SeriesScaler("none").fit(data)
    data[:] = 100.0
    assert scaler.center_[0, 0] == 0.0
    scaler = SeriesScaler("minmax").fit(data[:2])
    data[0] = -5.0
    assert scaler.center_[0, 0] == 100.0


def test_unknown_series_id_is_named() -> None:
    values, ids = _panel()
    scaler = SeriesScaler().fit(values, ids)
    with pytest.raises(DataValidationError, match=r"\['west'\] were not seen"):
        scaler.transform(values[:2], np.array(["north", "west"]))


def test_ids_must_match_how_it_was_fitted() -> None:
    values, ids = _panel()
    with pytest.raises(DataValidationError, match="pass the ids"):
        SeriesScaler().fit(values, ids).transform(values)
    with pytest.raises(DataValidationError, match="without ids"):
        SeriesScaler().fit(values).transform(values, ids)


def test_wrong_column_count_and_bad_kind() -> None:
    values, _ = _panel()
    with pytest.raises(DataValidationError, match="fitted on 3 column"):
        SeriesScaler().fit(values).transform(values[:, :2])
    with pytest.raises(ConfigError, match="unknown scaler kind 'zscore'"):
        SeriesScaler("zscore")
    with pytest.raises(ConfigError, match="not fitted"):
        SeriesScaler().transform(values)


def test_all_nan_column_in_a_series_is_named() -> None:
    values = np.array([[1.0, np.nan], [2.0, np.nan], [3.0, 4.0]])
    with pytest.raises(DataValidationError, match="series 'a' has no non-NaN value in column 1"):
        SeriesScaler().fit(values, np.array(["a", "a", "b"]))


def test_state_round_trips_through_json() -> None:
    values, ids = _panel()
    scaler = SeriesScaler("standard").fit(values, ids)
    state = scaler.state()
    assert isinstance(state["center"], np.ndarray) and state["center"].shape == (3, 3)
    text = json.dumps({k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in state.items()})
    rebuilt = SeriesScaler.from_state(json.loads(text))
    np.testing.assert_array_equal(rebuilt.transform(values, ids), scaler.transform(values, ids))
    with pytest.raises(ConfigError, match="lacks"):
        SeriesScaler.from_state({"kind": "standard"})


def test_log_transform_round_trip_and_log1p() -> None:
    x = np.array([[0.0, 1e-10], [5.0, 1e6]])
    log1p = LogTransform(offset=1.0)
    np.testing.assert_array_equal(log1p.transform(x), np.log1p(x))
    np.testing.assert_allclose(log1p.inverse_transform(log1p.transform(x)), x, rtol=1e-12)
    shifted = LogTransform(offset=2.0)
    np.testing.assert_allclose(shifted.transform(x), np.log(x + 2.0))
    restored = shifted.inverse_transform(shifted.transform(x))
    np.testing.assert_allclose(restored, x, rtol=1e-12, atol=1e-12)


def test_log_transform_names_the_non_positive_value() -> None:
    with pytest.raises(DataValidationError, match=r"got -3 at position \(2,\)"):
        LogTransform().transform(np.array([1.0, 2.0, -3.0]))
    with pytest.raises(DataValidationError, match=r"got 0 at position \(0,\)"):
        LogTransform().transform(np.array([0.0]))


@pytest.mark.parametrize("lag", [1, 3, 7])
def test_difference_round_trip(lag: int) -> None:
    rng = np.random.default_rng(lag)
    x = rng.normal(size=(50, 2)).cumsum(axis=0)
    diff = Difference(lag)
    d = diff.transform(x)
    assert d.shape == (50 - lag, 2)
    np.testing.assert_array_equal(d[0], x[lag] - x[0])
    np.testing.assert_allclose(diff.inverse_transform(d, x[:lag]), x[lag:], rtol=0, atol=1e-12)


def test_difference_forecast_continues_from_history() -> None:
    x = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    # predicted seasonal differences after the history, lag 2: uses the last two values only
    levels = Difference(2).inverse_transform(np.array([1.0, 1.0, 1.0]), x)
    np.testing.assert_array_equal(levels, [8.0, 12.0, 9.0])


def test_difference_errors() -> None:
    with pytest.raises(DataValidationError, match="needs more than 3 rows, got 3"):
        Difference(3).transform(np.ones(3))
    with pytest.raises(DataValidationError, match="last 2 observed rows"):
        Difference(2).inverse_transform(np.ones(4), np.ones(1))
    with pytest.raises(ConfigError, match="lag must be an integer >= 1"):
        Difference(0)
