"""Latency and throughput of `lstmkit serve` for a saved forecaster, over loopback HTTP.

Starts `lstmkit serve MODEL` in a subprocess on a free port, checks that one HTTP forecast
equals `model.predict` on the same history in this process, then sends `--requests`
forecast requests, `--concurrency` at a time (httpx AsyncClient), and reports p50/p99
latency and requests/s. Reference: the median time of `model.predict` on the same history in
this process (no HTTP); the ratio column is p50 over that median. A run of `--sequential`
requests one at a time shows the HTTP overhead alone; at 8 concurrent the latency also
holds the time spent queueing behind other requests.

The request is the last `min_history_rows` rows (lookback + largest seasonal lag) before
the final `horizon` rows of the data, and the known-future covariates of those final rows.

    python benchmarks/bench_serve.py [--model runs/energy/model] [--dataset vic_electricity |
        --data data.csv] [--requests 1000] [--concurrency 8] [--workers 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
import numpy as np
import pandas as pd
import torch

import lstmkit as lk


def request_for(model: Any, frame: pd.DataFrame) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """JSON body plus the history/future frames that `model.predict` gets for it."""
    need = model.lookback + model.spec_.max_lag
    history = frame.iloc[-(need + model.horizon):-model.horizon]
    future = frame.iloc[-model.horizon:][[model.time_col_, *model.spec_.future_covariates]]
    covariates = [*model.spec_.past_covariates, *model.spec_.future_covariates]
    body: dict[str, Any] = {"history": {
        "timestamps": [t.isoformat() for t in history[model.time_col_]],
        "target": history[model.target_].astype(float).tolist(),
        "covariates": {c: history[c].astype(float).tolist() for c in covariates}}}
    if model.spec_.future_covariates:
        body["future"] = {"timestamps": [t.isoformat() for t in future[model.time_col_]],
                          "covariates": {c: future[c].astype(float).tolist()
                                         for c in model.spec_.future_covariates}}
    return body, history, future


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "lstmkit.cli", "serve", model, "--port", str(port),
               "--workers", str(workers), "--log-level", "warning"]
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not answer /health within 120 s")


async def load(url: str, body: dict, requests: int, concurrency: int
               ) -> tuple[list[float], float, list[dict]]:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def one() -> tuple[float, dict]:
            async with gate:
                start = time.perf_counter()
                response = await client.post("/predict", json=body)
                response.raise_for_status()
                return time.perf_counter() - start, response.json()

        start = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(requests)))
        wall = time.perf_counter() - start
    return [r[0] for r in results], wall, [r[1] for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="runs/energy/model", help="saved forecaster folder")
    parser.add_argument("--dataset", default="vic_electricity", help="bundled dataset")
    parser.add_argument("--data", default=None, help="CSV/Parquet instead of --dataset")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--sequential", type=int, default=100,
                        help="requests sent one at a time first")
    parser.add_argument("--repeats", type=int, default=50, help="in-process predict runs")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = lk.load(args.model)
    frame = (lk.datasets.load(args.dataset) if args.data is None
             else pd.read_csv(args.data, parse_dates=[model.time_col_]))
    body, history, future = request_for(model, frame)
    want = model.predict(history, future=future if model.spec_.future_covariates else None)
    direct = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.predict(history, future=future if model.spec_.future_covariates else None)
        direct.append(time.perf_counter() - start)

    port = free_port()
    server = start_server(args.model, port, args.workers, args.threads)
    try:
        url = f"http://127.0.0.1:{port}"
        first = httpx.post(f"{url}/predict", json=body).json()
        gap = float(np.max(np.abs(np.array(first["values"]) - want[model.target_].to_numpy())))
        runs = [asyncio.run(load(url, body, n, c)) for n, c in
                ((args.sequential, 1), (args.requests, args.concurrency))]
    finally:
        server.terminate()
        server.wait(30)
    same = all(a == first for _, _, answers in runs for a in answers)
    reference = statistics.median(direct) * 1000
    print(f"command: {' '.join([os.path.basename(sys.argv[0]), *sys.argv[1:]])}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {args.threads} torch thread(s) per process, "
          f"{args.workers} worker(s); model {args.model} ({len(history)} history rows, "
          f"horizon {model.horizon})")
    print(f"HTTP forecast vs in-process predict: max |diff| {gap:.1e}; "
          f"all HTTP answers identical: {same}")
    print()
    print("| run | p50 ms | p99 ms | requests/s | p50 / reference |")
    print("|---|---:|---:|---:|---:|")
    print(f"| in-process `model.predict` (reference, median of {args.repeats}) | "
          f"{reference:.1f} | | {1000 / reference:.0f} | 1.00 |")
    for (latencies, wall, _), (n, c) in zip(
            runs, ((args.sequential, 1), (args.requests, args.concurrency)), strict=True):
        p50, p99 = np.percentile(latencies, [50, 99]) * 1000
        print(f"| HTTP /predict, {n} requests, {c} concurrent | {p50:.1f} | {p99:.1f} | "
              f"{n / wall:.0f} | {p50 / reference:.2f} |")


if __name__ == "__main__":
    main()
