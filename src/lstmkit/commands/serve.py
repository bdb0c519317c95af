"""`lstmkit serve MODEL`: a prediction HTTP service for a saved model (FastAPI + uvicorn).

Endpoints: POST /predict, GET /health, GET /openapi.json and /docs. Needs the `serve` extra.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from lstmkit.errors import ConfigError, LstmkitError

console = Console()
WORKER_STARTUP_S = 120


def _fail(err: LstmkitError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(err))}")
    raise typer.Exit(code=1)


def serve(
    model: Path = typer.Argument(..., help="A model folder (forecaster or sequence classifier)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every one)."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Worker processes, each loading the model."),
    max_rows: int = typer.Option(100_000, min=1, help="Most rows per request (else 413)."),
    max_bytes: int = typer.Option(16 * 2**20, min=1, help="Most body bytes (else 413)."),
    threads: int = typer.Option(1, min=1, help="torch threads per request (requests run "
                                "concurrently)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve a saved model over HTTP: POST /predict, GET /health, docs at /docs."""
    from lstmkit.serve import ServeSettings, create_app, require_serve_extra

    try:
        require_serve_extra()
        from uvicorn.config import LOG_LEVELS

        if log_level not in LOG_LEVELS:
            raise ConfigError(f"--log-level must be one of {list(LOG_LEVELS)}, got {log_level!r}")
        settings = ServeSettings(max_rows=max_rows, max_bytes=max_bytes, threads=threads)
        app = create_app(model, settings)  # a bad model fails here, before listening
    except LstmkitError as err:
        _fail(err)
    import uvicorn

    target: Any = app
    options: dict[str, Any] = {}
    if workers > 1:  # each worker process loads the model itself
        os.environ.update(settings.to_env(str(model.resolve())))
        target = "lstmkit.serve.app:app_from_env"
        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters:
            # importing torch and loading the model can outlast uvicorn's 5 s health check
            # on a busy machine, and a worker that misses it is killed and restarted
            options["timeout_worker_healthcheck"] = WORKER_STARTUP_S
    console.print(f"serving {escape(str(model))} on http://{host}:{port} "
                  f"(docs: http://{host}:{port}/docs)", highlight=False)
    uvicorn.run(target, host=host, port=port, workers=workers, factory=workers > 1,
                log_level=log_level, **options)
