"""Helpers of the service tests: a uvicorn server in a thread, request bodies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import torch
import uvicorn

from lstmkit.serve import ServeSettings

HORIZON = 6
MIN_ROWS = 12 + 24  # lookback + seasonal lag of the test forecaster
LIMITS = ServeSettings(max_rows=2_000, max_bytes=400_000)


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Run `app` with uvicorn in a thread on a free loopback port; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()  # session fixtures run before the one-thread fixture
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def times(values: pd.Series) -> list[str]:
    return [t.isoformat() for t in values]


def forecast_body(series: pd.DataFrame, end: int, rows: int = 48) -> dict[str, Any]:
    """Request for the forecast after row `end` (exclusive) from the `rows` before it."""
    hist = series.iloc[end - rows:end]
    ahead = series.iloc[end:end + HORIZON]
    return {
        "history": {"timestamps": times(hist["ds"]), "target": hist["load"].tolist(),
                    "covariates": {"temp": hist["temp"].tolist(),
                                   "workday": hist["workday"].tolist()}},
        "future": {"timestamps": times(ahead["ds"]),
                   "covariates": {"workday": ahead["workday"].tolist()}},
    }


def history_frame(body: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The DataFrames `LSTMForecaster.predict(history, future=...)` gets for `body`."""
    h, f = body["history"], body["future"]
    history = pd.DataFrame({"ds": pd.to_datetime(h["timestamps"]), "load": h["target"],
                            **h["covariates"]})
    future = pd.DataFrame({"ds": pd.to_datetime(f["timestamps"]), **f["covariates"]})
    return history, future


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def cli_server(model: Path, *options: str) -> Iterator[str]:
    """`lstmkit serve MODEL` in a subprocess on a free loopback port; yield its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "lstmkit.cli", "serve", str(model), "--port", str(port),
               "--log-level", "warning", *options]
    process = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lstmkit serve did not start (exit {process.poll()})")
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)
