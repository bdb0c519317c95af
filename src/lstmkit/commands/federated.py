"""`lstmkit federated app|localise`: run a federation as real Flower processes.

`app` writes the Flower App that `flwr run` submits to a SuperLink; every SuperNode names its
own data file; the ServerApp writes the chosen global weights to --result. `localise` turns
that result into a model of one client's series, with scalers fitted on the client's rows.
Training in Flower's simulation needs neither: put a `federated:` block in the forecast config.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from lstmkit.errors import ConfigError, LstmkitError

console = Console()
federated_app = typer.Typer(help="Federated training as real Flower server/client processes.",
                            no_args_is_help=True)


def _fail(err: LstmkitError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(err))}")
    raise typer.Exit(code=1)


@federated_app.command("app")
def app_command(
    config: Path = typer.Option(..., help="Forecast YAML with the model and a federated block "
                                          "(its data keys are not used)."),
    clients: int = typer.Option(..., help="SuperNodes taking part (every one, every round)."),
    output: Path = typer.Option(..., help="Folder for the Flower App (pyproject.toml)."),
    result: Path = typer.Option(..., help="Folder where the ServerApp writes the global "
                                          "weights (absolute, on the SuperLink's machine)."),
    freq: str | None = typer.Option(None, help="Frequency of the clients' data (default: the "
                                               "config's freq)."),
) -> None:
    """Write the Flower App of a federated forecaster for `flwr run`."""
    try:
        from lstmkit.federated import FederatedForecaster
        from lstmkit.federated.deploy import write_app
        from lstmkit.forecast_job import ForecastConfig, merged_config

        job = ForecastConfig.from_dict({**merged_config(config, {}), "data": "unused",
                                        "dataset": None})
        model = job.model()
        if not isinstance(model, FederatedForecaster):
            raise ConfigError(f"{config} has no federated block: add one (rounds, "
                              "local_epochs, aggregation, ...)")
        frequency = freq or job.freq
        if not frequency:
            raise ConfigError("give --freq (or freq in the config): the server builds the "
                              "network before it sees any data")
        settings = dataclasses.replace(
            model.settings(frequency, clients, output=str(result.resolve())),
            target=job.target, time_col=job.time_col, id_col=job.id_col)
        path = write_app(settings, output)
    except ImportError as err:
        _fail(ConfigError(f"needs Flower: pip install 'lstmkit[federated]' ({err})"))
    except LstmkitError as err:
        _fail(err)
    console.print(
        f"wrote {path}\nthen: flower-superlink --insecure\n"
        f"      flower-supernode --insecure --superlink HOST:8000 --port PORT "
        f"--node-config \"data-path='/path/to/this/site.csv'\"   (x {clients})\n"
        f"      flwr run {output} CONNECTION --stream", markup=False, highlight=False)


@federated_app.command("localise")
def localise_command(
    result: Path = typer.Argument(..., help="The ServerApp's result folder."),
    data: Path = typer.Argument(..., help="This client's own rows (CSV or Parquet)."),
    output: Path = typer.Option(..., help="Folder for the saved model."),
) -> None:
    """Save the federation's global model for one client's series (its own scalers)."""
    try:
        from lstmkit.federated import FederatedForecaster

        model = FederatedForecaster.from_federation(result, data)
        model.save(output)
    except LstmkitError as err:
        _fail(err)
    console.print(f"saved {output}: {len(model.context_['unique_id'].unique())} series, "
                  f"global weights of round {model.federation_['chosen_round']}",
                  markup=False, highlight=False)
