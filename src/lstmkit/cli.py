"""`lstmkit` command line: thin wrappers over the Python API."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lstmkit import __version__
from lstmkit.allocator import keep_freed_memory
from lstmkit.errors import ConfigError, LstmkitError

app = typer.Typer(help="LSTM networks for sequential data.", no_args_is_help=True)
console = Console()


def _fail(err: LstmkitError) -> None:
    """Print an error on one line, unwrapped, so paths and names in it stay whole (its text
    may hold brackets, e.g. pip extras, that Rich must not parse)."""
    console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
    raise typer.Exit(code=1)


@app.command()
def version() -> None:
    """Print the lstmkit version."""
    console.print(__version__)


@app.command()
def demo(
    output: Path = typer.Option(Path("runs/demo"), help="Folder for the model and metrics."),
    samples: int = typer.Option(4000, min=16, help="Number of synthetic sequences."),
    length: int = typer.Option(30, min=2, help="Steps per sequence."),
    epochs: int = typer.Option(15, min=1, help="Maximum training epochs."),
    hidden_size: int = typer.Option(32, min=1, help="LSTM hidden units."),
    cell: str = typer.Option("lstm", help="lstm, peephole or gru."),
    seed: int = typer.Option(0, help="One seed for data, weights and shuffling."),
) -> None:
    """Train an LSTM on the (synthetic) adding problem and compare it with baselines."""
    from lstmkit.demo import run_demo

    try:
        metrics = run_demo(output, samples, length, epochs, hidden_size, cell, seed)
    except LstmkitError as err:
        _fail(err)
    table = Table(title=metrics["task"])
    table.add_column("model")
    table.add_column("test MSE", justify="right")
    for name, value in sorted(metrics["mse"].items(), key=lambda kv: kv[1]):
        table.add_row(name, f"{value:.5f}")
    console.print(table)
    console.print(
        f"{metrics['epochs_run']} epochs in {metrics['fit_seconds']} s; model saved to "
        f"{metrics['model_path']} (reloaded: max |Δ prediction| = "
        f"{metrics['reloaded_model_max_abs_difference']:.1e}); metrics in {output}/metrics.json"
    )


@app.command()
def info(model: Path = typer.Argument(..., help="A saved model folder.")) -> None:
    """Show what a saved model is: kind, versions, configuration."""
    from lstmkit.io import read_state

    try:
        state = read_state(model)
    except LstmkitError as err:
        _fail(err)
    console.print(f"kind: {state.kind}   written by lstmkit {state.lstmkit_version}")
    console.print(f"tensors: {len(state.tensors)}, parameters: "
                  f"{sum(t.numel() for t in state.tensors.values()):,}")
    console.print_json(json.dumps(state.config))


datasets_app = typer.Typer(help="Real datasets: list, describe, export.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


def _text_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for column in header:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


@datasets_app.command("list")
def datasets_list() -> None:
    """List the real datasets lstmkit can load."""
    from lstmkit.data.datasets import list_datasets

    table = Table(title="datasets")
    for column in ("name", "rows", "frequency", "source", "licence"):
        table.add_column(column, justify="right" if column == "rows" else "left",
                         no_wrap=column == "name")
    for info in list_datasets():
        table.add_row(info.name, f"{info.rows:,}", info.frequency, info.source, info.licence)
    console.print(table)


@datasets_app.command("describe")
def datasets_describe(
    name: str = typer.Argument(..., help="Dataset name (see `lstmkit datasets list`)."),
) -> None:
    """Show a dataset's source, licence, columns, first rows and summary statistics."""
    from lstmkit.data.datasets import describe, load

    try:
        info = describe(name)
        frame = load(name)
    except LstmkitError as err:
        _fail(err)
    usage = f"time_col={info.time_col!r}, target={info.target!r}"
    if info.id_col:
        usage += f", id_col={info.id_col!r}"
    lines = [
        f"{info.name}: {info.description}",
        f"source: {info.source}",
        f"licence: {info.licence}",
        f"rows: {len(frame):,}   frequency: {info.frequency or 'not a time series'}   "
        f"columns: {', '.join(info.columns)}",
        f"load_series: {usage}" + (f"   (needs: pip install \"lstmkit[{info.extra}]\")"
                                      if info.extra else "   (bundled with lstmkit)"),
    ]
    console.print("\n".join(lines), markup=False, highlight=False)
    head = frame.head().astype(str)
    console.print(_text_table("first rows", list(head.columns), head.values.tolist()))
    stats = [
        [str(column), f"{values.count():,}"]
        + [f"{x:.4g}" for x in (values.mean(), values.std(), values.min(), values.max())]
        for column, values in frame.select_dtypes("number").items()
    ]
    console.print(_text_table("summary", ["column", "count", "mean", "std", "min", "max"], stats))


