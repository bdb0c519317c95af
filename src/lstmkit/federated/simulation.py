"""Run a federation in Flower's simulation runtime (Ray) on this machine."""

from __future__ import annotations

import logging
import os
import warnings

from lstmkit.errors import ConfigError
from lstmkit.federated.apps import FederationResult, make_client_app, make_server_app
from lstmkit.federated.settings import FederationSettings


def simulate(settings: FederationSettings, cpus: int | None = None) -> FederationResult:
    """Run `settings.clients` virtual SuperNodes, each a Ray actor reading only its own file
    in `settings.data_dir`, against the ServerApp in this process; returns its result.

    `cpus` caps the Ray workers (default: every core); each client uses `settings.threads`.
    """
    from flwr.simulation import run_simulation

    if settings.data_dir is None:
        raise ConfigError("a simulated federation needs data_dir (one file per client)")
    cpus = cpus or os.cpu_count() or 1
    sink: dict[str, FederationResult] = {}
    backend = {
        "init_args": {"num_cpus": cpus, "logging_level": "error", "log_to_driver": False},
        "client_resources": {"num_cpus": min(settings.threads, cpus), "num_gpus": 0.0},
    }
    flower = logging.getLogger("flwr")
    level = flower.level
    flower.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_simulation(make_server_app(settings, sink), make_client_app(settings),
                           num_supernodes=settings.clients, backend_config=backend)
    finally:
        flower.setLevel(level)
    if "result" not in sink:
        raise ConfigError("the federated simulation ended without a result (see the log)")
    return sink["result"]
