"""Training-step throughput of lstmkit's Recurrent layer against raw torch.nn.LSTM.

One training step = forward over (batch, time, features), a linear head on the last output,
MSE loss, backward and an AdamW step. Every row runs in this one process; the ratio column is
samples/s divided by raw `torch.nn.LSTM`'s samples/s for the same shape, measured in the same
run. The one-time compile cost (first step minus a steady step) is reported separately.

    python benchmarks/bench_recurrent.py                       # the full table
    python benchmarks/bench_recurrent.py --hidden 64 --seq 48  # one configuration
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lstmkit.nn.recurrent import Recurrent

FEATURES = 8
LAYERS = 2


@dataclass
class Row:
    hidden: int
    seq: int
    name: str
    samples_per_s: float
    first_step_s: float
    steady_step_s: float
    ratio: float = 0.0


def make_step(model: nn.Module, hidden: int, batch: int, seq: int) -> Callable[[], None]:
    """A closure running one full training step on fixed random data."""
    torch.manual_seed(0)
    x = torch.randn(batch, seq, FEATURES)
    y = torch.randn(batch, 1)
    out_size = getattr(model, "output_size", hidden)
    head = nn.Linear(out_size, 1)
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-3)

    def step() -> None:
        outputs = model(x)[0]
        loss = nn.functional.mse_loss(head(outputs[:, -1]), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def measure(name: str, model: nn.Module, hidden: int, seq: int, batch: int, repeats: int) -> Row:
    step = make_step(model, hidden, batch, seq)
    start = time.perf_counter()
    step()  # compiles where the model compiles; warms caches otherwise
    first = time.perf_counter() - start
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    steady = statistics.median(times)
    return Row(hidden, seq, name, batch / steady, first, steady)


def implementations(hidden: int, plain_loops: bool) -> list[tuple[str, Callable[[], nn.Module]]]:
    def rec(**kw):
        return lambda: Recurrent(FEATURES, hidden, LAYERS, **kw)

    impls = [
        ("torch.nn.LSTM (raw)", lambda: nn.LSTM(FEATURES, hidden, LAYERS, batch_first=True)),
        ("Recurrent lstm (default, fused)", rec()),
        ("Recurrent lstm compile=True", rec(compile=True)),
        ("Recurrent peephole (compiled)", rec(cell="peephole")),
        ("Recurrent recurrent_dropout=0.25 (compiled)", rec(recurrent_dropout=0.25)),
    ]
    if plain_loops:
        impls += [
            ("Recurrent peephole plain loop", rec(cell="peephole", compile=False)),
            ("Recurrent recurrent_dropout plain loop", rec(recurrent_dropout=0.25, compile=False)),
        ]
    return impls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seq", type=int, nargs="+", default=[48, 96])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-plain-loops", action="store_true", help="skip the slow eager loops")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows: list[Row] = []
    for hidden in args.hidden:
        for seq in args.seq:
            group = []
            for name, build in implementations(hidden, not args.no_plain_loops):
                repeats = args.repeats if "plain loop" not in name else max(3, args.repeats // 3)
                group.append(measure(name, build(), hidden, seq, args.batch, repeats))
            reference = group[0].samples_per_s
            for row in group:
                row.ratio = row.samples_per_s / reference
            rows += group

    print(f"# bench_recurrent: torch {torch.__version__}, {platform.processor() or platform.machine()}"
          f", {args.threads} threads, batch {args.batch}, {LAYERS} layers, {FEATURES} features")
    print(f"# median of {args.repeats} steps (plain loops: {max(3, args.repeats // 3)})")
    print("| hidden | seq | implementation | samples/s | × raw nn.LSTM | steady step ms "
          "| one-time cost s |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        once = max(0.0, r.first_step_s - r.steady_step_s)
        print(f"| {r.hidden} | {r.seq} | {r.name} | {r.samples_per_s:,.0f} | {r.ratio:.2f} "
              f"| {1000 * r.steady_step_s:.1f} | {once:.1f} |")


if __name__ == "__main__":
    main()
