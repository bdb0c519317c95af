"""Integrated-gradient attributions of one forecast to every input cell (Captum).

Integrated gradients (Sundararajan et al. 2017) attribute F(x) - F(x') to the inputs along
the straight path from a baseline x' to x:

    attribution_i = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i da

and they are complete: the attributions sum to F(x) - F(x'). Here F is the forecast in the
target's original units (one step, or the mean over the horizon), x the window of scaled
inputs at the origin (lookback rows of encoder features, forecast rows of step features),
and the baseline x' is all zeros in scaled space: every scaled target and covariate at its
training mean (standard scaler) and every calendar / Fourier term at 0.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from lstmkit.errors import ConfigError
from lstmkit.explain._inputs import (
    Origins,
    check_model,
    column_names,
    design_of,
    features,
    latest_origins,
    origin_rows,
    point,
    to_original,
    windows,
)


@dataclass
class Attribution:
    """Integrated gradients of one forecast.

    cells: one row per input cell: part ("lookback" or "forecast"), offset (row - origin:
        -lookback .. -1 for the lookback, 0 .. horizon-1 for the forecast steps), time,
        feature, column (index in its input), value (scaled input), attribution (original
        units of the target).
    """

    cells: pd.DataFrame
    origin: pd.Timestamp
    series: str
    step: int | None  # the forecast step explained (1-based), None = mean over the horizon
    forecast: float  # F(x), original units
    baseline_forecast: float  # F(zeros)
    delta: float  # sum of attributions - (forecast - baseline_forecast)
    kinds: dict[str, str]  # feature -> kind

    def by_feature(self) -> pd.DataFrame:
        """feature, kind, attribution (signed sum), abs_attribution (sum of |cell|), ranked
        by abs_attribution."""
        out = self.cells.assign(abs_attribution=self.cells["attribution"].abs()).groupby(
            "feature", sort=False)[["attribution", "abs_attribution"]].sum().reset_index()
        out.insert(1, "kind", out["feature"].map(self.kinds))
        return out.sort_values("abs_attribution", ascending=False, kind="stable").reset_index(
            drop=True)

    def by_time(self) -> pd.DataFrame:
        """part, offset, time, attribution (signed sum over features), abs_attribution."""
        cells = self.cells.assign(abs_attribution=self.cells["attribution"].abs())
        return cells.groupby(["part", "offset", "time"], sort=False)[
            ["attribution", "abs_attribution"]].sum().reset_index().sort_values(
            "offset", kind="stable").reset_index(drop=True)


def integrated_gradients(
    model: Any,
    data: Any,
    origin: Origins = None,
    *,
    series: str | None = None,
    step: int | None = None,
    n_steps: int = 64,
) -> Attribution:
    """Integrated gradients of the forecast made at `origin` (zero baseline in scaled space).

    Args:
        model: a fitted `LSTMForecaster` with strategy "direct" or "seq2seq".
        data: rows holding the origin's lookback and `horizon` rows from it.
        origin: time of the forecast's first step (None: the latest possible origin, of the
            last series when there are several and `series` is not given).
        series: the series of a many-series model.
        step: explain the forecast of this step (1..horizon); None: the horizon's mean.
        n_steps: points of the path integral (Gauss-Legendre).
    """
    from captum.attr import IntegratedGradients  # imported here: it takes a while to load

    model = check_model(model)
    if model.strategy == "recursive":
        raise ConfigError(
            "integrated gradients need a forecast differentiable in its inputs: strategy "
            "'direct' or 'seq2seq' (the recursive loop rebuilds its inputs from its own "
            "forecasts outside the autograd graph); use "
            "permutation_importance for a recursive model")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)
                             or not 1 <= step <= model.horizon):
        raise ConfigError(f"step must be an integer in 1..{model.horizon} or None, got {step!r}")
    design = design_of(model, data)
    if origin is None:
        rows = latest_origins(model, design, 1, series)[-1:]
    else:
        rows = origin_rows(model, design, origin, series)
        if len(rows) != 1:
            raise ConfigError("integrated_gradients explains one forecast: give one origin")
    inputs = windows(model, design, rows)
    uid = inputs.ids[0]
    net = copy.deepcopy(model.network_).double().eval()

    encoder, steps = inputs.encoder.double(), inputs.step.double()
    has_steps = steps.shape[-1] > 0  # a model without step features never reads them

    def forward(enc: Tensor, *step_inputs: Tensor) -> Tensor:
        raw = net(enc, step_inputs[0] if has_steps else steps.expand(len(enc), -1, -1))
        values = to_original(model, point(model, raw), np.repeat(uid, len(raw)))
        return values.mean(dim=1) if step is None else values[:, step - 1]

    x = (encoder, steps) if has_steps else (encoder,)
    zeros = tuple(torch.zeros_like(t) for t in x)
    with torch.no_grad():
        value, base = float(forward(*x)), float(forward(*zeros))
    attributions, delta = IntegratedGradients(forward).attribute(
        x, baselines=zeros, n_steps=n_steps, return_convergence_delta=True)
    cells = _cells(model, design, int(rows[0]), x, attributions)
    kinds = {f.name: f.kind for f in features(model, design)}
    return Attribution(cells, pd.Timestamp(design.times[rows[0]]), str(uid), step, value, base,
                       float(delta.sum()), kinds)


def _cells(model: Any, design: Any, row: int, inputs: tuple[Tensor, Tensor],
           attributions: tuple[Tensor, ...]) -> pd.DataFrame:
    """The tidy table of every (part, offset, column) cell of the two inputs."""
    names = column_names(model, design)
    parts = []
    labelled = zip(("lookback", "forecast"), (-model.lookback, 0), inputs, attributions,
                   names, strict=False)
    for part, first, x, a, cols in labelled:
        n_rows, n_cols = x.shape[1], x.shape[2]
        offset = np.repeat(np.arange(first, first + n_rows), n_cols)
        parts.append(pd.DataFrame({
            "part": part,
            "offset": offset,
            "time": design.times[row + offset],
            "feature": np.tile(cols, n_rows),
            "column": np.tile(np.arange(n_cols), n_rows),
            "value": x[0].detach().numpy().reshape(-1),
            "attribution": a[0].detach().numpy().reshape(-1),
        }))
    return pd.concat(parts, ignore_index=True)
