"""Integrated gradients: completeness, the driving covariate, shapes."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.explain import _inputs, integrated_gradients


def _strongest_origin(data) -> object:
    """The origin whose x_{t-1} is farthest from 0 (the covariate moves that forecast)."""
    lagged = data["x"].shift(1).iloc[40:].abs()
    return data["ds"][lagged.idxmax()]


def test_completeness_sum_of_attributions_is_forecast_minus_baseline(direct_model,
                                                                     data) -> None:
    ig = integrated_gradients(direct_model, data, origin=data["ds"].iloc[60], n_steps=256)
    total, difference = ig.cells["attribution"].sum(), ig.forecast - ig.baseline_forecast
    assert abs(difference) > 0.1
    assert total == pytest.approx(difference, rel=1e-3)  # the path integral converges
    assert ig.delta == pytest.approx(total - difference, abs=1e-9)
    design = _inputs.design_of(direct_model, data)
    row = _inputs.origin_rows(direct_model, design, data["ds"].iloc[60])
    assert ig.forecast == pytest.approx(float(direct_model.forecast_at(design, row)[0, 0]),
                                        rel=1e-5)


def test_completeness_per_step_of_a_seq2seq_forecast(seq2seq_model, data) -> None:
    for step in (1, 2):
        ig = integrated_gradients(seq2seq_model, data, step=step)
        assert ig.cells["attribution"].sum() == pytest.approx(
            ig.forecast - ig.baseline_forecast, abs=1e-3)
        assert ig.step == step


def test_driving_covariate_has_the_largest_attribution(direct_model, data) -> None:
    origin = _strongest_origin(data)
    ig = integrated_gradients(direct_model, data, origin=origin)
    ranked = ig.by_feature().set_index("feature")["abs_attribution"]
    assert ranked.index[0] == "x"
    assert ranked["z"] < 0.2 * ranked["x"]
    by_time = ig.by_time().set_index("offset")["abs_attribution"]
    assert by_time.idxmax() == -1


def test_cells_cover_every_input(direct_model, data) -> None:
    ig = integrated_gradients(direct_model, data, origin=data["ds"].iloc[60])
    assert len(ig.cells) == 8 * 3  # lookback x encoder columns; no step features here
    assert list(ig.cells.columns) == ["part", "offset", "time", "feature", "column", "value",
                                      "attribution"]
    assert sorted(ig.cells["offset"].unique()) == list(range(-8, 0))
    first = ig.cells.iloc[0]
    assert first["time"] == data["ds"].iloc[60 - 8]
    assert set(ig.by_feature()["kind"]) == {"target", "past covariate"}
    assert np.isfinite(ig.cells["attribution"]).all()
