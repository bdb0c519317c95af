"""Training steps/s of `LSTMForecaster` in float32 and in bfloat16 mixed precision.

The forecaster of the peer benchmark's energy configuration (bundled half-hourly Victorian
demand; lookback 96, horizon 48, 2x64 LSTM, batch 256, per-window normalisation, moving
average of the weights), trained for `--steps` optimizer steps per fit; fits of the two
precisions alternate in one process (`--repeats` rounds). A step's time is the median gap
between optimizer steps after the first 20 (warm-up); the last column is the mean training
loss of the last epoch, to show both learn alike.

    python benchmarks/bench_precision.py [--steps 300] [--repeats 3] [--threads 2]

bfloat16 is fast only where the CPU has bfloat16 instructions (AVX512-BF16, AMX); the first
line says whether oneDNN found them. OpenMP settings such as `GOMP_SPINCOUNT` or
`OMP_WAIT_POLICY` must be in the environment before the process starts; the first line shows
`GOMP_SPINCOUNT`. With `--threads 1` each step runs without OpenMP's parallel regions.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

import lstmkit as lk
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.training.precision import cpu_has_bfloat16

PARAMS = dict(lookback=96, horizon=48, hidden_size=64, num_layers=2, batch_size=256,
              seasonal_lags=(), calendar=False, scaler="standard", window_norm="standard",
              decoder_states="aligned", window_loss=True, partial_windows=True,
              ema_decay=0.995, lr=1e-3, weight_decay=0.0, clip_norm=None,
              lr_schedule="constant", validation_fraction=0.0, device="cpu", progress=False)
WARM_UP = 20


class StepClock:
    """Timestamps of every optimizer step (a global pre-step hook)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        register_optimizer_step_pre_hook(self._hook)

    def _hook(self, *_: object) -> None:
        self.stamps.append(time.perf_counter())

    def step_ms(self) -> tuple[float, float]:
        """Mean and median milliseconds between the steps after the warm-up."""
        gaps = np.diff(self.stamps[WARM_UP:]) * 1e3
        self.stamps.clear()
        return float(gaps.mean()), float(np.median(gaps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.steps <= WARM_UP + 1 or args.repeats < 1 or args.threads < 1:
        parser.error(f"--steps must exceed {WARM_UP + 1}; --repeats and --threads above 0")
    torch.set_num_threads(args.threads)
    frame = lk.datasets.load("vic_electricity")[["ds", "demand"]]
    clock = StepClock()
    results: dict[str, list[tuple[float, float, float]]] = {"float32": [], "bfloat16": []}
    for repeat in range(args.repeats):
        for precision, runs in results.items():
            model = LSTMForecaster(max_steps=args.steps, seed=repeat, precision=precision,
                                   **PARAMS)
            model.fit(frame, target="demand", time_col="ds")
            runs.append((*clock.step_ms(), model.history_.records[-1].train_loss))
    print(f"# bench_precision: torch {torch.__version__}, {platform.machine()}, "
          f"{args.threads} threads, CPU bfloat16 instructions: {cpu_has_bfloat16()}, "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')}, "
          f"{args.steps} steps x {args.repeats} fits per precision")
    print("| precision | mean step ms | steps/s | × float32 | median step ms | × float32 | "
          "last-epoch loss |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = [statistics.median(run[k] for run in results["float32"]) for k in (0, 1)]
    for precision, runs in results.items():
        mean, median, loss = (statistics.median(run[k] for run in runs) for k in (0, 1, 2))
        print(f"| {precision} | {mean:.1f} | {1e3 / mean:.2f} | {base[0] / mean:.2f} | "
              f"{median:.1f} | {base[1] / median:.2f} | {loss:.4f} |")


if __name__ == "__main__":
    main()
