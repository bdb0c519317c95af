"""Attention weights: tidy table, sums to one, the weights the forecast used."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmkit.errors import ConfigError
from lstmkit.explain import _inputs, attention_weights


def test_direct_attention_sums_to_one_over_the_lookback(direct_model, data) -> None:
    table = attention_weights(direct_model, data, count=5)
    assert list(table.columns) == ["origin", "series", "step", "offset", "time", "weight"]
    assert len(table) == 5 * 8 and table["step"].isna().all()
    assert table["origin"].nunique() == 5 and table["origin"].max() == data["ds"].iloc[-1]
    sums = table.groupby("origin")["weight"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)
    assert (table["weight"] >= 0).all()
    first = table.iloc[0]
    assert first["offset"] == -8 and first["time"] == first["origin"] - 8 * np.timedelta64(
        1, "h")


def test_seq2seq_attention_per_forecast_step(seq2seq_model, data) -> None:
    origins = list(data["ds"].iloc[[30, 31, 45]])
    table = attention_weights(seq2seq_model, data, origins)
    assert len(table) == 3 * 2 * 8
    assert sorted(table["step"].unique()) == [1, 2]
    sums = table.groupby(["origin", "step"])["weight"].sum()
    assert len(sums) == 6
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)
    assert list(table["origin"].unique()) == origins


def test_weights_are_those_of_the_attention_module(direct_model, data) -> None:
    table = attention_weights(direct_model, data, data["ds"].iloc[50])
    net = direct_model.network_
    design = _inputs.design_of(direct_model, data)
    inputs = _inputs.windows(direct_model, design, _inputs.origin_rows(
        direct_model, design, data["ds"].iloc[50]))
    with torch.no_grad():
        states, (h_n, _) = net.encoder(inputs.encoder)
        _, expected = net.attention(h_n[-1], states)
    np.testing.assert_allclose(table["weight"], expected[0].numpy(), rtol=1e-6)


def test_model_without_attention_is_refused(make_model, data) -> None:
    model = make_model(max_epochs=1)
    with pytest.raises(ConfigError, match="no attention.*attention='additive' or 'dot'"):
        attention_weights(model, data)
