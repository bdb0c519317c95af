"""Property tests of the request schema: random payloads never get a 500; valid ones, 200."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import HORIZON, MIN_ROWS, forecast_body, running

from lstmkit.serve import create_app

FUZZ = settings(deadline=None, max_examples=60, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = (st.none() | st.booleans() | st.integers() | st.text(max_size=12)
           | st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=20)
keys = st.sampled_from(["history", "future", "timestamps", "target", "covariates", "ids",
                        "temp", "workday"])


@pytest.fixture(scope="module")
def client(server: str):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def valid(series: pd.DataFrame) -> dict[str, Any]:
    return forecast_body(series, end=360)


def post(client: httpx.Client, payload: Any) -> httpx.Response:
    return client.post("/predict", content=json.dumps(payload).encode(),
                       headers={"content-type": "application/json"})


@FUZZ
@given(payload=json_values | st.dictionaries(keys, json_values, max_size=4))
def test_random_json_is_never_a_server_error(client: httpx.Client, payload: Any) -> None:
    response = post(client, payload)
    assert response.status_code in (413, 422), response.text
    assert response.json()["detail"][0]["field"]


def paths(body: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside the body."""
    out = [prefix] if prefix else []
    if isinstance(body, dict):
        for key, value in body.items():
            out += paths(value, (*prefix, key))
    elif isinstance(body, list):
        for i in sorted({0, len(body) - 1}):
            out += paths(body[i], (*prefix, i))
    return out


@FUZZ
@given(data=st.data())
def test_a_valid_body_with_one_value_replaced_is_never_a_server_error(
        client: httpx.Client, valid: dict[str, Any], data: st.DataObject) -> None:
    body = copy.deepcopy(valid)
    path = data.draw(st.sampled_from(paths(body)))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = data.draw(json_values | st.text(max_size=30), label="replacement")
    response = post(client, body)
    assert response.status_code in (200, 413, 422), response.text


@st.composite
def valid_bodies(draw: st.DrawFn) -> dict[str, Any]:
    rows = draw(st.integers(MIN_ROWS, MIN_ROWS + 40))
    start = pd.Timestamp("2000-01-01") + pd.Timedelta(hours=draw(st.integers(0, 200_000)))
    times = pd.date_range(start, periods=rows + HORIZON, freq="h")
    stamps = [t.isoformat() for t in times]
    values = st.floats(-1e4, 1e4, allow_nan=False)
    column = st.lists(values, min_size=rows, max_size=rows)
    workday = st.lists(st.sampled_from([0, 1, 0.5]), min_size=rows + HORIZON,
                       max_size=rows + HORIZON)
    w = draw(workday)
    return {"history": {"timestamps": stamps[:rows], "target": draw(column),
                        "covariates": {"temp": draw(column), "workday": w[:rows]}},
            "future": {"timestamps": stamps[rows:], "covariates": {"workday": w[rows:]}}}


@FUZZ
@given(body=valid_bodies())
def test_valid_bodies_get_a_forecast(client: httpx.Client, body: dict[str, Any]) -> None:
    response = post(client, body)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["timestamps"] == body["future"]["timestamps"]
    assert len(got["values"]) == HORIZON and np.isfinite(got["values"]).all()


@pytest.fixture(scope="module")
def text_client(classifier_dir):
    with running(create_app(classifier_dir)) as url, httpx.Client(base_url=url) as c:
        yield c


@settings(deadline=None, max_examples=30, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=60), min_size=1, max_size=8), junk=json_values)
def test_classifier_texts_get_labels_and_junk_no_server_error(text_client: httpx.Client,
                                                      texts: list[str], junk: Any) -> None:
    response = post(text_client, {"texts": texts})
    assert response.status_code == 200, response.text
    got = response.json()
    assert len(got["labels"]) == len(texts) and set(got["labels"]) <= {"neg", "pos"}
    assert np.allclose(np.sum(got["probabilities"], axis=1), 1)
    assert post(text_client, {"texts": junk}).status_code in (200, 422)  # junk may be valid
