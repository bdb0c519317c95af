"""Peer benchmark: lstmkit's LSTMForecaster vs NeuralForecast, Darts and statsforecast.

Every model runs in its own child process (its peak RSS is its own), on the same
walk-forward folds (`lstmkit.evaluation.splits.walk_forward`), scored by the same metrics
(`lstmkit.evaluation.metrics`). Neural models share one configuration (`common.NetConfig`)
and the same standardised float32 input (mean/std of each fold's training part). The
models of one repeat run one after another, so machine load drifts alike over all of them;
the tables give medians over repeats and ratios to lstmkit measured in the same run.

    benchmarks/peers/.venv/bin/python benchmarks/peers/run.py --quick
    benchmarks/peers/.venv/bin/python benchmarks/peers/run.py --dataset air_passengers --repeats 3
    benchmarks/peers/.venv/bin/python benchmarks/peers/run.py --dataset vic_electricity \
        --repeats 1 --folds 1

Run `benchmarks/peers/setup_env.sh` (or `make bench-peers`) first.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from adapters import ADAPTERS, NEURAL  # noqa: E402
from common import (  # noqa: E402
    NetConfig,
    Task,
    make_folds,
    member_jobs,
    score,
    task_series,
)

from lstmkit.errors import DataValidationError  # noqa: E402

DATASETS: dict[str, dict[str, Any]] = {
    "vic_electricity": dict(
        freq="30min", season=48, folds=2, fold_length=336, max_train_classical=12 * 336,
        net=dict(lookback=96, horizon=48, batch_size=256, steps=1000),
        classical=["seasonal_naive", "seasonal_naive_weekly", "mstl"],
    ),
    "air_passengers": dict(
        freq="MS", season=12, folds=3, fold_length=12, max_train_classical=10**9,
        net=dict(lookback=24, horizon=12, batch_size=32, steps=500),
        classical=["seasonal_naive", "auto_ets", "auto_arima"],
    ),
}
PRECISION_NAMES = {"float32": "float32",
                   "bfloat16": "bfloat16 mixed precision (float32 weights)"}
LIBRARIES = ("torch", "lstmkit", "neuralforecast", "darts", "statsforecast",
             "pytorch-lightning", "numpy", "pandas")


# -- child: one model, all folds ------------------------------------------------------------

def child(name: str, task_path: Path, out_path: Path, repeat: int) -> None:
    """Fit and forecast every fold with adapter `name`, seeded with the task's seed +
    `repeat`; write forecasts and timings."""
    import adapters
    import torch
    import torch._dynamo  # noqa: F401  # the first optimiser imports it (~1.8 s); NeuralForecast
    # and Darts import it with themselves: loaded here, it is import time for every model

    task = Task.from_json(json.loads(task_path.read_text()))
    task.net.seed += repeat
    torch.set_num_threads(task.net.threads)
    torch.set_default_dtype(torch.float32)
    frame = task_series(task)
    y = frame["y"].to_numpy("float64")
    ds = frame["ds"]
    adapter = adapters.load(name, task)
    folds, scaled = [], []
    for fold in make_folds(task, len(y)):
        train = y[fold.train_start:fold.train_end]
        mu, sd = (float(train.mean()), float(train.std())) if adapter.scaled else (0.0, 1.0)
        z = ((y[:fold.test_end] - mu) / sd).astype("float32" if adapter.scaled else "float64")
        scaled.append((fold, mu, sd, z))
    spans = [(z[f.train_start:f.train_end], ds[f.train_start:f.train_end].reset_index(drop=True))
             for f, _, _, z in scaled]
    side_by_side = task.net.fold_jobs > 1 and hasattr(adapter, "fit_folds")
    if side_by_side:  # one wall time for all folds, shared out evenly
        began = time.perf_counter()
        adapter.fit_folds(spans)
        shared_fit_s = (time.perf_counter() - began) / len(spans)
    for k, (fold, mu, sd, z) in enumerate(scaled):
        if side_by_side:
            adapter.use_fold(k)
            fit_s = shared_fit_s
        else:
            began = time.perf_counter()
            adapter.fit(*spans[k])
            fit_s = time.perf_counter() - began
        began = time.perf_counter()
        pred = adapter.predict(z, ds[:fold.test_end].reset_index(drop=True), fold.origins)
        predict_s = time.perf_counter() - began
        if hasattr(adapter, "fit_seconds"):  # classical: fitted at each origin inside predict
            fit_s, predict_s = adapter.fit_seconds, predict_s - adapter.fit_seconds
        folds.append({"fit_s": fit_s, "predict_s": predict_s, "steps": adapter.steps_done,
                      "forecast": (np.asarray(pred, dtype="float64") * sd + mu).tolist()})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    processes = getattr(adapter, "processes", 1)
    if processes > 1:  # the largest child's peak, counted once per process: an upper bound
        peak_mb += processes * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out_path.write_text(json.dumps({"folds": folds, "peak_rss_mb": peak_mb}))


# -- parent -----------------------------------------------------------------------------------

def _number_type(cast: Callable[[str], Any], kind: str, accept: Callable[[Any], bool],
                 expected: str) -> Callable[[str], Any]:
    """An argparse type: `cast` the text, then refuse values `accept` rejects."""
    def parse(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value
    return parse


positive_float = _number_type(float, "a number", lambda v: v > 0 and math.isfinite(v),
                              "a finite number above 0")
positive_int = _number_type(int, "a whole number", lambda v: v >= 1, "a whole number above 0")
dropout_rate = _number_type(float, "a number", lambda v: 0.0 <= v < 1.0, "a rate in [0, 1)")


def make_task(dataset: str, args: argparse.Namespace) -> Task:
    """The dataset's defaults, overridden by the command line (and shrunk by --quick)."""
    spec = DATASETS[dataset]
    net = NetConfig(**spec["net"], threads=args.threads, seed=args.seed)
    folds = spec["folds"] if args.folds is None else args.folds
    if args.steps is not None:
        net.steps = args.steps
    if args.lr is not None:
        net.lr = args.lr
    if args.batch_size is not None:
        net.batch_size = args.batch_size
    if args.hidden_size is not None:
        net.hidden_size = args.hidden_size
    if args.num_layers is not None:
        net.num_layers = args.num_layers
    net.precision = args.precision
    net.dropout = args.dropout
    if args.threads % args.processes:
        raise SystemExit(f"--threads {args.threads} must be a multiple of --processes "
                         f"{args.processes} (each process gets threads / processes)")
    if net.batch_size % args.processes:
        raise SystemExit(f"--processes {args.processes}: the batch of {net.batch_size} windows "
                         "must split evenly over the processes")
    net.processes = args.processes
    net.sampling = args.sampling
    net.ensemble = args.ensemble
    if args.fold_jobs > 1 and (args.fold_jobs > args.threads or args.processes > 1):
        raise SystemExit(f"--fold-jobs {args.fold_jobs}: at most --threads ({args.threads}) "
                         "folds at once, one thread each, and not with --processes")
    net.fold_jobs = args.fold_jobs
    validation = args.validation or args.validation_folds is not None
    held_out = folds * spec["fold_length"] if validation else 0
    if args.validation_folds is not None:
        folds = args.validation_folds
    if args.quick:
        net.steps, folds = min(net.steps, 20), 1
    classical = [] if args.no_classical else list(spec["classical"])
    return Task(dataset=dataset, freq=spec["freq"], season=spec["season"], net=net,
                folds=folds, fold_length=spec["fold_length"],
                max_train_classical=spec["max_train_classical"], classical=classical,
                held_out=held_out)


