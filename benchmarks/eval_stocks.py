"""Stock case study: print the walk-forward and trading tables of runs as Markdown.

    python benchmarks/eval_stocks.py                       # run examples/stocks/forecast.yaml
    python benchmarks/eval_stocks.py --seeds 0 1 2         # the LSTM with several seeds
    python benchmarks/eval_stocks.py --reuse runs/stocks   # tables of a finished run

Each seed is a backtest-only run of the config (the baselines do not depend on the seed)
written to ``OUTPUT/seed{n}``; the tables show seed 0's baselines and, per seed, the LSTM.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from lstmkit.evaluation.compare import comparison_table
from lstmkit.forecast_job import ForecastConfig, run_forecast

CONFIG = Path("examples/stocks/forecast.yaml")
METRICS = ("mae", "rmse", "mase", "r2", "hit_rate", "sharpe")
TRADING = ("hit_rate", "total_return", "annualized_return", "sharpe", "max_drawdown",
           "trades", "exposure")


def run(config: Path, output: Path, seed: int) -> Path:
    """One backtest-only run of `config` with `seed`; returns its folder."""
    folder = output / f"seed{seed}"
    options = dataclasses.replace(ForecastConfig.from_yaml(config), seed=seed,
                                  backtest_only=True)
    started = time.perf_counter()
    run_forecast(options, folder)
    print(f"seed {seed}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return folder


def _name(model: str, label: str) -> str:
    """The LSTM's row carries the seed label (the baselines do not depend on it)."""
    return model + label if model == "lstm" else model


def fold_table(folder: Path, label: str = "") -> list[str]:
    """Markdown rows: mean ± std over folds of every metric, per model, ranked by MASE."""
    table = comparison_table(pd.read_csv(folder / "metrics.csv"))
    lines = []
    for _, row in table.iterrows():
        cells = [f"{row[m + '_mean']:.4g} ± {row[m + '_std']:.2g}"
                 if m + "_mean" in row else "" for m in METRICS]
        lines.append(f"| {_name(row['model'], label)} | " + " | ".join(cells) + " |")
    return lines


def trading_rows(folder: Path, label: str = "", models: set[str] | None = None) -> list[str]:
    """Markdown rows of trading.csv (all folds in a row)."""
    table = pd.read_csv(folder / "trading.csv")
    if models is not None:
        table = table[table["model"].isin(models)]
    return [f"| {_name(row['model'], label)} | " + " | ".join(
        f"{row[c]:.0f}" if c == "trades" else f"{row[c]:.3f}" for c in TRADING) + " |"
        for _, row in table.iterrows()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--output", type=Path, default=Path("runs/stocks_eval"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--reuse", type=Path, default=None, help="a finished run folder")
    args = parser.parse_args()
    torch.set_num_threads(1)
    folders = ([args.reuse] if args.reuse is not None
               else [run(args.config, args.output, s) for s in args.seeds])
    labels = [""] if args.reuse is not None else [f" (seed {s})" for s in args.seeds]
    print(f"command: {' '.join(sys.argv)}  |  {platform.machine()}, {platform.system()}, "
          f"torch {torch.__version__}\n")
    print("| model | " + " | ".join(METRICS) + " |\n|---|" + "---:|" * len(METRICS))
    for k, (folder, label) in enumerate(zip(folders, labels, strict=True)):
        print("\n".join(r for r in fold_table(folder, label)
                        if k == 0 or r.startswith("| lstm")))
    print("\n| strategy | " + " | ".join(TRADING) + " |\n|---|" + "---:|" * len(TRADING))
    for k, (folder, label) in enumerate(zip(folders, labels, strict=True)):
        print("\n".join(trading_rows(folder, label, None if k == 0 else {"lstm"})))

if __name__ == "__main__":
    main()
