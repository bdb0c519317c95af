"""Runners: turn a validated request into model input, predict, and build the response.

Concurrency: one model object serves every request, from many threads. `predict` of the
forecaster and of the classifier writes one piece of model state: it sets the network to
eval mode and back to the mode it found (`net.train(was_training)`). The runner puts the
network in eval mode once, at start-up, so those writes store the value already there and
requests never see training-mode dropout; everything else `predict` builds is local. No
lock is needed, and inference runs under `torch.inference_mode()` (thread-local). Each
request thread runs torch with `ServeSettings.threads` threads (see `use_threads`).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel

from lstmkit.errors import LstmkitError
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.models.sequence_classifier import SequenceClassifier
from lstmkit.serve.errors import RequestError
from lstmkit.serve.schemas import (
    ClassifierNeeds,
    ClassifyResponse,
    ForecastNeeds,
    ForecastRequest,
    ForecastResponse,
    FramesRequest,
    Future,
    History,
    TextRequest,
    parse_timestamps,
)

_thread = threading.local()


def use_threads(n: int) -> None:
    """Give this request thread `n` torch threads (OpenMP's count is per thread: a new
    thread starts with one per core, which oversubscribes the CPU under concurrent load)."""
    if getattr(_thread, "torch_threads", None) != n:
        torch.set_num_threads(n)
        _thread.torch_threads = n


class Runner(Protocol):
    """What the app needs from a model: its request/response bodies and a predict."""

    request_model: type[BaseModel]
    response_model: type[BaseModel]

    def needs(self) -> BaseModel: ...

    def rows(self, request: Any) -> tuple[str, int]: ...

    def predict(self, request: Any) -> BaseModel: ...


def make_runner(model: Any, kind: str) -> Runner:
    """The runner for a loaded model; LstmkitError for kinds the service does not serve."""
    if isinstance(model, LSTMForecaster):
        return ForecastRunner(model)
    if isinstance(model, SequenceClassifier):
        return ClassifierRunner(model)
    raise LstmkitError(
        f"lstmkit serve serves forecasters (lstm-forecaster) and sequence classifiers "
        f"(sequence-classifier); this model is a {kind!r}")


class ForecastRunner:
    """`LSTMForecaster.predict(history, future=...)` over column arrays."""

    request_model = ForecastRequest
    response_model = ForecastResponse

    def __init__(self, model: LSTMForecaster) -> None:
        model.network_.eval()
        self.model = model
        self.spec = model.spec_
        self.min_rows = model.lookback + self.spec.max_lag
        self.time_zone = model.context_["ds"].dt.tz

    def needs(self) -> ForecastNeeds:
        m, spec = self.model, self.spec
        return ForecastNeeds(
            target=m.target_, freq=spec.freq, horizon=m.horizon, lookback=m.lookback,
            seasonal_lags=list(spec.seasonal_lags), min_history_rows=self.min_rows,
            past_covariates=list(spec.past_covariates),
            future_covariates=list(spec.future_covariates), series_ids=m.id_col_ is not None,
            quantiles=list(m.quantiles_) if m.likelihood is not None else None,
            time_zone=None if self.time_zone is None else str(self.time_zone))

    def rows(self, request: ForecastRequest) -> tuple[str, int]:
        future = len(request.future.timestamps) if request.future is not None else 0
        return "history", len(request.history.timestamps) + future

    def predict(self, request: ForecastRequest) -> ForecastResponse:
        m = self.model
        history = self._history(request.history)
        future = self._future(request.future)
        with torch.inference_mode():
            try:
                out = m.predict(history, future=future)
            except (pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta) as err:
                raise RequestError(("history", "timestamps"),
                                   f"the forecast steps fall outside the supported range "
                                   f"({err})") from None
        return self._response(out)

    def _history(self, body: History) -> pd.DataFrame:
        m, spec = self.model, self.spec
        self._check_columns(body.covariates, spec.past_covariates + spec.future_covariates,
                            ("history", "covariates"))
        frame = pd.DataFrame({m.time_col_: self._times(body.timestamps, "history"),
                              m.target_: body.target, **body.covariates})
        if m.id_col_ is not None:
            frame[m.id_col_] = self._ids(body.ids, "history")
        elif body.ids is not None:
            raise RequestError(("history", "ids"), "this model forecasts one series; drop ids")
        counts = (frame[m.id_col_].value_counts() if m.id_col_ is not None
                  else pd.Series({m.target_: len(frame)}))
        short = counts[counts < self.min_rows]
        if len(short):
            series = f" of series {short.index[0]!r}" if m.id_col_ is not None else ""
            raise RequestError(
                ("history", "timestamps"),
                f"too few rows{series}: {int(short.iloc[0])} given, the model needs at least "
                f"{self.min_rows} (lookback {m.lookback} + largest seasonal lag "
                f"{spec.max_lag}), the most recent ones")
        return frame

    def _future(self, body: Future | None) -> pd.DataFrame | None:
        m, needed = self.model, self.spec.future_covariates
        if not needed:
            if body is not None:
                raise RequestError(("future",), "this model has no known-future covariates; "
                                                "drop future")
            return None
        if body is None:
            raise RequestError(
                ("future",), f"the model needs known-future covariates {list(needed)} for the "
                             f"{m.horizon} steps after the history: give future.timestamps "
                             "and future.covariates")
        self._check_columns(body.covariates, needed, ("future", "covariates"))
        frame = pd.DataFrame({m.time_col_: self._times(body.timestamps, "future"),
                              **body.covariates})
        if m.id_col_ is not None:
            frame[m.id_col_] = self._ids(body.ids, "future")
        elif body.ids is not None:
            raise RequestError(("future", "ids"), "this model forecasts one series; drop ids")
        return frame

    @staticmethod
    def _check_columns(given: dict[str, Any], needed: tuple[str, ...],
                       loc: tuple[str, str]) -> None:
        missing = [c for c in needed if c not in given]
        if missing:
            raise RequestError((*loc, missing[0]),
                               f"missing covariate(s) {missing}; the model needs "
                               f"{list(needed)} here")
        unknown = sorted(set(given) - set(needed))
        if unknown:
            raise RequestError((*loc, unknown[0]),
                               f"unknown covariate(s) {unknown}; the model uses {list(needed)} "
                               "here")

    def _times(self, values: list[str], part: str) -> pd.Series:
        times = parse_timestamps(values)  # already validated by the schema
        aware = times.dt.tz is not None
        if self.time_zone is None and aware:
            raise RequestError((part, "timestamps"),
                               "the model was trained on timestamps without a time zone; "
                               "send them without offsets")
        if self.time_zone is not None and not aware:
            raise RequestError((part, "timestamps"),
                               f"the model's timestamps are in time zone {self.time_zone}; "
                               "send them with their UTC offset")
        return times.dt.tz_convert(self.time_zone) if aware else times

    @staticmethod
    def _ids(ids: list[str] | None, part: str) -> list[str]:
        if ids is None:
            raise RequestError((part, "ids"),
                               "this model forecasts many series: give the series id of "
                               "every row")
        return ids

    def _response(self, out: pd.DataFrame) -> ForecastResponse:
        m = self.model
        times = out.index if m.id_col_ is None else pd.DatetimeIndex(out[m.time_col_])
        values = out[m.target_].to_numpy(dtype=float)
        quantiles = None
        if m.likelihood is not None:
            quantiles = {f"{q:g}": out[f"{m.target_}_q{q:g}"].to_numpy(dtype=float)
                         for q in m.quantiles_}
        arrays = [values, *(quantiles or {}).values()]
        if not all(np.isfinite(a).all() for a in arrays):
            raise RequestError(("history",),
                               "the forecast is not finite: the history holds values far "
                               "outside the range the model was trained on")
        return ForecastResponse(
            target=m.target_, timestamps=[t.isoformat() for t in times], values=values.tolist(),
            quantiles=None if quantiles is None else {k: v.tolist() for k, v in
                                                     quantiles.items()},
            ids=None if m.id_col_ is None else out[m.id_col_].astype(str).tolist())


class ClassifierRunner:
    """`SequenceClassifier.predict_proba` over texts or frame sequences."""

    response_model = ClassifyResponse

    def __init__(self, model: SequenceClassifier) -> None:
        model.network_.eval()
        self.model = model
        self.request_model = TextRequest if model.input_ == "text" else FramesRequest
        self.classes = [c.item() if isinstance(c, np.generic) else c for c in model.classes_]

    def needs(self) -> ClassifierNeeds:
        return ClassifierNeeds(input=self.model.input_, n_features=self.model.n_features_in_,
                               classes=self.classes)

    def rows(self, request: TextRequest | FramesRequest) -> tuple[str, int]:
        if isinstance(request, TextRequest):
            return "texts", len(request.texts)
        return "sequences", sum(len(s) for s in request.sequences)

    def predict(self, request: TextRequest | FramesRequest) -> ClassifyResponse:
        if isinstance(request, TextRequest):
            data: Any = request.texts
        else:
            width = self.model.n_features_in_
            for i, seq in enumerate(request.sequences):
                for j, frame in enumerate(seq):
                    if len(frame) != width:
                        raise RequestError(("sequences", i, j),
                                           f"frame has {len(frame)} features; the model "
                                           f"reads {width}")
            data = [np.asarray(seq, dtype=float) for seq in request.sequences]
        with torch.inference_mode():
            proba = self.model.predict_proba(data)
        if not np.isfinite(proba).all():
            raise RequestError((), "the probabilities are not finite: the input holds values "
                                   "far outside the range the model was trained on")
        return ClassifyResponse(labels=[self.classes[k] for k in proba.argmax(axis=1)],
                                probabilities=proba.tolist(), classes=self.classes)
