"""What is exported of each model: its network (windows -> raw outputs), the network's
inputs and outputs, the sidecar fields a caller needs, and sample inputs for the check.

- `LSTMForecaster` (every strategy): inputs ``encoder`` (batch, lookback, encoder features)
  and ``steps`` (batch, horizon, step features) as built by `LSTMForecaster.design` (see
  `forecaster_windows`); output ``forecast`` in scaled units, (batch, horizon), or
  (batch, horizon, Q) quantiles, or (batch, horizon, 2) Gaussian (mean, raw scale). Only the
  batch axis is dynamic: lookback and horizon are fixed by the model. A "recursive" model is
  exported with its feedback loop unrolled (`RecursiveUnroll`); its encoder input also holds
  the horizon's rows (batch, lookback + horizon, encoder features).
- `SequenceClassifier` (lstm and gru cells): input ``tokens`` (batch, time) int64 ids or
  ``frames`` (batch, time, features) standardised float32; output ``logits``
  (batch, classes). Batch and time are dynamic; every step of every sequence is read (no
  padding mask), so batch sequences of equal length or run them one at a time. Peephole
  cells run a Python time loop that the exporter would freeze at one length: not exportable.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from lstmkit.errors import DataValidationError, LstmkitError
from lstmkit.export.errors import ExportError
from lstmkit.export.recursive import RecursiveUnroll
from lstmkit.features import calendar_features, fourier_features
from lstmkit.models.forecast_design import Design, DesignSpec
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.models.sequence_classifier import SequenceClassifier
from lstmkit.nn.recurrent import Recurrent

SAMPLE_BATCHES = (1, 7)
SAMPLE_LENGTHS = (5, 12)


@dataclass
class Graph:
    """An eval-mode copy of a network and everything that describes its ONNX form."""

    kind: str
    module: nn.Module
    inputs: list[dict[str, Any]]  # name, shape (str = dynamic axis), dtype, features
    outputs: list[dict[str, Any]]
    info: dict[str, Any]  # kind-specific sidecar section
    # inputs of the check; the last one is also the example the exporter traces
    samples: list[tuple[np.ndarray, ...]] = field(repr=False)

    @property
    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        return {spec["name"]: {i: d for i, d in enumerate(spec["shape"]) if isinstance(d, str)}
                for spec in self.inputs + self.outputs}


def graph_of(model: Any) -> Graph:
    """The exportable graph of a fitted `LSTMForecaster` or `SequenceClassifier`."""
    if isinstance(model, LSTMForecaster):
        return _forecaster_graph(model)
    if isinstance(model, SequenceClassifier):
        return _classifier_graph(model)
    raise ExportError(
        f"cannot export a {type(model).__name__}: ONNX export supports LSTMForecaster "
        "and SequenceClassifier models")


def _network(model: Any) -> nn.Module:
    net = getattr(model, "network_", None)
    if net is None:
        raise ExportError(f"this {type(model).__name__} is not fitted; fit or load it first")
    module = copy.deepcopy(net).eval()
    for layer in module.modules():
        if isinstance(layer, Recurrent):
            layer.compile = False  # the exporter traces the plain loop, never torch.compile
    return module


def _forecaster_graph(model: LSTMForecaster) -> Graph:
    module = _network(model)
    spec: DesignSpec = model.spec_
    L, H = model.lookback, model.horizon
    rows = "o-lookback .. o-1"
    if model.strategy == "recursive":
        module = RecursiveUnroll(module, L, H, spec.seasonal_lags, len(spec.past_covariates))
        rows = ("o-lookback .. o+horizon-1 (the graph overwrites the horizon rows' target, "
                "lags and past-only covariates)")
    known = known_feature_names(spec)
    lags = [f"y_lag{m}" for m in spec.seasonal_lags]
    encoder = ["y", *lags, *spec.past_covariates, *spec.future_covariates, *known]
    steps = [*lags, *spec.future_covariates, *known]
    enc_rows = L + H if model.strategy == "recursive" else L
    out_shape: list[Any] = ["batch", H]
    meaning = "point forecast, scaled"
    if model.likelihood == "quantile":
        out_shape.append(len(model.quantiles_))
        meaning = "quantiles at the levels `quantiles`, scaled"
    elif model.likelihood == "gaussian":
        out_shape.append(2)
        meaning = "Gaussian (mean, raw scale), scaled; std = softplus(raw scale) + 1e-4"
    rng = np.random.default_rng(0)
    samples = [(rng.standard_normal((b, enc_rows, len(encoder)), dtype=np.float32),
                rng.standard_normal((b, H, len(steps)), dtype=np.float32))
               for b in SAMPLE_BATCHES]
    scalers = model.scalers_.state()
    offsets = model.interval_offsets_ if model.calibrate_intervals != "recent" else None
    info = {
        "lookback": L, "horizon": H, "strategy": model.strategy,
        "likelihood": model.likelihood,
        "quantiles": list(model.quantiles_) if model.likelihood else None,
        "target": model.target_, "time_col": model.time_col_, "id_col": model.id_col_,
        "spec": spec.to_dict(), "target_transform": model.target_transform,
        "target_scaler": _plain(scalers["target"]),
        "covariate_scaler": _plain(scalers["covariates"]),
        "interval_offsets": None if offsets is None else [float(v) for v in offsets],
        "postprocess": "original = inverse target_transform(forecast * scale[id] + center[id])",
    }
    return Graph(
        kind="lstm-forecaster", module=module,
        inputs=[
            {"name": "encoder", "shape": ["batch", enc_rows, len(encoder)],
             "dtype": "float32", "features": encoder, "rows": rows},
            {"name": "steps", "shape": ["batch", H, len(steps)], "dtype": "float32",
             "features": steps, "rows": "o .. o+horizon-1"},
        ],
        outputs=[{"name": "forecast", "shape": out_shape, "dtype": "float32",
                  "meaning": meaning}],
        info=info, samples=samples,
    )


def known_feature_names(spec: DesignSpec) -> list[str]:
    """Names of the calendar and Fourier columns, in the order of `DesignSpec.known_columns`."""
    try:
        times = pd.Series(pd.date_range("2000-01-01", periods=2, freq=spec.freq))
    except (ValueError, TypeError) as err:
        raise ExportError(f"cannot name the calendar features of frequency {spec.freq!r}: "
                          f"{err}") from err
    names: list[str] = []
    try:
        if spec.calendar:
            names += list(calendar_features(times, spec.calendar, cyclical=True).columns)
        if spec.fourier:
            names += list(fourier_features(times, spec.fourier, spec.freq).columns)
    except LstmkitError as err:
        raise ExportError(f"cannot name the calendar/Fourier features: {err}") from err
    return names


def _classifier_graph(model: SequenceClassifier) -> Graph:
    module = _network(model)
    if model.cell == "peephole":
        raise ExportError(
            "a SequenceClassifier with cell='peephole' is not exportable: its time loop runs "
            "in Python and the exporter would freeze it at one sequence length; use cell="
            "'lstm' or 'gru' to export")
    rng = np.random.default_rng(0)
    if model.input_ == "text":
        vocab = len(model.vocabulary_)
        spec = {"name": "tokens", "shape": ["batch", "time"], "dtype": "int64",
                "features": None}
        samples = [(rng.integers(0, vocab, (b, t)),)
                   for t in SAMPLE_LENGTHS for b in SAMPLE_BATCHES]
    else:
        width = int(model.n_features_in_)
        spec = {"name": "frames", "shape": ["batch", "time", width], "dtype": "float32",
                "features": model.feature_cols_}
        samples = [(rng.standard_normal((b, t, width), dtype=np.float32),)
                   for t in SAMPLE_LENGTHS for b in SAMPLE_BATCHES]
    info = {
        "input": model.input_,
        "classes": [c.item() if isinstance(c, np.generic) else c for c in model.classes_],
        "vocabulary": None if model.vocabulary_ is None else model.vocabulary_.to_dict(),
        "scaling": model.scaling_,
        "postprocess": "probabilities = softmax(logits); class = classes[argmax]",
    }
    return Graph(
        kind="sequence-classifier", module=module, inputs=[spec],
        outputs=[{"name": "logits", "shape": ["batch", len(model.classes_)],
                  "dtype": "float32", "meaning": "class logits in the order of `classes`"}],
        info=info, samples=samples,
    )


def _plain(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """Scaler state with arrays as nested lists (JSON)."""
    if state is None:
        return None
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in state.items()}


def forecaster_windows(model: LSTMForecaster, design: Design, origins: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The inputs of `model`'s exported graph at rows `origins` of `model.design(frame)`:
    encoder (n, lookback [+ horizon when recursive], Fe) and steps (n, horizon, Fd)."""
    origins = np.asarray(origins, dtype=np.int64)
    L, H = model.lookback, model.horizon
    bounds = np.array(list(design.segments.values()))  # (series, 2), in row order
    segment = np.searchsorted(bounds[:, 0], origins, side="right") - 1
    need = L + model.spec_.max_lag
    bad = (origins - bounds[segment, 0] < need) | (origins + H > bounds[segment, 1])
    if bad.any():
        raise DataValidationError(
            f"origin row {int(origins[bad][0])} needs {need} rows before it (lookback + "
            f"seasonal lag) and {H} rows from it within its series")
    ahead = H if model.strategy == "recursive" else 0
    return (design.encoder[origins[:, None] + np.arange(-L, ahead)],
            design.step[origins[:, None] + np.arange(H)])
