"""The FastAPI app: `/predict`, `/health` and the OpenAPI schema for one saved model.

No `from __future__ import annotations` here: FastAPI reads the body type of `/predict`
from the annotation, which is the runner's request model chosen at start-up.
"""

import json
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lstmkit import __version__, io
from lstmkit.errors import LstmkitError
from lstmkit.serve.errors import RequestError, field_name, problem
from lstmkit.serve.limits import BodyLimit
from lstmkit.serve.runner import Runner, make_runner, use_threads
from lstmkit.serve.schemas import ErrorResponse, Health, Limits
from lstmkit.serve.settings import ServeSettings

logger = logging.getLogger(__name__)


def create_app(model_path: str | os.PathLike[str],
               settings: ServeSettings | None = None) -> FastAPI:
    """Load the model at `model_path` once and build the service around it."""
    settings = settings or ServeSettings()
    path = Path(model_path)
    model = io.load(path)
    header = json.loads((path / io.CONFIG_FILE).read_text(encoding="utf-8"))
    kind = str(header["kind"])
    runner = make_runner(model, kind)
    health = Health(kind=kind, model=path.name, lstmkit_version=__version__,
                    model_lstmkit_version=str(header.get("lstmkit_version", "unknown")),
                    needs=runner.needs(),
                    limits=Limits(max_rows=settings.max_rows, max_bytes=settings.max_bytes,
                                  threads=settings.threads))
    app = FastAPI(
        title=f"lstmkit {kind}: {path.name}", version=__version__,
        description="Predictions of a saved lstmkit model. `GET /health` says what a "
                    "request must hold; errors are 422 (or 413 for too large a request) "
                    "with `detail[].field` naming the bad field.")
    app.add_middleware(BodyLimit, max_bytes=settings.max_bytes)
    _add_error_handlers(app)
    _add_routes(app, runner, health, settings)
    logger.info("serving %s (%s) from %s", kind, type(model).__name__, path)
    return app


def app_from_env() -> FastAPI:
    """Factory for worker processes (`lstmkit serve --workers N`): settings from the
    environment written by `ServeSettings.to_env`."""
    path, settings = ServeSettings.from_env()
    return create_app(path, settings)


def _add_routes(app: FastAPI, runner: Runner, health: Health, settings: ServeSettings) -> None:
    body_model = runner.request_model

    @app.get("/health", response_model=Health, summary="Model kind, versions, what it needs")
    def get_health() -> Health:
        return health

    @app.post("/predict", response_model=runner.response_model,
              responses={413: {"model": ErrorResponse, "description": "Too many rows or bytes"},
                         422: {"model": ErrorResponse, "description": "Invalid request"}},
              summary="Predict with the served model")
    def predict(body: body_model) -> Any:  # type: ignore[valid-type]
        field, rows = runner.rows(body)
        if rows > settings.max_rows:
            raise RequestError((field,), f"{rows:,} rows; this server accepts at most "
                                         f"{settings.max_rows:,} per request (lstmkit serve "
                                         "--max-rows)", status=413, kind="too_large")
        use_threads(settings.threads)
        return runner.predict(body)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            name = field_name(loc[1:] if loc[:1] == ("body",) else loc) or "body"
            detail.append(problem(loc, f"{name}: {err.get('msg', 'invalid value')}",
                                  str(err.get("type", "invalid"))))
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(RequestError)
    async def bad_request(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status)

    @app.exception_handler(LstmkitError)
    async def lstmkit_error(request: Request, exc: LstmkitError) -> JSONResponse:
        return JSONResponse({"detail": [problem(["body"], str(exc), type(exc).__name__)]},
                            status_code=422)
