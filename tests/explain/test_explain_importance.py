"""Permutation importance: finds the driving covariate, shapes, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.evaluation.metrics import mae
from lstmkit.explain import _inputs, permutation_importance


def test_driving_covariate_ranks_first_and_distractor_low(direct_model, data) -> None:
    imp = permutation_importance(direct_model, data, repeats=3, time_block=1, seed=0)
    ranked = imp.features.set_index("feature")["importance_mean"]
    assert ranked.index[0] == "x"
    assert ranked["z"] < 0.05 * ranked["x"]
    assert ranked["x"] > 10 * imp.baseline  # shuffling x ruins the forecast
    # y_t depends on x_{t-1}: the step just before the origin matters most
    steps = imp.time_steps.set_index("offset_start")["importance_mean"]
    assert steps.idxmax() == -1


def test_shapes_and_table(direct_model, data) -> None:
    imp = permutation_importance(direct_model, data, repeats=2, time_block=3)
    assert list(imp.features.columns) == ["feature", "kind", "importance_mean",
                                          "importance_std"]
    assert set(imp.features["feature"]) == {"y", "x", "z"}
    assert dict(zip(imp.features["feature"], imp.features["kind"], strict=True)) == {
        "y": "target", "x": "past covariate", "z": "past covariate"}
    blocks = imp.time_steps[["block", "offset_start", "offset_end"]].values.tolist()
    assert blocks == [["t-3..t-1", -3, -1], ["t-6..t-4", -6, -4], ["t-8..t-7", -8, -7]]
    table = imp.table()
    assert len(table) == 3 + 3 and set(table["scope"]) == {"feature", "time step"}
    assert (imp.features["importance_std"] >= 0).all() and imp.repeats == 2
    assert imp.n_origins == len(data) - 8  # every origin with a lookback and an actual


def test_baseline_is_the_models_own_error(direct_model, data) -> None:
    imp = permutation_importance(direct_model, data, repeats=1, max_origins=50)
    design = _inputs.design_of(direct_model, data)
    rows = _inputs.valid_origins(direct_model, design, known=True)
    rows = rows[np.unique(np.linspace(0, len(rows) - 1, 50).round().astype(int))]
    expected = mae(_inputs.actuals(direct_model, design, rows),
                   direct_model.forecast_at(design, rows))
    assert imp.n_origins == 50
    assert imp.baseline == pytest.approx(expected, rel=1e-9)


def test_same_seed_same_numbers_and_given_origins(direct_model, data) -> None:
    origins = list(data["ds"].iloc[30:90])
    a = permutation_importance(direct_model, data, origins, repeats=2, seed=3)
    b = permutation_importance(direct_model, data, origins, repeats=2, seed=3)
    assert a.n_origins == 60
    assert a.features.equals(b.features) and a.time_steps.equals(b.time_steps)


def test_recursive_model_is_scored_through_its_own_loop(make_model, data) -> None:
    model = make_model(strategy="recursive", horizon=2, max_epochs=2)
    design = _inputs.design_of(model, data)
    rows = _inputs.valid_origins(model, design, known=True)
    np.testing.assert_allclose(_inputs.forecast(model, _inputs.windows(model, design, rows)),
                               model.forecast_at(design, rows), atol=1e-9)
    imp = permutation_importance(model, data, repeats=1)
    assert len(imp.features) == 3 and np.isfinite(imp.features["importance_mean"]).all()
