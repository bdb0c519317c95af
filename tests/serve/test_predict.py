"""The service on loopback: forecasts equal `predict`, /health, /openapi.json, classifiers."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from serve_helpers import HORIZON, LIMITS, MIN_ROWS, forecast_body, history_frame, running

import lstmkit
from lstmkit.serve import create_app


def test_forecast_equals_model_predict(server: str, series: pd.DataFrame,
                                       forecaster_dir: Path) -> None:
    body = forecast_body(series, end=360)
    response = httpx.post(f"{server}/predict", json=body)
    assert response.status_code == 200, response.text
    got = response.json()
    model = lstmkit.load(forecaster_dir)
    history, future = history_frame(body)
    want = model.predict(history, future=future)
    assert got["target"] == "load" and got["ids"] is None
    assert got["timestamps"] == [t.isoformat() for t in want.index]
    assert got["timestamps"] == body["future"]["timestamps"]
    np.testing.assert_allclose(got["values"], want["load"], rtol=0, atol=1e-6)
    assert sorted(got["quantiles"]) == ["0.1", "0.5", "0.9"]
    for level, values in got["quantiles"].items():
        np.testing.assert_allclose(values, want[f"load_q{level}"], rtol=0, atol=1e-6)
    assert len(got["values"]) == HORIZON


def test_exactly_the_minimum_history_is_enough(server: str, series: pd.DataFrame) -> None:
    response = httpx.post(f"{server}/predict", json=forecast_body(series, 360, rows=MIN_ROWS))
    assert response.status_code == 200, response.text


def test_health_says_what_the_model_needs(server: str) -> None:
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok" and health["kind"] == "lstm-forecaster"
    assert health["model"] == "forecaster"
    assert health["lstmkit_version"] == health["model_lstmkit_version"] == lstmkit.__version__
    assert health["needs"] == {
        "target": "load", "freq": "h", "horizon": HORIZON, "lookback": 12,
        "seasonal_lags": [24], "min_history_rows": MIN_ROWS, "past_covariates": ["temp"],
        "future_covariates": ["workday"], "series_ids": False,
        "quantiles": [0.1, 0.5, 0.9], "time_zone": None}
    assert health["limits"] == {"max_rows": LIMITS.max_rows, "max_bytes": LIMITS.max_bytes,
                                "threads": 1}


def test_openapi_describes_the_model_bodies(server: str) -> None:
    spec = httpx.get(f"{server}/openapi.json").json()
    assert spec["info"]["version"] == lstmkit.__version__
    predict = spec["paths"]["/predict"]["post"]
    assert predict["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ForecastRequest")
    assert {"200", "413", "422"} <= set(predict["responses"])
    assert predict["responses"]["422"]["content"]["application/json"]["schema"][
        "$ref"].endswith("/ErrorResponse")
    schemas = spec["components"]["schemas"]
    assert set(schemas["History"]["properties"]) == {"timestamps", "target", "covariates", "ids"}
    assert schemas["History"]["required"] == ["timestamps", "target"]
    assert set(schemas["ForecastResponse"]["properties"]) >= {"timestamps", "values",
                                                              "quantiles"}
    assert "/health" in spec["paths"]
    docs = httpx.get(f"{server}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_classifier_labels_and_probabilities(classifier_dir: Path) -> None:
    texts = ["good fun", "bad and boring", "never seen words"]
    model = lstmkit.load(classifier_dir)
    with running(create_app(classifier_dir)) as url:
        health = httpx.get(f"{url}/health").json()
        got = httpx.post(f"{url}/predict", json={"texts": texts}).json()
        bad = httpx.post(f"{url}/predict", json={"texts": ["fine", 3]})
    assert health["kind"] == "sequence-classifier"
    assert health["needs"] == {"input": "text", "n_features": None, "classes": ["neg", "pos"]}
    np.testing.assert_allclose(got["probabilities"], model.predict_proba(texts), atol=1e-6)
    assert got["labels"] == model.predict(texts).tolist() and got["classes"] == ["neg", "pos"]
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "texts[1]"
