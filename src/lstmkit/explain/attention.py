"""Attention weights of a forecaster over its lookback steps, as a tidy table.

Models fitted with attention="additive" or "dot" and strategy "direct" attend once per
origin (one context that every forecast step reads); with strategy "seq2seq" the decoder
attends again at every forecast step. The weights are read from the attention module during
an ordinary forward pass (a forward hook), so they are exactly what the forecast used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from lstmkit.errors import ConfigError
from lstmkit.explain._inputs import (
    Origins,
    check_model,
    design_of,
    latest_origins,
    origin_rows,
    scaled_forecast,
    windows,
)
from lstmkit.nn.forecast_ensemble import ForecastEnsemble


def attention_weights(
    model: Any,
    data: Any,
    origins: Origins = None,
    *,
    series: str | None = None,
    count: int = 24,
) -> pd.DataFrame:
    """Attention weights at `origins` (times of the forecasts' first steps; None: the
    `count` latest possible origins of each series, or of `series`).

    Returns one row per (origin, step, lookback step): origin, series, step (forecast step
    1..horizon for seq2seq; <NA> for direct, whose single context serves every step), offset
    (-lookback .. -1, the lookback step relative to the origin), time (of that lookback
    step), weight. The weights of each (origin, step) sum to 1.
    """
    model = check_model(model)
    module = attention_module(model)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"count must be a positive integer, got {count!r}")
    design = design_of(model, data)
    rows = (latest_origins(model, design, count, series) if origins is None
            else origin_rows(model, design, origins, series))
    inputs = windows(model, design, rows)
    weights = _weights(model, module, inputs.encoder, inputs.step)  # (n, S, L)
    n, steps, L = weights.shape
    offsets = np.arange(-L, 0)
    step = (pd.array(np.tile(np.repeat(np.arange(1, steps + 1), L), n), dtype="Int64")
            if model.strategy == "seq2seq" else pd.array([pd.NA] * (n * steps * L),
                                                         dtype="Int64"))
    return pd.DataFrame({
        "origin": np.repeat(design.times[rows], steps * L),
        "series": np.repeat(inputs.ids.astype(str), steps * L),
        "step": step,
        "offset": np.tile(offsets, n * steps),
        "time": design.times[(rows[:, None, None] + offsets[None, None, :]).repeat(
            steps, axis=1).reshape(-1)],
        "weight": weights.reshape(-1).numpy().astype(np.float64),
    })


def has_attention_weights(model: Any) -> bool:
    """Whether `attention_weights` can read this fitted model: one network with attention
    (an ensemble's members each attend in their own way)."""
    return model.attention is not None and not isinstance(model.network_, ForecastEnsemble)


def attention_module(model: Any) -> nn.Module:
    """The attention module of a fitted forecaster, or a ConfigError naming the fix."""
    net = check_model(model).network_
    if isinstance(net, ForecastEnsemble):
        raise ConfigError(
            f"this model is an ensemble of {len(net.members)} networks, each attending in "
            "its own way; read attention weights from a model fitted with ensemble=1")
    module = net.seq2seq.attention if model.strategy == "seq2seq" else getattr(
        net, "attention", None)
    if module is None:
        raise ConfigError(
            f"this model has no attention (attention={model.attention!r}, strategy="
            f"{model.strategy!r}); fit it with attention='additive' or 'dot' and strategy "
            "'direct' or 'seq2seq' to read attention weights")
    return module


def _weights(model: Any, module: nn.Module, encoder: Tensor, step: Tensor) -> Tensor:
    """(n, steps, lookback) weights the attention module returns during the forward pass."""
    seen: list[Tensor] = []
    hook = module.register_forward_hook(lambda _m, _in, out: seen.append(out[1].detach()))
    net = model.network_
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            scaled_forecast(model, encoder, step)
    finally:
        hook.remove()
        net.train(was_training)
    return torch.stack(seen, dim=1)
