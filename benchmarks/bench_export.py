"""PyTorch fp32 vs ONNX fp32 vs ONNX int8 on the energy forecaster: size, speed, accuracy.

Loads a saved `LSTMForecaster` (--model), or trains a small day-ahead one (the energy
example's features, --epochs epochs) on Victoria's demand up to four weeks before the end of
2014. Exports it with `lstmkit.export.to_onnx` (fp32, and int8 by dynamic quantisation) and
runs the three on the same windows of the last four weeks:

- accuracy: the 28 day-ahead forecasts from each midnight (as in the energy backtest), MAE
  in GW and MASE (scaled by the daily seasonal naive's in-sample MAE on the training part);
  a saved model given with --model may have been trained on these weeks;
- max |diff| vs PyTorch: over every half-hourly origin of the four weeks, in GW;
- latency: one window (batch 1), median of --repeats runs; throughput: every half-hourly
  window in one batch, median of --batch-repeats runs. The three run in turn within each
  repeat, one thread for PyTorch and onnxruntime alike; the ratio is to PyTorch in the same
  process.

    python benchmarks/bench_export.py [--model runs/energy/model] [--epochs 3] [--repeats 300]

Needs the extras export and datasets.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime
import torch

import lstmkit as lk
from lstmkit.data.loading import load_series
from lstmkit.evaluation.metrics import mase
from lstmkit.export import OnnxForecaster, forecaster_windows, to_onnx
from lstmkit.export.graphs import graph_of

TEST = 4 * 7 * 48  # four weeks of half-hours
PARAMS = dict(lookback=96, horizon=48, hidden_size=64, num_layers=2, train_stride=2,
              past_covariates=["temperature"], future_covariates=["workday"],
              fourier={17532: 2}, validation_fraction=0.0, seed=0, progress=False)


def median_seconds(calls: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time of each call, the calls interleaved so that they share any change
    in the load of the machine."""
    times: list[list[float]] = [[] for _ in calls]
    for call in calls:
        call()  # warm up
    for _ in range(repeats):
        for call, spent in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def calls(net: torch.nn.Module, runner: OnnxForecaster | None, encoder: torch.Tensor,
          steps: torch.Tensor) -> tuple[Callable[[], object], Callable[[], object]]:
    """(one window, every window) forecasts of PyTorch (runner None) or an ONNX runner."""
    if runner is None:
        def run(e: torch.Tensor, s: torch.Tensor) -> object:
            with torch.no_grad():
                return net(e, s)
    else:
        encoder, steps = encoder.numpy(), steps.numpy()
        run = runner.run
    return (lambda: run(encoder[:1], steps[:1])), (lambda: run(encoder, steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="A saved LSTMForecaster folder.")
    parser.add_argument("--epochs", type=int, default=3, help="Epochs when training one.")
    parser.add_argument("--repeats", type=int, default=300, help="Batch-1 latency runs.")
    parser.add_argument("--batch-repeats", type=int, default=9, help="Full-batch runs.")
    parser.add_argument("--output", type=Path, default=Path("runs/bench_export"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    df = lk.datasets.load("vic_electricity")
    train = df.iloc[:-TEST]
    if args.model is None:
        started = time.perf_counter()
        model = lk.LSTMForecaster(max_epochs=args.epochs, **PARAMS)
        model.fit(train, target="demand", time_col="ds")
        trained = f"trained {args.epochs} epochs in {time.perf_counter() - started:.0f} s"
        model_dir = model.save(args.output / "model")
    else:
        model, model_dir, trained = lk.load(args.model), args.model, f"loaded {args.model}"
    fp32 = to_onnx(model, args.output / "model.onnx")
    int8 = to_onnx(model, args.output / "model.int8.onnx", quantize="int8")

    frame = load_series(df, time_col="ds", target="demand",
                        covariates=["temperature", "workday"]).frame
    design = model.design(frame)
    origins = np.arange(len(frame) - TEST, len(frame) - model.horizon + 1)
    midnight = origins[(frame["ds"].iloc[origins].dt.hour == 0).to_numpy()
                       & (frame["ds"].iloc[origins].dt.minute == 0).to_numpy()]
    encoder, steps = (torch.from_numpy(a) for a in forecaster_windows(model, design, origins))
    ids = design.ids[origins]
    net = graph_of(model).module  # what is exported (recursive: with its feedback loop)
    truth = frame["y"].to_numpy()[midnight[:, None] + np.arange(model.horizon)]
    at_midnight = np.isin(origins, midnight)

    torch_values = model.forecast_at(design, origins)
    rows = [("PyTorch fp32", model_dir / "model.safetensors", torch_values, None)]
    for name, report in (("ONNX fp32", fp32), ("ONNX int8", int8)):
        runner = OnnxForecaster(report.path, threads=1)
        rows.append((name, report.path, runner.forecast(encoder.numpy(), steps.numpy(), ids),
                     runner))

    runs = [(runner, *calls(net, runner, encoder, steps)) for *_, runner in rows]
    latency = median_seconds([single for _, single, _ in runs], args.repeats)
    batch_seconds = median_seconds([batch for _, _, batch in runs], args.batch_repeats)
    table = []
    for (name, file, values, _), one, many in zip(rows, latency, batch_seconds, strict=True):
        pred = values[at_midnight]
        table.append((name, file.stat().st_size / 1024, one * 1e3, len(origins) / many,
                      float(np.mean(np.abs(pred - truth))),
                      mase(truth, pred, insample=train["demand"].to_numpy(), season=48),
                      float(np.max(np.abs(values - torch_values)))))

    print(f"command: python {' '.join(sys.argv)}")
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, torch {torch.__version__}, onnxruntime "
          f"{onnxruntime.__version__}, 1 thread")
    print(f"model: {trained}; lookback {model.lookback}, horizon {model.horizon}, "
          f"hidden {model.hidden_size} x {model.num_layers} {model.cell}")
    print(f"export check on random inputs: fp32 max |diff| {fp32.max_abs_error:.1e} "
          f"(tolerance {fp32.tolerance:g}), int8 {int8.max_abs_error:.1e} (scaled units)")
    print(f"accuracy: {len(midnight)} day-ahead windows from midnight; speed and max |diff|: "
          f"{len(origins)} half-hourly windows of the last 4 weeks\n")
    base_latency, base_throughput = table[0][2], table[0][3]
    print("| model | file KiB | latency ms (batch 1) | x PyTorch | windows/s (batch "
          f"{len(origins)}) | x PyTorch | MAE GW | MASE | max abs diff vs PyTorch GW |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, size, latency, throughput, mae, scaled, diff in table:
        print(f"| {name} | {size:.0f} | {latency:.3f} | {latency / base_latency:.2f} | "
              f"{throughput:,.0f} | {throughput / base_throughput:.2f} | {mae:.4f} | "
              f"{scaled:.4f} | {diff:.2e} |")


if __name__ == "__main__":
    main()
