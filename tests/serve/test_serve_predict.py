"""The service on loopback: forecasts equal `predict`, /health, /openapi.json, classifiers."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from serve_helpers import HORIZON, LIMITS, MIN_ROWS, forecast_body, history_frame, running

import lstmkit
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.models.sequence_classifier import SequenceClassifier
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


def test_many_series_with_a_time_zone(tmp_path: Path) -> None:
    """Long data (ids per row) on Melbourne time: offsets in, the same instants out."""
    ds = pd.date_range("2024-01-01", periods=120, freq="h", tz="Australia/Melbourne")
    rng = np.random.default_rng(1)
    frame = pd.concat([pd.DataFrame({"ds": ds, "site": site, "y": rng.normal(size=120) + k})
                       for k, site in enumerate(["a", "b"])], ignore_index=True)
    model = LSTMForecaster(lookback=6, horizon=3, hidden_size=4, num_layers=1, max_epochs=1,
                           seasonal_lags=[], validation_fraction=0, progress=False)
    model.fit(frame.iloc[np.r_[0:100, 120:220]], id_col="site").save(tmp_path / "m")
    recent = frame.iloc[np.r_[100:110, 220:230]]
    body = {"history": {"timestamps": [t.isoformat() for t in recent["ds"]],
                        "target": recent["y"].tolist(), "ids": recent["site"].tolist()}}
    want = lstmkit.load(tmp_path / "m").predict(recent)
    with running(create_app(tmp_path / "m")) as url:
        got = httpx.post(f"{url}/predict", json=body).json()
        utc = dict(body["history"], timestamps=[t.tz_convert("UTC").isoformat()
                                                for t in recent["ds"]])
        got_utc = httpx.post(f"{url}/predict", json={"history": utc}).json()
        naive = dict(body["history"], timestamps=[t[:19] for t in body["history"]["timestamps"]])
        refused = httpx.post(f"{url}/predict", json={"history": naive}).json()
        no_ids = httpx.post(f"{url}/predict", json={"history": dict(body["history"], ids=None)})
    assert got["ids"] == want["site"].tolist() == ["a"] * 3 + ["b"] * 3
    assert got["timestamps"] == [t.isoformat() for t in want["ds"]]
    assert got["timestamps"][0] == "2024-01-05T14:00:00+11:00"
    np.testing.assert_allclose(got["values"], want["y"], rtol=0, atol=1e-6)
    assert got_utc == got
    assert "Australia/Melbourne" in refused["detail"][0]["msg"]
    assert no_ids.status_code == 422 and no_ids.json()["detail"][0]["field"] == "history.ids"


def test_frame_sequences_classifier(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    seqs = [rng.normal(k, 0.3, size=(int(rng.integers(3, 8)), 2)) for k in [0, 3] * 20]
    SequenceClassifier(hidden_size=4, max_epochs=2, progress=False).fit(
        seqs, [0, 1] * 20).save(tmp_path / "c")
    sequences = [s.tolist() for s in seqs[:4]]
    want = lstmkit.load(tmp_path / "c").predict_proba(seqs[:4])
    with running(create_app(tmp_path / "c")) as url:
        got = httpx.post(f"{url}/predict", json={"sequences": sequences}).json()
        narrow = httpx.post(f"{url}/predict", json={"sequences": [[[1.0, 2.0], [1.0]]]})
        empty = httpx.post(f"{url}/predict", json={"sequences": [[]]})
    np.testing.assert_allclose(got["probabilities"], want, atol=1e-6)
    assert got["classes"] == [0, 1] and got["labels"] == want.argmax(axis=1).tolist()
    assert narrow.status_code == 422
    assert narrow.json()["detail"][0]["field"] == "sequences[0][1]"
    assert "2" in narrow.json()["detail"][0]["msg"]
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "sequences[0]"