@datasets_app.command("export")
def datasets_export(
    name: str = typer.Argument(..., help="Dataset name (see `lstmkit datasets list`)."),
    output: Path = typer.Option(..., help="Where to write: .csv or .parquet."),
    overwrite: bool = typer.Option(False, help="Replace an existing file."),
) -> None:
    """Write a dataset to a CSV or Parquet file."""
    from lstmkit.data.datasets import load

    if output.exists() and not overwrite:
        _fail(LstmkitError(f"{output} exists; pass --overwrite to replace it"))
    if output.suffix.lower() not in (".csv", ".parquet"):
        _fail(LstmkitError(f"--output must end in .csv or .parquet, got {output.name!r}"))
    try:
        frame = load(name)
    except LstmkitError as err:
        _fail(err)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".csv":
        frame.to_csv(output, index=False)
    else:
        frame.to_parquet(output, index=False)
    console.print(f"wrote {len(frame):,} rows of {name} to {output}")



def _forecast_options(
    data: Path | None, dataset: str | None, config: Path | None, values: dict[str, Any]
) -> Any:
    """ForecastConfig from defaults < YAML config < options given on the command line."""
    from lstmkit.forecast_job import ForecastConfig, parse_fourier

    given = {k: v for k, v in values.items() if v is not None and v != []}
    if data is not None:
        given["data"] = str(data)
    if dataset is not None:
        given["dataset"] = dataset
    if "fourier" in given:
        given["fourier"] = parse_fourier(given["fourier"])
    if config is not None:
        return ForecastConfig.from_yaml(config, **given)
    return ForecastConfig.from_dict(given)


def _run_forecast_command(cfg: Any, output: Path) -> None:
    from lstmkit.forecast_job import run_forecast

    with console.status("working...") as status:
        summary = run_forecast(cfg, output, say=lambda msg: status.update(escape(msg)))
    _print_comparison(summary["table"])
    if "trading" in summary:
        _print_trading(summary["trading"])
    console.print(f"backtest took {summary['backtest_seconds']:.0f} s; results in {output}/ "
                  "(metrics.csv, forecasts.csv, report.html, config.yaml)")
    if "model_path" in summary:
        console.print(f"model saved to {summary['model_path']}")
    if "forecast_path" in summary:
        console.print(f"future forecast written to {summary['forecast_path']}")
    if "future_note" in summary:
        console.print(escape(summary["future_note"]))


def _print_trading(table: Any) -> None:
    out = Table(title="long/flat on the forecast's sign, all folds in a row, after costs")
    for column in table.columns:
        out.add_column(column, justify="left" if column == "model" else "right")
    for _, row in table.iterrows():
        out.add_row(escape(str(row["model"])), *(
            f"{row[c]:.0f}" if c in ("periods", "trades") else f"{row[c]:.3f}"
            for c in table.columns[1:]))
    console.print(out)


_HEADLINE = ("mase", "mae", "rmse", "smape", "coverage_", "crps", "hit_rate")


def _print_comparison(table: Any) -> None:
    """The ranked table with the headline metrics (every metric is in metrics.csv)."""
    metrics = [c[:-5] for c in table.columns if c.endswith("_mean")]
    shown = [m for key in _HEADLINE for m in metrics if m == key or
             (key.endswith("_") and m.startswith(key))][:6] or metrics[:6]
    out = Table(title="walk-forward backtest (mean ± std over folds)",
                caption="every metric per fold: metrics.csv")
    out.add_column("rank", justify="right")
    out.add_column("model")
    for name in shown:
        out.add_column(name.upper(), justify="right")
    for _, row in table.iterrows():
        out.add_row(str(row["rank"]), escape(str(row["model"])), *(
            f"{row[m + '_mean']:.4g} ± {row[m + '_std']:.2g}" for m in shown))
    console.print(out)