def run_child(name: str, task_path: Path, out_dir: Path, repeat: int, threads: int,
              timeout: float, reuse: bool = False) -> dict[str, Any]:
    """Run one model in a fresh interpreter; returns its JSON result (with `reuse`, the one
    an earlier run of the same task left in `out_dir`, if any)."""
    out = out_dir / f"{name}.r{repeat}.json"
    if reuse and out.exists():
        return json.loads(out.read_text())
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "NUMBA_NUM_THREADS": str(threads), "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name,
           "--task-file", str(task_path), "--out", str(out), "--repeat", str(repeat)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(out.read_text())


def summarise(task: Task, y: np.ndarray, runs: dict[str, list[dict[str, Any]]]
              ) -> list[dict[str, Any]]:
    """One row per model: medians over repeats of timings, RSS and fold-mean metrics."""
    folds = make_folds(task, len(y))
    h = task.net.horizon
    rows = []
    for name, repeats in runs.items():
        per_repeat, fold_mase = [], []
        for result in repeats:
            metrics = []
            for fold, res in zip(folds, result["folds"], strict=True):
                actual = y[fold.origins[:, None] + np.arange(h)]
                metrics.append(score(actual, np.asarray(res["forecast"]),
                                     y[fold.train_start:fold.train_end], task.season))
            fit_s = sum(r["fit_s"] for r in result["folds"])
            steps = sum(r["steps"] for r in result["folds"])
            per_repeat.append({
                "steps": steps, "fit_s": fit_s,
                "predict_s": sum(r["predict_s"] for r in result["folds"]),
                "steps_per_s": steps / fit_s if steps else float("nan"),
                "windows_per_s": steps * task.net.batch_size / fit_s if steps else float("nan"),
                "peak_rss_mb": result["peak_rss_mb"],
                **{m: float(np.mean([f[m] for f in metrics])) for m in ("mae", "rmse", "mase")},
            })
            fold_mase.append([f["mase"] for f in metrics])
        row = {"model": ADAPTERS[name][1] + _suffix(name, task) + _processes(name, task),
               "key": name,
               "repeats": len(per_repeat)}
        for key in per_repeat[0]:
            row[key] = statistics.median(r[key] for r in per_repeat)
        row["mase_per_repeat"] = [r["mase"] for r in per_repeat]
        row["fold_mase"] = np.median(fold_mase, axis=0).tolist()
        row["mae_min"] = min(r["mae"] for r in per_repeat)
        row["mae_max"] = max(r["mae"] for r in per_repeat)
        rows.append(row)
    ref = reference(rows)
    for row in rows:
        for key in ("fit_s", "steps_per_s", "peak_rss_mb", "mae"):
            ok = ref is not None and ref[key] and not np.isnan(ref[key])
            row[f"{key}_x_lstmkit"] = row[key] / ref[key] if ok else float("nan")
    return rows


