"""`lstmkit tune`: search forecaster hyperparameters by walk-forward CV (Optuna).

    lstmkit tune data.csv --time-col ds --target demand --horizon 48 --trials 50 \
        --storage tune.db --output runs/tune
    lstmkit tune --config examples/energy/tune.yaml --trials 8

Options given on the command line win over the --config YAML, which holds any forecast
option (the base model and the folds every trial is scored on) plus the tuning options
(trials, metric, timeout, storage, study_name, search_space, prune, startup_trials,
start_from_base). Writes OUTPUT/best_config.yaml (a complete forecast config:
`lstmkit forecast --config OUTPUT/best_config.yaml`) and OUTPUT/trials.csv. With --storage
the study is kept in an SQLite file and a rerun resumes it.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import optuna
import typer
from optuna.trial import FrozenTrial
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lstmkit.errors import LstmkitError
from lstmkit.tuning import TuneResult, read_tune_config
from lstmkit.tuning import tune as run_tune
from lstmkit.tuning.objective import ERROR
from lstmkit.tuning.results import BEST_CONFIG_FILE, TRIALS_FILE

console = Console()
RENAMES = {"past_cov": "past_covariates", "future_cov": "future_covariates",
           "epochs": "max_epochs"}


def tune(
    data: Path | None = typer.Argument(None, help="CSV or Parquet file (or use --dataset)."),
    dataset: str | None = typer.Option(None, help="A bundled dataset (lstmkit datasets list)."),
    config: Path | None = typer.Option(
        None, help="YAML with forecast options, tuning options and search_space."),
    output: Path = typer.Option(Path("runs/tune"), help="Folder for best_config.yaml, trials."),
    time_col: str | None = typer.Option(None, help="Time column (default ds)."),
    target: str | None = typer.Option(None, help="Column to forecast (default y)."),
    id_col: str | None = typer.Option(None, help="Series id column (long format)."),
    horizon: int | None = typer.Option(None, help="Steps to forecast (default 1)."),
    lookback: int | None = typer.Option(None, help="Base lookback (default 96)."),
    strategy: str | None = typer.Option(None, help="direct, recursive or seq2seq."),
    past_cov: list[str] = typer.Option([], help="Past-only covariate (repeatable)."),
    future_cov: list[str] = typer.Option([], help="Known-future covariate (repeatable)."),
    epochs: int | None = typer.Option(None, help="Maximum epochs per fit (default 20)."),
    train_stride: int | None = typer.Option(None, help="Use every n-th window (default 1)."),
    folds: int | None = typer.Option(None, help="Walk-forward folds (default 4)."),
    fold_length: int | None = typer.Option(None, help="Test steps per fold (default horizon)."),
    step: int | None = typer.Option(None, help="Steps between origins (default horizon)."),
    seed: int | None = typer.Option(None, help="Seed of the models and the sampler (default 0)."),
    trials: int | None = typer.Option(None, help="Finished trials to reach (default 20)."),
    timeout: float | None = typer.Option(None, help="Seconds after which no trial starts."),
    metric: str | None = typer.Option(None, help="CV metric to optimise (default mase)."),
    storage: str | None = typer.Option(
        None, help="SQLite file (e.g. tune.db) or database URL; a rerun resumes the study."),
    study_name: str | None = typer.Option(None, help="Default: named after the setup."),
    prune: bool | None = typer.Option(
        None, "--prune/--no-prune", help="Stop trials worse than the median at a fold."),
    startup_trials: int | None = typer.Option(
        None, help="Random trials before TPE and pruning start (default 5)."),
    start_from_base: bool | None = typer.Option(
        None, "--start-from-base/--no-start-from-base",
        help="Try the base config's values first (default on)."),
) -> None:
    """Search hyperparameters by walk-forward CV; save the best config and the trials."""
    values = {RENAMES.get(k, k): v for k, v in locals().items()
              if k not in ("data", "config", "output") and v is not None and v != []}
    if data is not None:
        values["data"] = str(data)
    try:
        base, options = read_tune_config(config, **values)
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # one line per trial below
        console.print(f"tuning {options.metric} over {options.trials} trial(s); "
                      f"storage: {options.storage or 'in memory (no resume)'}", markup=False)
        result = run_tune(base, **dataclasses.asdict(options), output=output,
                          on_trial=lambda trial: _trial_line(trial, options.metric))
    except LstmkitError as err:
        console.print(f"[bold red]error:[/] {escape(str(err))}")
        raise typer.Exit(code=1) from None
    _print_top(result)
    counts = result.trials["state"].value_counts().to_dict()
    console.print(
        f"best {result.metric} {result.best_value:.4g} (trial {result.best_trial}); trials: "
        + ", ".join(f"{n} {s.lower()}" for s, n in counts.items())
        + f"; study {result.study_name}", markup=False)
    console.print(f"wrote {output / BEST_CONFIG_FILE} and {output / TRIALS_FILE}; use it: "
                  f"lstmkit forecast --config {output / BEST_CONFIG_FILE}", markup=False)


def _trial_line(trial: FrozenTrial, metric: str) -> None:
    value = "" if trial.value is None else f" {metric} {trial.value:.4g}"
    seconds = ((trial.datetime_complete - trial.datetime_start).total_seconds()
               if trial.datetime_complete and trial.datetime_start else math.nan)
    error = trial.user_attrs.get(ERROR)
    console.print(f"trial {trial.number}: {trial.state.name.lower()}{value} ({seconds:.1f} s) "
                  f"{trial.params}" + (f" error: {error}" if error else ""), markup=False)


def _print_top(result: TuneResult, n: int = 10) -> None:
    top = result.top(n)
    fixed = {"number", "state", "value", "seconds", "error"}
    params = [c for c in top.columns if c not in fixed and not c.startswith("fold_")]
    table = Table(title=f"top {len(top)} trials by walk-forward CV {result.metric}")
    for column in ("rank", "trial", result.metric, "seconds", *params):
        table.add_column(column, justify="left" if column in params else "right",
                         overflow="fold")
    for rank, row in enumerate(top.to_dict("records"), start=1):
        table.add_row(str(rank), str(row["number"]), f"{row['value']:.4g}",
                      f"{row['seconds']:.1f}", *(_show(row[p]) for p in params))
    console.print(table)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return escape(str(value))
