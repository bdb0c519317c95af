"""Clear errors: unfitted model, origins outside the data or without history, bad options."""

from __future__ import annotations

import pandas as pd
import pytest

from lstmkit import LSTMForecaster
from lstmkit.errors import ConfigError, DataValidationError, LstmkitError
from lstmkit.explain import attention_weights, integrated_gradients, permutation_importance


@pytest.mark.parametrize("explain", [permutation_importance, integrated_gradients,
                                     attention_weights])
def test_unfitted_model(explain, data) -> None:
    with pytest.raises(ConfigError, match="not fitted yet; call fit"):
        explain(LSTMForecaster(), data)


def test_origin_not_in_the_data(direct_model, data) -> None:
    with pytest.raises(DataValidationError, match="origin 2031-01-01 00:00:00 is not a "
                                                  "timestamp of the data"):
        integrated_gradients(direct_model, data, origin="2031-01-01")
    with pytest.raises(DataValidationError, match="not a time"):
        attention_weights(direct_model, data, "yesterday-ish")


def test_origin_without_enough_history(direct_model, data) -> None:
    early = data["ds"].iloc[3]
    with pytest.raises(DataValidationError, match=r"has 3 rows before it; the model needs 8 "
                                                  r"\(lookback 8 \+ seasonal lag 0\)"):
        integrated_gradients(direct_model, data, origin=early)
    with pytest.raises(DataValidationError, match="earliest possible origin is"):
        permutation_importance(direct_model, data, [early, data["ds"].iloc[40]])


def test_origin_without_room_for_the_horizon(seq2seq_model, data) -> None:
    with pytest.raises(DataValidationError, match="needs horizon 2 rows from the origin"):
        attention_weights(seq2seq_model, data, data["ds"].iloc[-1])


def test_bad_options(direct_model, data) -> None:
    for repeats in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="repeats must be a positive integer"):
            permutation_importance(direct_model, data, repeats=repeats)
    with pytest.raises(ConfigError, match="metric must be one of"):
        permutation_importance(direct_model, data, metric="mape!")
    with pytest.raises(ConfigError, match="step must be an integer in 1..1"):
        integrated_gradients(direct_model, data, step=2)
    with pytest.raises(DataValidationError, match="series 'nope' is not in the data"):
        permutation_importance(direct_model, data, series="nope")


def test_recursive_model_has_no_gradients_to_integrate(make_model, data) -> None:
    model = make_model(strategy="recursive", max_epochs=1)
    with pytest.raises(ConfigError, match="use permutation_importance"):
        integrated_gradients(model, data)
    with pytest.raises(LstmkitError, match="no attention"):
        attention_weights(model, data)


def test_many_series_need_a_series_for_one_origin(data) -> None:
    frames = [data.assign(unique_id=uid) for uid in ("a", "b")]
    both = pd.concat(frames, ignore_index=True)
    model = LSTMForecaster(lookback=4, hidden_size=4, num_layers=1, max_epochs=1,
                           seasonal_lags=[], calendar=False, progress=False)
    model.fit(both, id_col="unique_id")
    origin = data["ds"].iloc[50]
    with pytest.raises(DataValidationError, match="is in 2 series; pass series=<id>"):
        integrated_gradients(model, both, origin=origin)
    assert integrated_gradients(model, both, origin=origin, series="b").series == "b"