def paired(rows: list[dict[str, Any]], resamples: int = 10_000) -> str:
    """Every other network against the reference lstmkit row, seed by seed (repeat r of every
    network trains with the same seed): on how many seeds lstmkit's MASE is lower, the median
    and mean of the other's MASE minus lstmkit's, and a 95 % bootstrap interval of that mean
    (a positive difference favours lstmkit). Empty with fewer than 3 common seeds."""
    ref, lines = reference(rows), []
    for row in rows:
        if ref is None or row is ref or not row["steps"]:
            continue
        n = min(len(row["mase_per_repeat"]), len(ref["mase_per_repeat"]))
        if n < 3:
            continue
        diff = (np.asarray(row["mase_per_repeat"][:n]) - np.asarray(ref["mase_per_repeat"][:n]))
        draws = np.random.default_rng(0).integers(0, n, size=(resamples, n))
        low, high = np.quantile(diff[draws].mean(axis=1), [0.025, 0.975])
        lines.append(f"| {row['model']} | {n} | {int((diff > 0).sum())} of {n} | "
                     f"{np.median(diff):+.3f} | {diff.mean():+.3f} [{low:+.3f}, {high:+.3f}] |")
    if not lines:
        return ""
    head = ("paired by seed against the lstmkit row the ratios divide by (the row's MASE "
            "minus lstmkit's; positive favours lstmkit):\n\n"
            "| model | seeds | lstmkit lower on | median difference "
            "| mean difference [95 % bootstrap] |\n|---|---:|---:|---:|---:|")
    return "\n".join([head, *lines])


