"""Limits of the prediction service, and the check that its optional packages are there."""

from __future__ import annotations

import os
from dataclasses import dataclass

from lstmkit.errors import ConfigError, LstmkitError

SERVE_EXTRA = 'pip install "lstmkit[serve]"'
_ENV = {"model_path": "LSTMKIT_SERVE_MODEL", "max_rows": "LSTMKIT_SERVE_MAX_ROWS",
        "max_bytes": "LSTMKIT_SERVE_MAX_BYTES", "threads": "LSTMKIT_SERVE_THREADS"}


@dataclass(frozen=True)
class ServeSettings:
    """Request limits: rows per request (history + future rows, texts + frames) and body
    bytes; larger requests get 413 before any inference. `threads`: torch threads per
    request (requests run concurrently in a thread pool, so 1 keeps the CPU from being
    oversubscribed; more helps the latency of large models)."""

    max_rows: int = 100_000
    max_bytes: int = 16 * 2**20
    threads: int = 1

    def __post_init__(self) -> None:
        for name in ("max_rows", "max_bytes", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")

    def to_env(self, model_path: str) -> dict[str, str]:
        """Environment variables that carry the model and these limits to worker processes."""
        return {_ENV["model_path"]: model_path, _ENV["max_rows"]: str(self.max_rows),
                _ENV["max_bytes"]: str(self.max_bytes), _ENV["threads"]: str(self.threads)}

    @classmethod
    def from_env(cls) -> tuple[str, ServeSettings]:
        """(model path, settings) written by `to_env`."""
        if _ENV["model_path"] not in os.environ:
            raise ConfigError(f"{_ENV['model_path']} is not set; start the service with "
                              "`lstmkit serve MODEL`")
        return os.environ[_ENV["model_path"]], cls(
            max_rows=int(os.environ.get(_ENV["max_rows"], cls.max_rows)),
            max_bytes=int(os.environ.get(_ENV["max_bytes"], cls.max_bytes)),
            threads=int(os.environ.get(_ENV["threads"], cls.threads)),
        )


def require_serve_extra() -> None:
    """Raise `LstmkitError` naming the install command when fastapi or uvicorn is missing."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        missing = err.name or "fastapi/uvicorn"
        raise LstmkitError(
            f"lstmkit serve needs the optional package {missing!r} (fastapi, uvicorn); "
            f"install them with: {SERVE_EXTRA}"
        ) from err
