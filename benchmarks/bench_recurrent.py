"""Training-step throughput of lstmkit's Recurrent layer against raw torch.nn.LSTM.

One training step = forward over (batch, time, features), a linear head on the last output,
MSE loss, backward and an AdamW step. Every row runs in this one process, round-robin with the
others of its shape; the ratio column is samples/s divided by raw `torch.nn.LSTM`'s samples/s for
the same shape in the same run. The one-time compile cost is reported separately.

    python benchmarks/bench_recurrent.py                       # the full table
    python benchmarks/bench_recurrent.py --hidden 64 --seq 48  # one configuration
    python benchmarks/bench_recurrent.py --shape-sequence      # compile cost over new shapes
    python benchmarks/bench_recurrent.py --profile --hidden 64 --seq 48  # where a step's time goes
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lstmkit.nn.recurrent import Recurrent

FEATURES = 8
LAYERS = 2
PLAIN_LOOP_REPEATS = 3
SHAPE_SEQUENCE = [(64, 48, 32), (128, 24, 32), (64, 48, 64)]  # (batch, seq, hidden)


@dataclass
class Row:
    hidden: int
    seq: int
    name: str
    samples_per_s: float
    first_step_s: float
    steady_step_s: float
    faults_per_step: float
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


def timed(step: Callable[[], None]) -> tuple[float, int]:
    """Seconds and minor page faults of one call."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    step()
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def measure_group(
    builds: list[tuple[str, Callable[[], nn.Module]]], hidden: int, seq: int, batch: int,
    repeats: int,
) -> list[Row]:
    """Warm every implementation up, then time them round-robin so machine noise hits all."""
    steps, firsts = [], []
    for _, build in builds:
        step = make_step(build(), hidden, batch, seq)
        firsts.append(timed(step)[0])  # compiles where the model compiles
        step()
        steps.append(step)
    times: list[list[float]] = [[] for _ in steps]
    faults: list[int] = [0 for _ in steps]
    for round_ in range(repeats):
        for k, step in enumerate(steps):
            if round_ >= PLAIN_LOOP_REPEATS and "plain loop" in builds[k][0]:
                continue  # the slow eager loops get fewer repeats
            seconds, n = timed(step)
            times[k].append(seconds)
            faults[k] += n
    rows = []
    for (name, _), first, ts, n in zip(builds, firsts, times, faults, strict=True):
        steady = statistics.median(ts)
        rows.append(Row(hidden, seq, name, batch / steady, first, steady, n / len(ts)))
    for row in rows:
        row.ratio = row.samples_per_s / rows[0].samples_per_s
    return rows


def plain_lstm_maths(x: torch.Tensor, layers: list[list[torch.Tensor]]) -> torch.Tensor:
    """A stacked LSTM written as plain tensor maths (autograd does the backward)."""
    batch, hidden = x.shape[0], layers[0][1].shape[1]
    inputs = x.transpose(0, 1)
    for w_ih, w_hh, b_ih, b_hh in layers:
        h, c, outputs = x.new_zeros(batch, hidden), x.new_zeros(batch, hidden), []
        gx = inputs @ w_ih.t() + b_ih + b_hh
        for t in range(gx.shape[0]):
            i, f, g, o = (gx[t] + h @ w_hh.t()).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        inputs = torch.stack(outputs)
    return inputs.transpose(0, 1)


