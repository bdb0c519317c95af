"""A bounded load test: 1,000 requests, 8 at a time, zero errors, every answer identical."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from serve_helpers import cli_server, forecast_body

REQUESTS, CONCURRENCY = 1_000, 8


async def _hammer(url: str, bodies: list[dict]) -> tuple[list[int], list[dict], list[float]]:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def one(i: int) -> tuple[int, dict, float]:
            async with gate:
                start = time.perf_counter()
                response = await client.post("/predict", json=bodies[i % len(bodies)])
                return response.status_code, response.json(), time.perf_counter() - start

        results = await asyncio.gather(*(one(i) for i in range(REQUESTS)))
    status, answers, seconds = zip(*results, strict=True)
    return list(status), list(answers), list(seconds)


@pytest.mark.slow
def test_concurrent_requests_all_succeed_and_agree(forecaster_dir: Path,
                                                   series: pd.DataFrame) -> None:
    """Against `lstmkit serve` in its own process (as deployed), not sharing our GIL."""
    bodies = [forecast_body(series, end) for end in (300, 330, 360, 390)]
    with cli_server(forecaster_dir) as url:
        single = [httpx.post(f"{url}/predict", json=b).json() for b in bodies]
        start = time.perf_counter()
        status, answers, seconds = asyncio.run(_hammer(url, bodies))
        wall = time.perf_counter() - start
    p50, p99 = np.percentile(seconds, [50, 99]) * 1000
    print(f"\n{REQUESTS} requests, {CONCURRENCY} concurrent: p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms, {REQUESTS / wall:.0f} requests/s")
    assert status == [200] * REQUESTS
    assert all(answer == single[i % len(bodies)] for i, answer in enumerate(answers))
