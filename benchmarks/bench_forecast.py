"""Fit throughput of `LSTMForecaster` vs a raw `torch.nn.LSTM` loop, and peak memory.

Throughput: the forecaster's `fit` end to end (loading, features, scaling, windows, the
Trainer) against a bare training loop — `nn.LSTM` + a linear head, AdamW, L1 loss — over the
very same windows and batch size, in the same process. Both train the same number of epochs;
windows/s = windows trained / wall seconds. Target: forecaster >= 0.8x raw.

Memory: peak RSS of a separate process that loads a 1,000,000-row series (synthetic: a daily
cycle plus noise, hourly), builds every feature and trains one epoch on a stride of its
windows. Target: under 2 GB.

    python benchmarks/bench_forecast.py [--epochs 2] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

import lstmkit as lk
from lstmkit.data.window_dataset import WindowDataset
from lstmkit.models.forecast_design import build_design, fit_scalers
from lstmkit.models.forecaster import LSTMForecaster

PARAMS = dict(lookback=96, horizon=48, hidden_size=64, num_layers=2, batch_size=256,
              past_covariates=["temperature"], future_covariates=["workday"],
              validation_fraction=0.0, lr_schedule="constant", progress=False)


def forecaster_run(df, epochs: int) -> tuple[float, int, LSTMForecaster]:
    model = LSTMForecaster(max_epochs=epochs, **PARAMS)
    started = time.perf_counter()
    model.fit(df, target="demand", time_col="ds")
    seconds = time.perf_counter() - started
    series = model._load(df, "demand", "ds", None, None, fitting=True)
    design = build_design(series.frame, model.spec_, fit_scalers(series.frame, model.spec_,
                                                                 "standard"))
    origins, _ = model._training_origins(design, model.spec_)
    return seconds, len(origins) * epochs, model


def raw_run(model: LSTMForecaster, df, epochs: int) -> tuple[float, int]:
    """The floor: nn.LSTM + linear head on the forecaster's own windows (features prebuilt)."""
    series = model._load(df, "demand", "ds", None, None, fitting=True)
    design = model.design(series.frame)
    origins, _ = model._training_origins(design, model.spec_)
    data = WindowDataset(design.encoder, design.step, np.nan_to_num(design.target), origins,
                         model.lookback, model.horizon)
    torch.manual_seed(0)
    lstm = nn.LSTM(design.encoder.shape[1], 64, 2, batch_first=True)
    head = nn.Linear(64, model.horizon)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=3e-3, weight_decay=1e-4)
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(origins))
        for i in range(0, len(order), 256):
            enc, _, target = data.__getitems__(order[i:i + 256])
            _, (h, _) = lstm(enc)
            loss = nn.functional.l1_loss(head(h[-1]), target)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
    return time.perf_counter() - started, len(origins) * epochs


MEMORY_SCRIPT = """
import resource, numpy as np, pandas as pd, torch
from lstmkit.models.forecaster import LSTMForecaster
torch.set_num_threads({threads})
n = 1_000_000
t = np.arange(n)
df = pd.DataFrame({{"ds": pd.date_range("1900-01-01", periods=n, freq="h"),
                   "y": 10 + np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, .3, n),
                   "x": np.cos(2 * np.pi * t / 24)}})
LSTMForecaster(lookback=96, horizon=24, past_covariates=["x"], max_epochs=1, train_stride=100,
               progress=False).fit(df)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    df = lk.datasets.load("vic_electricity")
    ours, raw = [], []
    for _ in range(args.repeats):
        seconds, windows, model = forecaster_run(df, args.epochs)
        ours.append(windows / seconds)
        seconds, windows = raw_run(model, df, args.epochs)
        raw.append(windows / seconds)
    mine, floor = statistics.median(ours), statistics.median(raw)
    peak = float(subprocess.run([sys.executable, "-c", MEMORY_SCRIPT.format(
        threads=args.threads)], check=True, capture_output=True, text=True).stdout.split()[-1])
    print(f"command: python benchmarks/bench_forecast.py --epochs {args.epochs} "
          f"--repeats {args.repeats} --threads {args.threads}")
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} threads; vic_electricity, lookback 96, horizon 48, 2x64 LSTM, "
          "batch 256; medians of repeats")
    print()
    print("| run | windows/s | ratio to raw |")
    print("|---|---:|---:|")
    print(f"| LSTMForecaster.fit (end to end) | {mine:,.0f} | {mine / floor:.2f}x |")
    print(f"| raw nn.LSTM loop (same windows) | {floor:,.0f} | 1.00x |")
    print()
    print(f"peak RSS, 1,000,000-row series (features + 1 epoch): {peak:,.0f} MB (target < 2048)")
    print(f"this process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f}"
          " MB")


if __name__ == "__main__":
    main()