class CompiledPlainLSTM(nn.Module):
    """Reference point: `torch.compile` of the plain LSTM maths, backward by AOT autograd."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(FEATURES, hidden, LAYERS, batch_first=True)
        self.maths = torch.compile(plain_lstm_maths)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        layers = [[getattr(self.rnn, f"{n}_l{k}") for n in names] for k in range(LAYERS)]
        return self.maths(x, layers), None


@functools.cache
def _zeros(*shape: int) -> torch.Tensor:
    """A zero tensor kept between calls (read only): the floor pays no memset per step."""
    return torch.zeros(shape)


class _MatrixProductsOnly(torch.autograd.Function):
    """The matrix products of a stacked LSTM's training step and nothing else: each layer's
    input projection over all steps, one h·W_hhᵀ per step; backward one dA·W_hh per step, the
    two weight gradients and the input gradient as one product each. No gate maths: the time
    any float32 implementation of these layers needs at least, whatever it fuses."""

    @staticmethod
    def forward(ctx, x, *weights):  # noqa: ANN001 - x (T, B, I); weights: w_ih, w_hh per layer
        inputs, saved = x, []
        for w_ih, w_hh in zip(weights[::2], weights[1::2], strict=True):
            steps, batch, hidden = inputs.shape[0], inputs.shape[1], w_hh.shape[1]
            projected = (inputs.flatten(0, 1) @ w_ih.t()).view(steps, batch, 4 * hidden)
            h, outputs = inputs.new_zeros(batch, hidden), []
            for t in range(steps):
                h = torch.addmm(projected[t], h, w_hh.t())[:, :hidden]
                outputs.append(h)
            saved += [inputs, torch.stack(outputs)]
            inputs = saved[-1]
        ctx.save_for_backward(*saved, *weights)
        return inputs

    @staticmethod
    def backward(ctx, d_out):  # noqa: ANN001
        saved = ctx.saved_tensors
        layers = len(saved) // 4
        states, weights = saved[:2 * layers], saved[2 * layers:]
        grads: list[torch.Tensor] = []
        for k in range(layers - 1, -1, -1):
            inputs, outputs = states[2 * k], states[2 * k + 1]
            w_ih, w_hh = weights[2 * k], weights[2 * k + 1]
            steps, batch, hidden = outputs.shape
            d_gates = _zeros(steps, batch, 4 * hidden)
            d_h = d_out.new_empty(batch, hidden)
            for t in range(steps - 1, -1, -1):
                torch.mm(d_gates[t], w_hh, out=d_h)
            flat = d_gates.flatten(0, 1)
            grads = [flat.t() @ inputs.flatten(0, 1), flat.t() @ outputs.flatten(0, 1), *grads]
            if k > 0:
                d_out = (flat @ w_ih).view(steps, batch, -1)
        return None, *grads


class MatrixProductsFloor(nn.Module):
    """Reference point, not an LSTM: `_MatrixProductsOnly` on nn.LSTM-shaped weights."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(FEATURES, hidden, LAYERS, batch_first=True, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        weights = [getattr(self.rnn, f"{n}_l{k}") for k in range(LAYERS)
                   for n in ("weight_ih", "weight_hh")]
        return _MatrixProductsOnly.apply(x.transpose(0, 1), *weights).transpose(0, 1), None


def implementations(hidden: int, plain_loops: bool) -> list[tuple[str, Callable[[], nn.Module]]]:
    def rec(**kw):
        return lambda: Recurrent(FEATURES, hidden, LAYERS, **kw)

    impls = [
        ("torch.nn.LSTM (raw)", lambda: nn.LSTM(FEATURES, hidden, LAYERS, batch_first=True)),
        ("Recurrent lstm (default, fused)", rec()),
        ("Recurrent lstm compile=True", rec(compile=True)),
        ("torch.compile(plain LSTM maths)", lambda: CompiledPlainLSTM(hidden)),
        ("floor: the matrix products alone", lambda: MatrixProductsFloor(hidden)),
        ("Recurrent peephole (compiled)", rec(cell="peephole")),
        ("Recurrent recurrent_dropout=0.25 (compiled)", rec(recurrent_dropout=0.25)),
    ]
    if plain_loops:
        impls += [
            ("Recurrent peephole plain loop", rec(cell="peephole", compile=False)),
            ("Recurrent recurrent_dropout plain loop", rec(recurrent_dropout=0.25, compile=False)),
        ]
    return impls


