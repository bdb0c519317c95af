"""`lstmkit` command line: thin wrappers over the Python API."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lstmkit import __version__
from lstmkit.errors import LstmkitError

app = typer.Typer(help="LSTM networks for sequential data.", no_args_is_help=True)
console = Console()


def _fail(err: LstmkitError) -> None:
    """Print an error (its text may hold brackets, e.g. pip extras, that Rich must not parse)."""
    console.print(f"[bold red]error:[/] {escape(str(err))}")
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
        f"rows: {len(frame):,}   frequency: {info.frequency}   columns: {', '.join(info.columns)}",
        f"load_series: {usage}   (needs: pip install \"lstmkit[{info.extra}]\")",
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


# glibc returns large freed blocks to the OS and faults them in again on the next training
# step; keeping them measured 54.3 -> 37.0 ms per nn.LSTM training step (README, "Speed").
# These variables only take effect at process start, hence the re-exec.
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000"}


def main() -> None:
    """Console entry point: restart once with glibc's thresholds raised, then run the app.

    Set LSTMKIT_MALLOC_TUNING=0 to keep the allocator as it is.
    """
    wanted = os.environ.get("LSTMKIT_MALLOC_TUNING", "1") != "0"
    missing = {k: v for k, v in MALLOC_SETTINGS.items() if k not in os.environ}
    if wanted and missing and sys.platform.startswith("linux"):
        env = {**os.environ, **missing}
        os.execve(sys.executable, [sys.executable, "-m", "lstmkit.cli", *sys.argv[1:]], env)
    app()


if __name__ == "__main__":
    app()
