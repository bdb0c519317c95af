"""Federated vs centralised training of the same LSTMForecaster, backtested on the same folds.

    python benchmarks/eval_federated.py                  # 12 US retail industries, 12 clients
    python benchmarks/eval_federated.py --clients 4      # the 12 series dealt to 4 clients
    python benchmarks/eval_federated.py --clients 4 --runs centralised fedprox --seed 1
    python benchmarks/eval_federated.py --clients 4 --runs centralised scaffold --seed 2
    python benchmarks/eval_federated.py --quick          # 4 series, 2 folds, few rounds
    python benchmarks/eval_federated.py --clients 4 --runs fedavg \
        --central-metrics runs/federated/metrics.csv     # reuse a finished centralised run

Data: monthly US employment in the 12 retail-trade industries of fpp3 `us_employment` that
run 1990-01 to 2019-09 (`lstmkit.data.datasets`, extra `datasets`). Each client holds its own
industries' rows; the centralised model sees all of them. Both get the same hyperparameters
and, by default, as many rounds as the centralised model has epochs (each round: 2 local
epochs on every client); both keep the weights with the lowest validation loss.
Walk-forward folds of 12 months, one 12-month forecast per series and fold; MASE against the
yearly seasonal naive. Prints a Markdown table (plus the statistical baselines on the same
folds) and writes the metrics to --output.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import pandas as pd
import torch

from lstmkit.data import datasets
from lstmkit.evaluation.backtest import backtest
from lstmkit.federated import FederatedForecaster
from lstmkit.models.forecaster import LSTMForecaster

RUNS = ("centralised", "fedavg", "fedprox", "scaffold")
MODEL = dict(lookback=36, horizon=12, hidden_size=64, num_layers=2, batch_size=64, lr=3e-3,
             calendar=True, seed=0, validation_fraction=0.1, progress=False)


def retail(n: int | None) -> pd.DataFrame:
    """The retail-trade industries observed 1990-01 to 2019-09 (the first `n` by id)."""
    df = datasets.load("us_employment")
    df = df[df["title"].str.startswith("Retail Trade:")]
    span = df.groupby("series_id")["ds"].agg(["min", "max"])
    keep = span[(span["min"] == "1990-01-01") & (span["max"] == "2019-09-01")].index
    keep = sorted(keep)[:n] if n else sorted(keep)
    return df[df["series_id"].isin(keep)].reset_index(drop=True)


def run(name: str, model: LSTMForecaster | None, data: pd.DataFrame, folds: int,
        baselines: str | tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict]:
    started = time.perf_counter()
    result = backtest(model, data, target="employed", id_col="series_id", folds=folds,
                      baselines=baselines, metrics=("mae", "rmse", "mase"))
    seconds = time.perf_counter() - started
    metrics = result.metrics.copy()
    if model is not None:
        metrics.loc[metrics["model"] == model.cell, "model"] = name
    return metrics, {"name": name, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=None, help="first n industries")
    parser.add_argument("--clients", type=int, default=None, help="default: one per series")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--local-epochs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None,
                        help="centralised epochs (default: --rounds)")
    parser.add_argument("--mu", type=float, default=0.01, help="FedProx proximal weight")
    parser.add_argument("--dp-epsilon", type=float, nargs="*", default=[],
                        help="also run FedAvg with client-level DP at these per-round epsilons")
    parser.add_argument("--dp-clip", type=float, default=0.5)
    parser.add_argument("--runs", nargs="*", default=list(RUNS), choices=RUNS)
    parser.add_argument("--central-metrics", type=Path, default=None,
                        help="metrics.csv of an earlier run with the centralised model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=Path("runs/federated"))
    args = parser.parse_args()
    if args.quick:
        args.series, args.folds, args.rounds = args.series or 4, 2, 6
    torch.set_num_threads(2)
    MODEL["seed"] = args.seed
    data = retail(args.series)
    epochs = args.epochs or args.rounds
    fed = dict(clients=args.clients, rounds=args.rounds, local_epochs=args.local_epochs)
    runs = [run for run in [
        ("centralised", LSTMForecaster(max_epochs=epochs, **MODEL), "all"),
        ("fedavg", FederatedForecaster(**fed, **MODEL), ()),
        ("fedprox", FederatedForecaster(**fed, aggregation="fedprox", proximal_mu=args.mu,
                                        **MODEL), ()),
        ("scaffold", FederatedForecaster(**fed, aggregation="scaffold", **MODEL), ()),
    ] if run[0] in args.runs] + [
        (f"fedavg_dp_eps{eps:g}", FederatedForecaster(
            **fed, dp={"clip_norm": args.dp_clip, "epsilon": eps, "delta": 1e-5}, **MODEL), ())
        for eps in args.dp_epsilon
    ]
    tables, timings = [], []
    for name, model, baselines in runs:
        metrics, timing = run(name, model, data, args.folds, baselines)
        print(f"{name}: {timing['seconds']:.0f} s", flush=True)
        tables.append(metrics)
        timings.append(timing)
    if args.central_metrics is not None:  # its centralised model and baselines
        earlier = pd.read_csv(args.central_metrics)
        tables.append(earlier[~earlier["model"].str.startswith("fed")])
    metrics = pd.concat(tables, ignore_index=True)
    args.output.mkdir(parents=True, exist_ok=True)
    metrics.to_csv(args.output / "metrics.csv", index=False)
    summary = (metrics.pivot_table(index="model", columns="metric", values="value",
                                   aggfunc="mean").sort_values("mase"))
    central = summary["mase"].get("centralised", float("nan"))
    seconds = {t["name"]: t["seconds"] for t in timings}
    print(f"\n{data['series_id'].nunique()} series, {args.clients or 'one per series'} "
          f"client(s), {args.folds} folds x 12 months, {args.rounds} rounds x "
          f"{args.local_epochs} local epoch(s), centralised {epochs} epochs; "
          f"torch {torch.__version__}, {platform.machine()}, {torch.get_num_threads()} threads\n")
    print("| model | MASE | MAE | RMSE | MASE / centralised | wall s |")
    print("|---|---|---|---|---|---|")
    for name, row in summary.iterrows():
        wall = f"{seconds[name]:.0f}" if name in seconds else ""
        print(f"| {name} | {row['mase']:.3f} | {row['mae']:.2f} | {row['rmse']:.2f} | "
              f"{row['mase'] / central:.3f} | {wall} |")
    (args.output / "summary.json").write_text(json.dumps(
        {"args": {k: str(v) for k, v in vars(args).items()}, "seconds": seconds,
         "mase": summary["mase"].to_dict()}, indent=2))


if __name__ == "__main__":
    main()