_DATA_ARG = typer.Argument(None, help="CSV or Parquet file (or use --dataset).")
_NPROC_OPTION = typer.Option(
    None, "--nproc", min=1,
    help="Train data-parallel on N local processes (torchrun, gloo/nccl); rank 0 writes.")


@app.command()
def forecast(
    data: Path | None = _DATA_ARG,
    dataset: str | None = typer.Option(None, help="A bundled dataset (lstmkit datasets list)."),
    config: Path | None = typer.Option(None, help="YAML file with any of these options."),
    output: Path = typer.Option(Path("runs/forecast"), help="Folder for every result."),
    time_col: str | None = typer.Option(None, help="Time column (default ds)."),
    target: str | None = typer.Option(None, help="Column to forecast (default y)."),
    id_col: str | None = typer.Option(None, help="Series id column (long format)."),
    freq: str | None = typer.Option(None, help="Frequency alias when it cannot be inferred."),
    fill_gaps: str | None = typer.Option(
        None, help="ffill or zero (causal); interpolate reads the next value."),
    impute: str | None = typer.Option(
        None, help="ffill or zero (causal); interpolate and mean read later values."),
    future: str | None = typer.Option(None, help="CSV of known-future covariates ahead."),
    horizon: int | None = typer.Option(None, help="Steps to forecast (default 1)."),
    lookback: int | None = typer.Option(None, help="Observed steps per window (default 96)."),
    strategy: str | None = typer.Option(None, help="direct, recursive or seq2seq."),
    cell: str | None = typer.Option(None, help="lstm, gru or peephole."),
    hidden_size: int | None = typer.Option(None, help="Hidden units (default 64)."),
    num_layers: int | None = typer.Option(None, help="Stacked layers (default 2)."),
    dropout: float | None = typer.Option(None, help="Dropout between layers (default 0)."),
    attention: str | None = typer.Option(None, help="additive or dot."),
    past_cov: list[str] = typer.Option([], help="Past-only covariate (repeatable)."),
    future_cov: list[str] = typer.Option([], help="Known-future covariate (repeatable)."),
    fourier: list[str] = typer.Option([], help="PERIOD:ORDER Fourier terms (repeatable)."),
    loss: str | None = typer.Option(None, help="mae, mse or huber."),
    likelihood: str | None = typer.Option(
        None, help="quantile or gaussian: adds prediction intervals."),
    quantiles: str | None = typer.Option(
        None, help="Quantile levels, comma-separated (default 0.1,0.5,0.9)."),
    epochs: int | None = typer.Option(None, help="Maximum training epochs (default 20)."),
    batch_size: int | None = typer.Option(None, help="Windows per batch (default 256)."),
    lr: float | None = typer.Option(None, help="Learning rate (default 3e-3)."),
    train_stride: int | None = typer.Option(None, help="Use every n-th window (default 1)."),
    seed: int | None = typer.Option(None, help="Seed for weights and shuffling (default 0)."),
    precision: str | None = typer.Option(
        None, help="float32 (default) or bfloat16: mixed-precision training."),
    ensemble: int | None = typer.Option(
        None, help="Networks trained with their own seeds; forecasts averaged (default 1)."),
    n_jobs: int | None = typer.Option(
        None, help="Ensemble members trained at once in forked processes (default 1)."),
    folds: int | None = typer.Option(None, help="Walk-forward folds (default 4)."),
    fold_length: int | None = typer.Option(None, help="Test steps per fold (default horizon)."),
    step: int | None = typer.Option(None, help="Steps between origins (default horizon)."),
    gap: int | None = typer.Option(None, help="Steps between train and test (default 0)."),
    window: str | None = typer.Option(None, help="expanding or sliding."),
    refit: bool | None = typer.Option(None, "--refit/--no-refit", help="Train per fold."),
    fold_jobs: int | None = typer.Option(
        None, help="Backtest folds trained at once in forked processes (default 1)."),
    baselines: str | None = typer.Option(None, help="all, none, or names separated by commas."),
    season: int | None = typer.Option(None, help="Season for MASE and seasonal naive."),
    ticker: list[str] = typer.Option(
        [], help="Market data: the ticker to forecast, then related ones (repeatable)."),
    sentiment: str | None = typer.Option(
        None, help="Market data: CSV of dates and values joined as past covariates."),
    trading_cost_bps: float | None = typer.Option(
        None, help="Long/flat strategy on one-step return forecasts, cost per trade."),
    start: str | None = typer.Option(None, help="Keep rows from this date on."),
    end: str | None = typer.Option(None, help="Keep rows up to this date."),
    nproc: int | None = _NPROC_OPTION,
) -> None:
    """Backtest an LSTM against baselines, write the report, train, save and forecast."""
    values = dict(locals())
    for key in ("data", "dataset", "config", "output", "nproc"):
        values.pop(key)
    _forecast_main(data, dataset, config, output, values, backtest_only=False, nproc=nproc)


