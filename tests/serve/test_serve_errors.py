"""Bad requests get 422 (413 when too large) naming the field, never a 500."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd
import pytest
from serve_helpers import LIMITS, MIN_ROWS, forecast_body


@pytest.fixture(scope="module")
def body(series: pd.DataFrame) -> dict[str, Any]:
    return forecast_body(series, end=360)


def post(server: str, payload: Any) -> httpx.Response:
    if isinstance(payload, bytes):
        return httpx.post(f"{server}/predict", content=payload,
                          headers={"content-type": "application/json"})
    return httpx.post(f"{server}/predict", json=payload)


def edited(body: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    change(out)
    return out


def shorten(body: dict[str, Any], rows: int) -> None:
    h = body["history"]
    h["timestamps"], h["target"] = h["timestamps"][-rows:], h["target"][-rows:]
    h["covariates"] = {k: v[-rows:] for k, v in h["covariates"].items()}


def set_item(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


CASES = {
    "too few rows": (lambda b: shorten(b, MIN_ROWS - 1), "history.timestamps",
                     f"{MIN_ROWS - 1} given, the model needs at least {MIN_ROWS}"),
    "string in target": (set_item(("history", "target", 3), "1.5"), "history.target[3]",
                         "valid number"),
    "bool in covariate": (set_item(("history", "covariates", "temp", 0), True),
                          "history.covariates.temp[0]", "valid number"),
    "null in target": (set_item(("history", "target", 5), None), "history.target[5]",
                       "valid number"),
    "number as timestamp": (set_item(("history", "timestamps", 0), 1704067200),
                            "history.timestamps[0]", "valid string"),
    "target not a list": (set_item(("history", "target"), 3.0), "history.target",
                          "valid list"),
    "unparseable timestamp": (set_item(("history", "timestamps", 7), "31/01/2024 13:00"),
                              "history.timestamps", "entry 7 ('31/01/2024 13:00')"),
    "impossible date": (set_item(("future", "timestamps", 2), "2024-02-30T00:00:00"),
                        "future.timestamps", "entry 2"),
    "timestamp out of range": (set_item(("history", "timestamps", 0), "9999-01-01T00:00:00"),
                               "history.timestamps", "outside the supported range"),
    "missing history covariate": (lambda b: b["history"]["covariates"].pop("temp"),
                                  "history.covariates.temp", "missing covariate(s) ['temp']"),
    "missing future covariate": (lambda b: b["future"]["covariates"].pop("workday"),
                                 "future.covariates.workday", "missing covariate(s)"),
    "unknown covariate": (set_item(("history", "covariates", "wind"), [0.0] * 48),
                          "history.covariates.wind", "unknown covariate(s) ['wind']"),
    "no future": (lambda b: b.pop("future"), "future", "known-future covariates ['workday']"),
    "unequal columns": (lambda b: b["history"]["target"].pop(), "history",
                        "target has 47 values but timestamps has 48"),
    "extra field": (set_item(("history", "weights"), [1.0]), "history.weights",
                    "Extra inputs"),
    "no history": (lambda b: b.pop("history"), "history", "Field required"),
    "ids for one series": (set_item(("history", "ids"), ["a"] * 48), "history.ids",
                           "one series"),
    "time zone on a naive model": (
        lambda b: b["history"].update(timestamps=[t + "Z" for t in b["history"]["timestamps"]]),
        "history.timestamps", "without a time zone"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_requests_name_the_field(server: str, body: dict[str, Any], case: str) -> None:
    change, field, text = CASES[case]
    response = post(server, edited(body, change))
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert problem["field"] == field, problem
    assert problem["msg"].startswith(field) and text in problem["msg"], problem


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(server: str, body: dict[str, Any],
                                        literal: str) -> None:
    payload = edited(body, set_item(("history", "covariates", "temp", 4), 1e300))
    text = json.dumps(payload).replace("1e+300", literal).encode()
    response = post(server, text)
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert problem["field"] == "history.covariates.temp[4]"
    assert "finite number" in problem["msg"]


def test_lstmkit_errors_are_422_with_their_message(server: str, body: dict[str, Any]) -> None:
    stamps = body["history"]["timestamps"]
    response = post(server, edited(body, set_item(("history", "timestamps", 10), stamps[11])))
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["type"] == "DataValidationError" and "duplicate timestamps" in problem["msg"]

    def drop_row(b: dict[str, Any]) -> None:
        for column in (b["history"]["timestamps"], b["history"]["target"],
                       *b["history"]["covariates"].values()):
            column.pop(20)

    response = post(server, edited(body, drop_row))
    assert response.status_code == 422 and "gap" in response.json()["detail"][0]["msg"]


def test_invalid_json_is_422(server: str) -> None:
    response = post(server, b'{"history": {"timestamps": [')
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_too_many_rows_is_413(server: str, series: pd.DataFrame) -> None:
    rows = LIMITS.max_rows + 1
    stamps = [t.isoformat() for t in pd.date_range("2020-01-01", periods=rows, freq="h")]
    payload = {"history": {"timestamps": stamps, "target": [0.0] * rows,
                           "covariates": {"temp": [0.0] * rows, "workday": [0.0] * rows}}}
    response = post(server, payload)
    assert response.status_code == 413, response.text
    problem = response.json()["detail"][0]
    assert problem["field"] == "history" and f"at most {LIMITS.max_rows:,}" in problem["msg"]


def test_too_many_bytes_is_413(server: str) -> None:
    payload = b'{"history": {"timestamps": ["' + b"x" * (LIMITS.max_bytes + 10) + b'"]}}'
    response = post(server, payload)
    assert response.status_code == 413
    problem = response.json()["detail"][0]
    assert problem["field"] == "body" and f"at most {LIMITS.max_bytes:,}" in problem["msg"]

    def chunks():  # no Content-Length: counted while reading
        for _ in range(LIMITS.max_bytes // 10_000 + 2):
            yield b" " * 10_000

    response = httpx.post(f"{server}/predict", content=chunks())
    assert response.status_code == 413
    assert httpx.get(f"{server}/health").status_code == 200  # still serving


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_forecasts_beyond_the_time_range_or_not_finite_are_422(server: str,
                                                               body: dict[str, Any]) -> None:
    end = pd.Timestamp.max.floor("h")
    late = [(end - pd.Timedelta(hours=47 - i)).isoformat() for i in range(48)]
    response = post(server, edited(body, lambda b: b["history"].update(timestamps=late)))
    assert response.status_code == 422
    assert "outside the supported range" in response.json()["detail"][0]["msg"]
    huge = edited(body, lambda b: b["history"].update(target=[1e300] * 48))
    response = post(server, huge)
    assert response.status_code == 422
    assert "forecast is not finite" in response.json()["detail"][0]["msg"]
