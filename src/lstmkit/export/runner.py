"""Run an exported model with onnxruntime, from its ``.onnx`` and sidecar JSON only.

    runner = OnnxForecaster("model.onnx", threads=1)
    values = runner.forecast(encoder, steps, ids)   # (n, horizon), original units

`encoder` (n, lookback, features) and `steps` (n, horizon, features) are the windows in the
feature order the sidecar lists (`LSTMForecaster.design` builds them); `ids` are the series
of each window (needed when the model was fitted on several series).
"""

from __future__ import annotations

import os
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from lstmkit.data.transforms import LogTransform, SeriesScaler
from lstmkit.errors import ConfigError, ShapeError
from lstmkit.export.exporter import session_for
from lstmkit.export.sidecar import read_sidecar


class OnnxModel:
    """An onnxruntime session plus the sidecar that says how to feed it."""

    kind = ""

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None) -> None:
        self.path = Path(path)
        self.sidecar = read_sidecar(self.path)
        if self.sidecar["kind"] != self.kind:
            raise ConfigError(f"{self.path} holds a {self.sidecar['kind']!r} model, not a "
                              f"{self.kind!r}; use lstmkit.export.load_onnx")
        self.info: dict[str, Any] = self.sidecar[self.kind.replace("-", "_")]
        self.session = session_for(self.path, threads)

    def run(self, *inputs: np.ndarray) -> np.ndarray:
        """Raw network outputs for inputs in the order of the sidecar's `inputs`."""
        specs = self.sidecar["inputs"]
        if len(inputs) != len(specs):
            raise ShapeError(f"the model takes {len(specs)} inputs "
                             f"({', '.join(s['name'] for s in specs)}), got {len(inputs)}")
        feed = {}
        for spec, value in zip(specs, inputs, strict=True):
            array = np.ascontiguousarray(value, dtype=spec["dtype"])
            shape = spec["shape"]
            if array.ndim != len(shape) or any(
                    isinstance(d, int) and d != n for d, n in zip(shape, array.shape, strict=True)):
                raise ShapeError(f"input {spec['name']!r} must have shape {shape}, got "
                                 f"{array.shape}")
            feed[spec["name"]] = array
        return self.session.run(None, feed)[0]


class OnnxForecaster(OnnxModel):
    """Forecasts of an exported `LSTMForecaster` from feature windows, in original units."""

    kind = "lstm-forecaster"

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None) -> None:
        super().__init__(path, threads=threads)
        self.lookback: int = self.info["lookback"]
        self.horizon: int = self.info["horizon"]
        self.quantiles: list[float] | None = self.info["quantiles"]
        self.scaler = SeriesScaler.from_state(self.info["target_scaler"])

    def forecast(self, encoder: np.ndarray, steps: np.ndarray,
                 ids: np.ndarray | None = None) -> np.ndarray:
        """Point forecasts (n, horizon) in original units (the median or Gaussian mean)."""
        raw = self.run(encoder, steps).astype(np.float64)
        likelihood = self.info["likelihood"]
        if likelihood == "quantile":
            raw = raw[..., self.quantiles.index(0.5)]
        elif likelihood == "gaussian":
            raw = raw[..., 0]
        return self._to_original(raw, ids)

    def forecast_quantiles(self, encoder: np.ndarray, steps: np.ndarray,
                           ids: np.ndarray | None = None) -> np.ndarray:
        """Quantiles (n, horizon, Q) in original units, the outermost pair moved by the
        validation conformal offsets when the model has them."""
        likelihood = self.info["likelihood"]
        if likelihood is None:
            raise ConfigError("quantile forecasts need a model fitted with likelihood=...")
        raw = self.run(encoder, steps).astype(np.float64)
        if likelihood == "gaussian":
            std = np.logaddexp(0.0, raw[..., 1]) + 1e-4  # softplus
            z = np.array([NormalDist().inv_cdf(q) for q in self.quantiles])
            raw = raw[..., :1] + std[..., None] * z
        offsets = self.info["interval_offsets"]
        if offsets is not None and raw.shape[-1] >= 2:
            raw[..., 0] -= offsets
            raw[..., -1] += offsets
            if raw.shape[-1] > 2:
                raw[..., 0] = np.minimum(raw[..., 0], raw[..., 1])
                raw[..., -1] = np.maximum(raw[..., -1], raw[..., -2])
        return np.stack([self._to_original(raw[..., k], ids) for k in range(raw.shape[-1])],
                        axis=-1)

    def _to_original(self, scaled: np.ndarray, ids: np.ndarray | None) -> np.ndarray:
        n = len(scaled)
        if ids is None:
            known = self.scaler.ids_
            if known is not None and len(known) > 1:
                raise ConfigError(f"the model was fitted on {len(known)} series; pass the "
                                  "series id of each window as ids")
            ids = None if known is None else np.full(n, known[0], dtype=object)
        rows = None if ids is None else np.repeat(np.asarray(ids), self.horizon)
        values = self.scaler.inverse_transform(scaled.reshape(-1), rows)
        transform = self.info["target_transform"]
        if transform is not None:
            values = LogTransform(1.0 if transform == "log1p" else 0.0).inverse_transform(values)
        return values.reshape(n, self.horizon)


class OnnxClassifier(OnnxModel):
    """Class probabilities of an exported `SequenceClassifier`.

    Input: token ids (batch, time) or standardised frames (batch, time, features), every
    sequence of a batch read in full (batch equal lengths, or call once per sequence).
    """

    kind = "sequence-classifier"

    @property
    def classes(self) -> list[Any]:
        return self.info["classes"]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Softmax of the logits: (batch, classes)."""
        logits = self.run(x).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        return odds / odds.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most probable class of each sequence."""
        return np.asarray(self.classes)[self.predict_proba(x).argmax(axis=1)]


def load_onnx(path: str | os.PathLike[str], *, threads: int | None = None
              ) -> OnnxForecaster | OnnxClassifier:
    """The runner for the kind of model exported at `path`."""
    kind = read_sidecar(path)["kind"]
    runners = {cls.kind: cls for cls in (OnnxForecaster, OnnxClassifier)}
    if kind not in runners:
        raise ConfigError(f"{path}: no runner for model kind {kind!r}")
    return runners[kind](path, threads=threads)
