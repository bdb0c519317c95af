"""Request and response bodies of the prediction service (pydantic), and timestamp parsing.

Forecasts take column arrays: one list per column, all of the same length, timestamps as
ISO 8601 strings. Numbers must be finite JSON numbers (no NaN, Infinity, strings or booleans).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, Self

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

FiniteFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Column = list[FiniteFloat]
Label = StrictStr | int | float | bool


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_timestamps(values: Sequence[str]) -> pd.Series:
    """ISO 8601 strings -> datetime64 Series (naive, or UTC when they carry offsets).

    Raises ValueError naming the first bad entry: unparseable, outside pandas' range, or a
    mix of timestamps with and without a time zone.
    """
    parsed = []
    for i, text in enumerate(values):
        try:
            parsed.append(datetime.fromisoformat(text))
        except ValueError:
            raise ValueError(
                f"entry {i} ({text[:40]!r}) is not an ISO 8601 timestamp such as "
                "'2024-01-31T13:00:00' or '2024-01-31T13:00:00+01:00'") from None
    aware = [p.tzinfo is not None for p in parsed]
    if any(aware) and not all(aware):
        raise ValueError(
            f"entry {aware.index(True)} has a time zone and entry {aware.index(False)} has "
            "none; give every timestamp an offset, or none")
    times = pd.to_datetime(pd.Series(parsed, dtype=object), errors="coerce",
                           utc=any(aware))
    bad = times.isna().to_numpy().nonzero()[0]
    if len(bad):
        raise ValueError(f"entry {bad[0]} ({values[bad[0]]!r}) is outside the supported range "
                         f"{pd.Timestamp.min.date()} to {pd.Timestamp.max.date()}")
    return times.dt.as_unit("ns")


def _checked_timestamps(values: list[str]) -> list[str]:
    try:
        parse_timestamps(values)
    except ValueError as err:
        raise PydanticCustomError("timestamp", "{reason}", {"reason": str(err)}) from None
    return values


def _check_lengths(columns: dict[str, Sequence[Any] | None]) -> None:
    """Every column (None: not given) has as many entries as `timestamps`."""
    n = len(columns["timestamps"] or ())
    wrong = {name: len(col) for name, col in columns.items() if col is not None and len(col) != n}
    if wrong:
        shown = ", ".join(f"{name} has {k}" for name, k in wrong.items())
        raise PydanticCustomError(
            "column_length",
            "{shown} values but timestamps has {n}; give one value per timestamp in every "
            "column", {"shown": shown, "n": n})


class History(_Body):
    """Recent observed rows, oldest first (rows are sorted by time in any case)."""

    timestamps: list[StrictStr] = Field(
        min_length=1, description="ISO 8601, e.g. '2024-01-31T13:00:00'; one per row.")
    target: Column = Field(description="Observed target values, original units.")
    covariates: dict[str, Column] = Field(
        default_factory=dict, description="Past-only and known-future covariate columns "
        "the model uses, by name (see /health: needs.past_covariates, future_covariates).")
    ids: list[StrictStr] | None = Field(
        default=None, description="Series id of each row; only for models of many series.")

    _timestamps = field_validator("timestamps")(_checked_timestamps)

    @model_validator(mode="after")
    def _same_lengths(self) -> Self:
        _check_lengths({"timestamps": self.timestamps, "target": self.target, "ids": self.ids,
                        **{f"covariates.{k}": v for k, v in self.covariates.items()}})
        return self


class Future(_Body):
    """Known-future covariates for the forecast steps (every step of the horizon)."""

    timestamps: list[StrictStr] = Field(min_length=1, description="ISO 8601, one per step.")
    covariates: dict[str, Column] = Field(
        description="Every known-future covariate of the model, by name.")
    ids: list[StrictStr] | None = Field(
        default=None, description="Series id of each row; only for models of many series.")

    _timestamps = field_validator("timestamps")(_checked_timestamps)

    @model_validator(mode="after")
    def _same_lengths(self) -> Self:
        _check_lengths({"timestamps": self.timestamps, "ids": self.ids,
                        **{f"covariates.{k}": v for k, v in self.covariates.items()}})
        return self


class ForecastRequest(_Body):
    """History to forecast from; `future` when the model has known-future covariates."""

    history: History
    future: Future | None = None


class ForecastResponse(BaseModel):
    """`horizon` steps per series after the end of the history, in original units."""

    target: str
    timestamps: list[str]
    values: list[float] = Field(description="Point forecasts (the median of a quantile "
                                            "model, the mean of a Gaussian one).")
    quantiles: dict[str, list[float]] | None = Field(
        default=None, description="Forecasts at each quantile level (probabilistic models).")
    ids: list[str] | None = None


class TextRequest(_Body):
    """Texts to classify."""

    texts: list[StrictStr] = Field(min_length=1)


class FramesRequest(_Body):
    """Sequences to classify: each a list of frames, each frame a list of features."""

    sequences: list[Annotated[list[Annotated[Column, Field(min_length=1)]],
                              Field(min_length=1)]] = Field(min_length=1)


class ClassifyResponse(BaseModel):
    """One label per sequence, and the probability of every class (in `classes` order)."""

    labels: list[Label]
    probabilities: list[list[float]]
    classes: list[Label]


class ForecastNeeds(BaseModel):
    """What a forecast request must hold for this model."""

    target: str
    freq: str
    horizon: int
    lookback: int
    seasonal_lags: list[int]
    min_history_rows: int = Field(description="Rows per series: lookback + largest lag.")
    past_covariates: list[str]
    future_covariates: list[str] = Field(description="Needed in history and in future.")
    series_ids: bool = Field(description="The model forecasts many series: send ids.")
    quantiles: list[float] | None
    time_zone: str | None


class ClassifierNeeds(BaseModel):
    """What a classification request must hold for this model."""

    input: Literal["text", "frames"]
    n_features: int | None
    classes: list[Label]


class Limits(BaseModel):
    max_rows: int
    max_bytes: int
    threads: int = Field(description="torch threads per request")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    kind: str
    model: str
    lstmkit_version: str
    model_lstmkit_version: str
    needs: ForecastNeeds | ClassifierNeeds
    limits: Limits


class Problem(BaseModel):
    """One thing wrong with a request; `field` is its path, e.g. 'history.target[3]'."""

    loc: list[str | int]
    field: str
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Body of every 413 and 422 answer."""

    detail: list[Problem]
