"""`lstmkit explain`: why a saved forecaster forecasts what it does.

Writes to --output: importance.csv (permutation importance of the features and of blocks of
lookback steps), attributions.csv (integrated gradients of the forecast at --origin, one row
per input cell), attention.csv (models with attention) and explain.html.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lstmkit.errors import ConfigError, LstmkitError

console = Console()


def _fail(err: LstmkitError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(err))}")
    raise typer.Exit(code=1)


def explain(
    model: Path = typer.Argument(..., help="A forecaster folder saved by lstmkit forecast."),
    data: Path = typer.Argument(..., help="CSV or Parquet file with observed history."),
    output: Path = typer.Option(Path("runs/explain"), help="Folder for the CSVs and HTML."),
    origin: str | None = typer.Option(
        None, help="Time of the first step of the forecast to attribute (default: latest)."),
    series: str | None = typer.Option(None, help="Series id (models of many series)."),
    repeats: int = typer.Option(5, help="Shuffles per feature for permutation importance."),
    metric: str = typer.Option("mae", help="mae or rmse."),
    time_block: int | None = typer.Option(
        None, help="Lookback steps shuffled together (default lookback / 24)."),
    max_origins: int = typer.Option(256, min=2, help="Origins scored for importance."),
    attention_origins: int = typer.Option(24, min=1, help="Origins in the attention map."),
    seed: int = typer.Option(0, help="Seed of the shuffles."),
) -> None:
    """Permutation importance, integrated gradients and attention maps of a forecaster."""
    from lstmkit.explain import explain_model
    from lstmkit.io import load
    from lstmkit.models.forecaster import LSTMForecaster

    try:
        forecaster = load(model)
        if not isinstance(forecaster, LSTMForecaster):
            raise ConfigError(f"{model} holds a {type(forecaster).__name__}, not a forecaster")
        with console.status("explaining..."):
            result = explain_model(
                forecaster, data, origin, series=series, repeats=repeats, metric=metric,
                time_block=time_block, max_origins=max_origins,
                attention_origins=attention_origins, seed=seed)
        written = result.to_csv(output)
        written.append(result.report(output / "explain.html",
                                     title=f"Forecast explanation: {model.name}"))
    except LstmkitError as err:
        _fail(err)
    imp = result.importance
    table = Table(title=f"permutation importance (increase of {imp.metric}, baseline "
                        f"{imp.baseline:.4g}, {imp.n_origins} origins)")
    for column in ("feature", "kind", "importance", "std"):
        table.add_column(column, justify="left" if column in ("feature", "kind") else "right")
    for row in imp.features.head(10).itertuples():
        table.add_row(escape(row.feature), row.kind, f"{row.importance_mean:.4g}",
                      f"{row.importance_std:.2g}")
    console.print(table)
    console.print(f"wrote {', '.join(p.name for p in written)} to {output}", markup=False)
