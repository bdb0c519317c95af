"""Prediction HTTP service for saved lstmkit models (`lstmkit serve`).

`create_app(model_path)` returns a FastAPI app with `/predict`, `/health` and the OpenAPI
schema (`/openapi.json`, `/docs`); it needs the optional packages of the `serve` extra
(`pip install "lstmkit[serve]"`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from lstmkit.serve.settings import ServeSettings, require_serve_extra

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ServeSettings", "create_app", "require_serve_extra"]


def create_app(model_path: str | os.PathLike[str],
               settings: ServeSettings | None = None) -> FastAPI:
    """The service for the model saved at `model_path` (loaded once, here)."""
    require_serve_extra()
    from lstmkit.serve.app import create_app as build

    return build(model_path, settings)
