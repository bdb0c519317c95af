"""Training throughput of 1 vs 2 data-parallel processes (torchrun, gloo, 1 thread each).

The energy forecaster's own training windows (vic_electricity, lookback 96, horizon 48,
temperature past-only, work-day flag known-future, 2x64 LSTM, global batch 256, every
`--stride`-th window) go through `Trainer.fit` for `--epochs` epochs; windows/s is the number
of training windows over the seconds of the last epoch (after warm-up), as rank 0 measures
it. Each run is a fresh process (or a fresh `torchrun` of N processes); runs alternate and
the table shows medians of `--repeats`, with a 1-process, 2-thread run for comparison.
`--precision bfloat16` trains every run in bfloat16 mixed precision.

    python benchmarks/bench_distributed.py [--epochs 2] [--repeats 3] [--stride 2]
        [--precision float32|bfloat16]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

MALLOC = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}
RUNS = (("1 process x 1 thread", 1, 1), ("2 processes x 1 thread (DDP, gloo)", 2, 1),
        ("1 process x 2 threads", 1, 2))


def worker(epochs: int, stride: int, precision: str) -> None:
    """Train once (under torchrun: one rank); rank 0 prints a JSON line."""
    import torch

    import lstmkit as lk
    from lstmkit.models.forecast_design import build_design, fit_scalers
    from lstmkit.models.forecaster import LSTMForecaster

    torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    df = lk.datasets.load("vic_electricity")
    model = LSTMForecaster(
        lookback=96, horizon=48, past_covariates=["temperature"], future_covariates=["workday"],
        hidden_size=64, num_layers=2, batch_size=256, max_epochs=epochs, train_stride=stride,
        validation_fraction=0.0, lr_schedule="constant", precision=precision, progress=False)
    series = model._load(df, "demand", "ds", None, None, fitting=True)
    spec = model._spec(series)
    frame = model._transformed(series.frame)
    design = build_design(frame, spec, fit_scalers(frame, spec, model.scaler))
    origins, _ = model._training_origins(design, spec)
    trainer = model._trainer(has_val=False)
    history = trainer.fit(model._network(spec, series.frame), model._windows(design, origins),
                          None, model._loss())
    if trainer.is_main:
        seconds = history.records[-1].seconds
        print(json.dumps({"windows": len(origins), "seconds": seconds}))


def run(nproc: int, threads: int, epochs: int, stride: int, precision: str
        ) -> dict[str, float]:
    """One fresh run: its windows and last-epoch seconds."""
    env = {**os.environ, **MALLOC, "BENCH_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    script = [os.path.abspath(__file__), "--worker", "--epochs", str(epochs),
              "--stride", str(stride), "--precision", precision]
    command = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc-per-node={nproc}", *script] if nproc > 1 else [sys.executable, *script])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{nproc} process(es) x {threads} thread(s) failed "
                         f"(exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stride", type=int, default=2)
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.epochs, args.stride, args.precision)
        return
    rates: dict[str, list[float]] = {name: [] for name, _, _ in RUNS}
    windows = 0
    for _ in range(args.repeats):
        for name, nproc, threads in RUNS:
            result = run(nproc, threads, args.epochs, args.stride, args.precision)
            windows = int(result["windows"])
            rates[name].append(result["windows"] / result["seconds"])
    import torch

    reference = statistics.median(rates[RUNS[0][0]])
    print(f"command: python benchmarks/bench_distributed.py --epochs {args.epochs} "
          f"--repeats {args.repeats} --stride {args.stride} --precision {args.precision}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}; vic_electricity energy forecaster, {windows:,} training "
          f"windows, global batch 256; last epoch of {args.epochs}, medians of {args.repeats}")
    print()
    print("| run | windows/s | ratio to 1 process x 1 thread |")
    print("|---|---:|---:|")
    for name, _, _ in RUNS:
        rate = statistics.median(rates[name])
        print(f"| {name} | {rate:,.0f} | {rate / reference:.2f}x |")


if __name__ == "__main__":
    main()
