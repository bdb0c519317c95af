"""A Flower App folder for a deployed federation: `flwr run` ships it to a SuperLink, whose
ServerApp and the SuperNodes' ClientApps are lstmkit's (`lstmkit.federated.apps`)."""

from __future__ import annotations

from pathlib import Path

import tomli_w

from lstmkit import __version__
from lstmkit.federated.settings import FederationSettings

APP_FILE = "pyproject.toml"


def write_app(settings: FederationSettings, folder: str | Path) -> Path:
    """Write `folder/pyproject.toml`: the app's components and its run config (`settings`,
    overridable with `flwr run --run-config`). Returns the file. Every machine of the
    federation runs it with its own installed `lstmkit[federated]` (the app declares it as
    its version, and no dependencies for Flower to install)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "build-system": {"requires": ["hatchling"], "build-backend": "hatchling.build"},
        "project": {
            "name": "lstmkit-federation",
            "version": __version__,
            "description": "Federated LSTM forecaster (lstmkit) on Flower",
            "license": "MIT",
            # the SuperLink's and SuperNodes' environments provide lstmkit[federated]
            "dependencies": [],
        },
        "tool": {"flwr": {"app": {
            "publisher": "lstmkit",
            "components": {"serverapp": "lstmkit.federated.apps:server_app",
                           "clientapp": "lstmkit.federated.apps:client_app"},
            "config": settings.to_run_config(),
        }}},
    }
    path = folder / APP_FILE
    staged = path.with_suffix(".tmp")
    staged.write_bytes(tomli_w.dumps(document).encode("utf-8"))
    staged.replace(path)
    return path