def _forecast_main(data: Path | None, dataset: str | None, config: Path | None, output: Path,
                   values: dict[str, Any], backtest_only: bool, nproc: int | None) -> None:
    renames = {"past_cov": "past_covariates", "future_cov": "future_covariates",
               "epochs": "max_epochs", "ticker": "tickers"}
    values = {renames.get(k, k): v for k, v in values.items()}
    if isinstance(values.get("baselines"), str) and values["baselines"] != "all":
        names = [b.strip() for b in values["baselines"].split(",") if b.strip()]
        values["baselines"] = "none" if names in ([], ["none"]) else names
    if backtest_only:
        values["backtest_only"] = True
    if isinstance(values.get("quantiles"), str):
        try:
            values["quantiles"] = [float(q) for q in values["quantiles"].split(",")]
        except ValueError:
            _fail(ConfigError(f"--quantiles takes numbers such as 0.1,0.5,0.9, got "
                              f"{values['quantiles']!r}"))
    try:
        cfg = _forecast_options(data, dataset, config, values)
        _run_forecast_on_ranks(cfg, output, nproc)
    except LstmkitError as err:
        _fail(err)


def _check_for_ranks(cfg: Any) -> None:
    """Refuse, in one line before torchrun starts, a bad model setting (else every rank
    raises it) and the options that fork workers, which cannot run inside the ranks."""
    model = cfg.model()
    model._check_params()
    forking = [f"--n-jobs {model.n_jobs}"] if model.n_jobs > 1 and model.ensemble > 1 else []
    forking += [f"--fold-jobs {cfg.fold_jobs}"] if cfg.fold_jobs > 1 else []
    if forking:
        raise ConfigError(f"{' and '.join(forking)}: forked worker processes cannot run inside "
                          "torchrun's data-parallel ranks; drop --nproc, or set n_jobs and "
                          "fold_jobs to 1")


def _run_forecast_on_ranks(cfg: Any, output: Path, nproc: int | None) -> None:
    """Run the job here; with --nproc N > 1 relaunch it on N processes through torchrun.

    Under torchrun every rank runs the whole job (each training is data-parallel) and only
    rank 0 writes `output` and prints; the other ranks write into a scratch folder.
    """
    import tempfile

    from lstmkit.training import distributed

    if cfg.federated is not None and (nproc not in (None, 1)
                                      or distributed.launched_by_torchrun()):
        raise ConfigError("a federated config trains in Flower's simulation (one process per "
                          "client), not under torchrun: drop --nproc or the federated block")
    if nproc not in (None, 1) or distributed.launched_by_torchrun():
        _check_for_ranks(cfg)
    if not distributed.launched_by_torchrun():
        if nproc is None or nproc == 1:
            _run_forecast_command(cfg, output)
        else:
            _launch_forecast(cfg, output, nproc)
        return
    local = os.environ.get("LOCAL_WORLD_SIZE")
    if nproc is not None and str(nproc) != local:
        raise ConfigError(f"--nproc {nproc} but torchrun started {local} processes on this "
                          "node; drop --nproc when launching with torchrun")
    ctx = distributed.detect(None)
    if ctx is None or ctx.is_main:
        _run_forecast_command(cfg, output)
    else:
        from lstmkit.forecast_job import run_forecast

        with tempfile.TemporaryDirectory() as scratch:
            run_forecast(cfg, scratch)


def _launch_forecast(cfg: Any, output: Path, nproc: int) -> None:
    """`torch.distributed.run --standalone --nproc-per-node N -m lstmkit forecast` with
    the resolved options in a temporary YAML file; exits with its status."""
    import subprocess
    import tempfile

    import yaml

    from lstmkit.training import distributed

    with tempfile.TemporaryDirectory() as tmp:
        options = Path(tmp) / "config.yaml"
        options.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
        args = ["forecast", "--config", str(options), "--output", str(output)]
        code = subprocess.call(distributed.torchrun_command(nproc, "lstmkit", args))
    if code:
        raise typer.Exit(code)