def by_fold(rows: list[dict[str, Any]], starts: list[str]) -> str:
    """MASE of every model fold by fold (median over repeats): which test period decides the
    table. `starts` labels each fold by its first forecast origin."""
    head = "| model | " + " | ".join(f"fold {k + 1} (from {d})" for k, d in enumerate(starts))
    lines = [f"MASE by fold (median over repeats):\n\n{head} |",
             "|---|" + "---:|" * len(starts)]
    lines += [f"| {r['model']} | " + " | ".join(f"{v:.3f}" for v in r["fold_mase"]) + " |"
              for r in rows]
    return "\n".join(lines)


def reference(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row the ratios divide by: lstmkit configured alike, else the first lstmkit row."""
    return next((r for r in rows if r["key"] == "lstmkit"),
                next((r for r in rows if r["key"].startswith("lstmkit")), None))


def _repeats(runs: dict[str, list[dict[str, Any]]]) -> str:
    counts = sorted({len(results) for results in runs.values()})
    return "–".join(str(c) for c in (counts[0], counts[-1])) if len(counts) > 1 else str(counts[0])


def _suffix(name: str, task: Task) -> str:
    m = task.season
    return {"seasonal_naive": f"({m})", "seasonal_naive_weekly": f"({7 * m})",
            "auto_ets": f"({m})", "auto_arima": f"({m})", "mstl": f"({m}, {7 * m})"}.get(name, "")


def _processes(name: str, task: Task) -> str:
    n = task.net
    if not name.startswith("lstmkit"):
        return ""
    settings = ", windows drawn at random (sampling='random')" if n.sampling == "random" else ""
    if n.fold_jobs > 1:
        settings += f", {n.fold_jobs} folds at once (fit_each, one thread each)"
    if n.ensemble > 1:
        jobs = member_jobs(n)
        settings += (f", ensemble of {n.ensemble} (n_jobs={jobs}, one thread each)" if jobs > 1
                     else f", ensemble of {n.ensemble} (one after another)")
    if n.processes == 1:
        return settings
    return (f"{settings}, {n.processes} processes x {n.threads // n.processes} thread(s) "
            "(DistributedDataParallel)")


def _fmt(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table as markdown."""
    head = ("| model | steps | fit s | predict s | steps/s | windows/s | peak RSS MB | MAE "
            "| MAE min–max | RMSE | MASE | fit s × lk | steps/s × lk | RSS × lk | MAE × lk |")
    lines = [head, "|---|" + "---:|" * 14]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['steps']:,.0f} | {_fmt(r['fit_s'], 1)} | "
            f"{_fmt(r['predict_s'], 2)} | {_fmt(r['steps_per_s'], 2)} | "
            f"{_fmt(r['windows_per_s'], 0)} | {_fmt(r['peak_rss_mb'], 0)} | "
            f"{_fmt(r['mae'], 3)} | {_fmt(r['mae_min'], 3)}–{_fmt(r['mae_max'], 3)} | "
            f"{_fmt(r['rmse'], 3)} | {_fmt(r['mase'], 3)} | "
            f"{_fmt(r['fit_s_x_lstmkit'])} | {_fmt(r['steps_per_s_x_lstmkit'])} | "
            f"{_fmt(r['peak_rss_mb_x_lstmkit'])} | {_fmt(r['mae_x_lstmkit'])} |")
    return "\n".join(lines)


def machine(threads: int) -> str:
    """CPU model, cores, memory and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {mem_kb / 2**20:.0f} GiB RAM"
    except OSError:
        mem = ""
    versions = []
    for lib in LIBRARIES:
        try:
            versions.append(f"{lib} {metadata.version(lib)}")
        except metadata.PackageNotFoundError:
            pass
    return (f"{cpu}, {os.cpu_count()} vCPU{mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; {', '.join(versions)} ({lstmkit_commit()}); "
            f"{threads} threads per model")


def lstmkit_commit() -> str:
    """The checkout's commit, and whether src/ had uncommitted changes (lstmkit is installed
    editable, so they are part of what ran)."""
    root = HERE.parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root,
                               check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "lstmkit commit unknown"
    return f"lstmkit at {sha}" + (" with uncommitted changes in src/" if dirty else "")


def load_note(before: tuple[float, ...], after: tuple[float, ...]) -> str:
    """Load averages at the start and end of a dataset's runs."""
    return (f"load average (1/5/15 min) at start {before[0]:.2f}/{before[1]:.2f}/{before[2]:.2f},"
            f" at end {after[0]:.2f}/{after[1]:.2f}/{after[2]:.2f}")


