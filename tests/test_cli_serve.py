"""`lstmkit serve`: options, errors, and what it hands to uvicorn (the service itself runs on
loopback in tests/serve)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import uvicorn
from typer.testing import CliRunner

from lstmkit import LSTMForecaster, SequenceRegressor
from lstmkit.cli import app
from lstmkit.serve.settings import ServeSettings

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=80, freq="h"),
                          "y": np.sin(np.arange(80) / 3)})
    model = LSTMForecaster(lookback=4, horizon=2, hidden_size=4, num_layers=1, max_epochs=1,
                           seasonal_lags=[], calendar=False, validation_fraction=0,
                           progress=False)
    return model.fit(frame).save(tmp_path_factory.mktemp("serve") / "model")


@pytest.fixture()
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def run(target: Any, timeout_worker_healthcheck: int = 5, **options: Any) -> None:
        calls.append({"target": target, "healthcheck_s": timeout_worker_healthcheck, **options})

    monkeypatch.setattr(uvicorn, "run", run)
    return calls


def test_help_lists_the_options() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--max-rows", "--max-bytes", "--threads"):
        assert option in result.output


def test_serve_loads_the_model_and_runs_uvicorn(model_dir: Path, uvicorn_calls: list) -> None:
    result = runner.invoke(app, ["serve", str(model_dir), "--port", "8123", "--max-rows", "500"])
    assert result.exit_code == 0, result.output
    (call,) = uvicorn_calls
    assert call["host"] == "127.0.0.1" and call["port"] == 8123 and call["workers"] == 1
    assert not call["factory"] and call["target"].title.endswith(": model")
    assert "http://127.0.0.1:8123/docs" in result.output


def test_workers_load_the_model_from_the_environment(
        model_dir: Path, uvicorn_calls: list, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ServeSettings().to_env("x"):  # restored (removed) after the test
        monkeypatch.setenv(name, "")
    result = runner.invoke(app, ["serve", str(model_dir), "--workers", "2", "--max-rows", "77",
                                 "--threads", "2"])
    assert result.exit_code == 0, result.output
    (call,) = uvicorn_calls
    assert call["workers"] == 2 and call["factory"] and call["healthcheck_s"] == 120
    assert call["target"] == "lstmkit.serve.app:app_from_env"
    from lstmkit.serve.app import app_from_env

    worker = app_from_env()  # what each worker process builds
    health = next(r for r in worker.routes if getattr(r, "path", "") == "/health").endpoint()
    assert health.limits.max_rows == 77 and health.limits.threads == 2
    assert ServeSettings.from_env() == (str(model_dir.resolve()),
                                        ServeSettings(max_rows=77, threads=2))


def test_bad_model_is_one_error_line(tmp_path: Path, uvicorn_calls: list) -> None:
    result = runner.invoke(app, ["serve", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "error:" in result.output and "no model at" in result.output
    assert not uvicorn_calls


def test_unsupported_kind_is_refused(tmp_path: Path, uvicorn_calls: list) -> None:
    x, y = np.random.default_rng(0).normal(size=(16, 5, 1)), np.zeros(16)
    SequenceRegressor(hidden_size=2, max_epochs=1, progress=False).fit(x, y).save(tmp_path / "r")
    result = runner.invoke(app, ["serve", str(tmp_path / "r")])
    assert result.exit_code == 1 and "'sequence-regressor'" in result.output
    assert not uvicorn_calls


def test_missing_extra_names_the_install_command(model_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if not installed
    result = runner.invoke(app, ["serve", str(model_dir)])
    assert result.exit_code == 1
    assert 'pip install "lstmkit[serve]"' in result.output.replace("\n", "")
    assert "fastapi" in result.output