def shape_sequence(cells: list[str]) -> None:
    """First training step of each compiled cell on SHAPE_SEQUENCE, one new shape after another,
    with an empty inductor cache: the compile cost a hyperparameter search pays."""
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-recurrent-")
    counters = torch._dynamo.utils.counters
    print("| cell | batch | seq | hidden | first step s | × raw nn.LSTM first step "
          "| graphs compiled so far |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for cell in cells:
        total = 0.0
        for batch, seq, hidden in SHAPE_SEQUENCE:
            raw = timed(make_step(nn.LSTM(FEATURES, hidden, LAYERS, batch_first=True), hidden,
                                  batch, seq))[0]
            model = Recurrent(FEATURES, hidden, LAYERS, cell=cell, compile=True)
            first = timed(make_step(model, hidden, batch, seq))[0]
            total += first
            print(f"| {cell} | {batch} | {seq} | {hidden} | {first:.1f} | {first / raw:.0f} "
                  f"| {counters['stats']['unique_graphs']} |")
        print(f"| {cell} | | | | total {total:.1f} | | |")


def profile(hidden: int, seq: int, batch: int, repeats: int) -> None:
    """torch.profiler's table (ops by their own CPU time) over `repeats` compile=True steps."""
    step = make_step(Recurrent(FEATURES, hidden, LAYERS, compile=True), hidden, batch, seq)
    for _ in range(3):  # compile (or load from cache) and warm up
        step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            step()
    print(f"# compile=True, hidden {hidden}, seq {seq}, batch {batch}: {repeats} steps")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seq", type=int, nargs="+", default=[48, 96])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-plain-loops", action="store_true", help="skip the slow eager loops")
    parser.add_argument("--only", nargs="+", default=None,
                        help="keep implementations whose name contains one of these words "
                             "(raw nn.LSTM always stays: it is the reference)")
    parser.add_argument("--shape-sequence", action="store_true",
                        help="only the compile cost of peephole and compile=True LSTM over "
                             f"{SHAPE_SEQUENCE} (batch, seq, hidden), empty compile cache")
    parser.add_argument("--profile", action="store_true",
                        help="only torch.profiler's table of compile=True training steps at the "
                             "first --hidden and --seq")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.profile:
        profile(args.hidden[0], args.seq[0], args.batch, args.repeats)
        return
    if args.shape_sequence:
        print(f"# bench_recurrent --shape-sequence: torch {torch.__version__}, "
              f"{platform.processor() or platform.machine()}, {args.threads} threads")
        shape_sequence(["peephole", "lstm"])
        return

    rows: list[Row] = []
    for hidden in args.hidden:
        for seq in args.seq:
            builds = implementations(hidden, not args.no_plain_loops)
            if args.only:
                builds = builds[:1] + [b for b in builds[1:] if any(w in b[0] for w in args.only)]
            rows += measure_group(builds, hidden, seq, args.batch, args.repeats)

    cpu = platform.processor() or platform.machine()
    print(f"# bench_recurrent: torch {torch.__version__}, {cpu}, {args.threads} threads, "
          f"batch {args.batch}, {LAYERS} layers, {FEATURES} input features")
    print(f"# median of {args.repeats} round-robin steps (plain loops: {PLAIN_LOOP_REPEATS}); "
          "one-time cost = first step minus a steady step (compilation, or loading it from cache)")
    print("| hidden | seq | implementation | samples/s | × raw nn.LSTM | step ms "
          "| page faults/step | one-time cost s |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        once = max(0.0, r.first_step_s - r.steady_step_s)
        print(f"| {r.hidden} | {r.seq} | {r.name} | {r.samples_per_s:,.0f} | {r.ratio:.2f} "
              f"| {1000 * r.steady_step_s:.1f} | {r.faults_per_step:,.0f} | {once:.1f} |")


if __name__ == "__main__":
    main()