@app.command(name="backtest", context_settings={"allow_extra_args": False})
def backtest_command(
    data: Path | None = _DATA_ARG,
    dataset: str | None = typer.Option(None, help="A bundled dataset."),
    config: Path | None = typer.Option(None, help="YAML file with the forecast options."),
    output: Path = typer.Option(Path("runs/backtest"), help="Folder for every result."),
    time_col: str | None = typer.Option(None, help="Time column (default ds)."),
    target: str | None = typer.Option(None, help="Column to forecast (default y)."),
    id_col: str | None = typer.Option(None, help="Series id column (long format)."),
    horizon: int | None = typer.Option(None, help="Steps to forecast (default 1)."),
    lookback: int | None = typer.Option(None, help="Observed steps per window (default 96)."),
    past_cov: list[str] = typer.Option([], help="Past-only covariate (repeatable)."),
    future_cov: list[str] = typer.Option([], help="Known-future covariate (repeatable)."),
    epochs: int | None = typer.Option(None, help="Maximum training epochs (default 20)."),
    folds: int | None = typer.Option(None, help="Walk-forward folds (default 4)."),
    fold_length: int | None = typer.Option(None, help="Test steps per fold (default horizon)."),
    step: int | None = typer.Option(None, help="Steps between origins (default horizon)."),
    refit: bool | None = typer.Option(None, "--refit/--no-refit", help="Train per fold."),
    fold_jobs: int | None = typer.Option(
        None, help="Backtest folds trained at once in forked processes (default 1)."),
    baselines: str | None = typer.Option(None, help="all, none, or names separated by commas."),
    seed: int | None = typer.Option(None, help="Seed (default 0)."),
    nproc: int | None = _NPROC_OPTION,
) -> None:
    """Walk-forward backtest only (no final model); every other option via --config."""
    values = dict(locals())
    for key in ("data", "dataset", "config", "output", "nproc"):
        values.pop(key)
    _forecast_main(data, dataset, config, output, values, backtest_only=True, nproc=nproc)


@app.command()
def predict(
    model: Path = typer.Argument(..., help="A model folder saved by lstmkit forecast."),
    data: Path | None = typer.Argument(None, help="Recent history (default: the training tail)."),
    future: Path | None = typer.Option(None, help="CSV of known-future covariates ahead."),
    output: Path = typer.Option(Path("forecast.csv"), help="Where to write the forecast."),
) -> None:
    """Forecast the next horizon with a saved model and write a CSV."""
    import pandas as pd

    from lstmkit.io import load as load_model
    from lstmkit.models.forecaster import LSTMForecaster

    try:
        forecaster = load_model(model)
        if not isinstance(forecaster, LSTMForecaster):
            raise ConfigError(f"{model} holds a {type(forecaster).__name__}, not a forecaster")
        future_frame = pd.read_csv(future) if future is not None else None
        result = forecaster.predict(None if data is None else data, future=future_frame)
    except LstmkitError as err:
        _fail(err)
    output.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(output, index=forecaster.id_col_ is None)
    console.print(f"wrote {len(result)} forecast rows to {output}")


from lstmkit.commands.classify import classify_app  # noqa: E402
from lstmkit.commands.detect import detect  # noqa: E402
from lstmkit.commands.explain import explain  # noqa: E402
from lstmkit.commands.export import export  # noqa: E402
from lstmkit.commands.federated import federated_app  # noqa: E402
from lstmkit.commands.serve import serve  # noqa: E402
from lstmkit.commands.tune import tune  # noqa: E402

app.add_typer(classify_app, name="classify")
app.command("detect")(detect)
app.command("explain")(explain)
app.command("export")(export)
app.add_typer(federated_app, name="federated")
app.command("serve")(serve)
app.command("tune")(tune)


def main() -> None:
    """Console entry point: keep freed memory in the process (`lstmkit.allocator`), run the app.

    Set LSTMKIT_MALLOC_TUNING=0 to keep glibc's allocator as it is.
    """
    keep_freed_memory()
    app()


if __name__ == "__main__":
    main()