def describe(task: Task) -> str:
    """One line: the configuration every model shared."""
    n = task.net
    return (f"{task.dataset}: lookback {n.lookback}, horizon {n.horizon}, {task.folds} "
            f"walk-forward fold(s) of {task.fold_length} steps (an origin every {n.horizon}), "
            f"LSTM {n.num_layers}x{n.hidden_size} (+ MLP {n.mlp_size} where the model has one), "
            f"batch {n.batch_size}, {n.steps} optimisation steps per fold, Adam lr {n.lr}, "
            f"MAE loss, {PRECISION_NAMES[n.precision]}, "
            + (f"dropout {n.dropout}, " if n.dropout else "")
            + (f"lstmkit rows on {n.processes} data-parallel processes, " if n.processes > 1
               else "")
            + ("lstmkit rows draw their windows at random, " if n.sampling == "random" else "")
            + (f"lstmkit rows are ensembles of {n.ensemble}, " if n.ensemble > 1 else "")
            + (f"lstmkit rows fit {n.fold_jobs} folds at once, " if n.fold_jobs > 1 else "")
            + f"seed {n.seed} + repeat index; "
            f"MASE scale: seasonal naive ({task.season}) in-sample error of each fold's "
            "training part; metrics are means over folds"
            + ("; VALIDATION folds: the series without its last "
               f"{task.held_out} rows (the test folds)" if task.held_out else ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", choices=sorted(DATASETS),
                        default=["air_passengers", "vic_electricity"])
    parser.add_argument("--models", nargs="+", choices=sorted(ADAPTERS), default=None,
                        help="default: every neural model and the dataset's classical ones")
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="optimisation steps per fold")
    parser.add_argument("--folds", type=positive_int, default=None)
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="Adam learning rate of every network (default 1e-3)")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="windows per optimisation step of every network "
                             "(default: 256 energy, 32 airline)")
    parser.add_argument("--hidden-size", type=positive_int, default=None,
                        help="LSTM hidden units per layer of every network (default 64)")
    parser.add_argument("--num-layers", type=positive_int, default=None,
                        help="stacked LSTM layers of every network (default 2)")
    parser.add_argument("--precision", choices=sorted(PRECISION_NAMES), default="float32",
                        help="bfloat16: every network trains in mixed precision (forward "
                             "under torch.autocast, weights float32)")
    parser.add_argument("--dropout", type=dropout_rate, default=0.0,
                        help="every network's own dropout at this rate (lstmkit: between "
                             "LSTM layers and in the decoder; NeuralForecast: encoder_dropout; "
                             "Darts: dropout; the raw loop: between LSTM layers)")
    parser.add_argument("--threads", type=positive_int, default=2)
    parser.add_argument("--processes", type=positive_int, default=1,
                        help="lstmkit rows train data-parallel on this many torchrun "
                             "processes with threads / processes threads each (the same "
                             "global batches); the other models ignore it")
    parser.add_argument("--sampling", choices=["epochs", "random"], default="epochs",
                        help="how lstmkit rows draw each batch's windows (TrainerConfig."
                             "sampling): every window once per epoch, or at random with "
                             "replacement as NeuralForecast does; the other models keep their "
                             "own way")
    parser.add_argument("--ensemble", type=positive_int, default=1,
                        help="lstmkit rows train this many networks and average their "
                             "forecasts (LSTMForecaster(ensemble=...)), side by side in "
                             "forked processes of one thread each (n_jobs = min(ensemble, "
                             "threads); one after another with --processes > 1)")
    parser.add_argument("--fold-jobs", type=positive_int, default=1,
                        help="lstmkit rows fit this many walk-forward folds at once in forked "
                             "processes of one thread each (lstmkit's fit_each, as "
                             "backtest(n_jobs=...) does; at most --threads); an ensemble's "
                             "members then train one after another in each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="1 repeat, 1 fold, at most 20 steps: checks the whole pipeline")
    parser.add_argument("--no-classical", action="store_true")
    parser.add_argument("--validation", action="store_true",
                        help="score on the folds one test period earlier (the series without "
                             "its last folds x fold_length rows): for choosing settings")
    parser.add_argument("--validation-folds", type=positive_int, default=None,
                        help="like --validation with this many folds before the test folds "
                             "(airline 5: 1953-1957, which holds the slow 1954)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child")
    parser.add_argument("--output", type=Path, default=HERE / "results")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the child results an interrupted run of the same "
                             "configuration left in --output (resume, or re-print tables)")
    parser.add_argument("--summarise-only", action="store_true",
                        help="run nothing: tables from the results already in --output")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--task-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.task_file, args.out, args.repeat)
        return
    if args.quick:
        args.repeats = 1
    command = shlex.join([os.path.relpath(sys.executable), os.path.relpath(__file__),
                          *sys.argv[1:]])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for dataset in args.dataset:
        task = make_task(dataset, args)
        names = args.models or [*NEURAL, *task.classical]
        out_dir = args.output / dataset
        out_dir.mkdir(parents=True, exist_ok=True)
        task_path = out_dir / "task.json"
        task_json = json.dumps(task.to_json(), indent=1)
        reusing = args.reuse or args.summarise_only
        # compared as Tasks: a file written before a setting existed reads it as its default
        if reusing and task_path.exists() and Task.from_json(
                json.loads(task_path.read_text())) != task:
            raise SystemExit(f"--reuse: {task_path} holds another configuration; drop --reuse "
                             "or use another --output")
        task_path.write_text(task_json)
        series = task_series(task)
        y = series["y"].to_numpy("float64")
        try:  # before any child runs: folds that do not fit the series stop here
            folds = make_folds(task, len(y))
        except DataValidationError as err:
            flag = "--validation-folds" if task.held_out else "--folds"
            raise SystemExit(f"{dataset}: {err} (here: lower {flag})") from None
        fold_starts = [f"{series['ds'].iloc[f.test_start]:%Y-%m-%d %H:%M}".removesuffix(" 00:00")
                       for f in folds]
        before = os.getloadavg()
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for repeat in range(args.repeats):
            for name in names:
                if args.summarise_only:
                    done = out_dir / f"{name}.r{repeat}.json"
                    if done.exists():
                        runs[name].append(json.loads(done.read_text()))
                    continue
                began = time.perf_counter()
                runs[name].append(run_child(name, task_path, out_dir, repeat, args.threads,
                                            args.timeout, args.reuse))
                print(f"[{dataset}] repeat {repeat + 1}/{args.repeats} {name}: "
                      f"{time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
        runs = {name: results for name, results in runs.items() if results}
        rows = summarise(task, y, runs)
        table = markdown(rows)
        text = "\n".join([
            f"## {dataset} ({stamp})", "", f"command: `{command}`", "",
            f"machine: {machine(args.threads)}", "",
            f"{load_note(before, os.getloadavg())}", "", describe(task), "",
            f"medians of {_repeats(runs)} repeat(s); × lk = ratio to "
            f"{ref['model'] if (ref := reference(rows)) else 'lstmkit (not run)'} in this run", "",
            table, "", paired(rows), "", by_fold(rows, fold_starts), ""])
        print(text, flush=True)
        (out_dir / "table.md").write_text(text)
        with open(out_dir / "table.csv", "w", newline="") as f:
            lists = ("mase_per_repeat", "fold_mase")
            writer = csv.DictWriter(f, fieldnames=[k for k in rows[0] if k not in lists],
                                    extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
