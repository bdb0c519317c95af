"""What a federation needs to agree on, carried as Flower's flat run configuration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lstmkit.errors import ConfigError
from lstmkit.federated.privacy import LocalDP
from lstmkit.models.forecaster import LSTMForecaster

AGGREGATIONS = ("fedavg", "fedprox", "scaffold")


@dataclass(frozen=True)
class FederationSettings:
    """The shared model, the training plan and where client data and the result live.

    `forecaster` holds `LSTMForecaster` arguments; `target`, `time_col` and `id_col` say how
    every client reads its own file; `data_dir` (simulation) holds one file per client,
    `site-<k>.parquet`, while a deployed client names its file in its node config
    (`data-path`). The server writes the chosen global weights to `output` when given.
    """

    forecaster: dict[str, Any]
    freq: str
    clients: int
    rounds: int = 20
    local_epochs: int = 1
    aggregation: str = "fedavg"
    proximal_mu: float = 0.0
    server_momentum: float = 0.0
    dp: LocalDP | None = None
    target: str = "y"
    time_col: str = "ds"
    id_col: str | None = "unique_id"
    data_dir: str | None = None
    output: str | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        for name in ("clients", "rounds", "local_epochs", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"federated {name} must be a positive int, got {value!r}")
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, "
                              f"got {self.aggregation!r}")
        if not isinstance(self.proximal_mu, int | float) or self.proximal_mu < 0:
            raise ConfigError(f"proximal_mu must be >= 0, got {self.proximal_mu!r}")
        if self.aggregation == "fedprox" and self.proximal_mu == 0:
            raise ConfigError("aggregation 'fedprox' needs proximal_mu > 0 (0 is plain FedAvg)")
        if self.aggregation != "fedprox" and self.proximal_mu:
            raise ConfigError("proximal_mu is a FedProx setting: use aggregation 'fedprox'")
        if not isinstance(self.server_momentum, int | float) or not 0 <= self.server_momentum < 1:
            raise ConfigError(f"server_momentum must be in [0, 1), got {self.server_momentum!r}")
        if self.server_momentum and self.aggregation != "fedavg":
            raise ConfigError("server_momentum (FedAvgM) goes with aggregation 'fedavg'")
        if self.aggregation == "scaffold" and self.dp is not None:
            raise ConfigError("aggregation 'scaffold' does not run under client DP: each "
                              "client also sends a gradient (its control variate), which the "
                              "privacy accounting here does not cover; use fedavg or fedprox")

    def model(self) -> LSTMForecaster:
        """A fresh, unfitted forecaster with the shared hyperparameters."""
        return LSTMForecaster(**self.forecaster)

    @property
    def seed(self) -> int:
        return int(self.forecaster.get("seed", 0))

    def to_run_config(self) -> dict[str, bool | int | float | str]:
        """Flat key/values for Flower's run config (`flwr run --run-config`)."""
        dp = self.dp or LocalDP()
        return {
            "forecaster": json.dumps(self.forecaster),
            "freq": self.freq,
            "clients": self.clients,
            "rounds": self.rounds,
            "local-epochs": self.local_epochs,
            "aggregation": self.aggregation,
            "proximal-mu": float(self.proximal_mu),
            "server-momentum": float(self.server_momentum),
            "dp": self.dp is not None,
            "dp-clip-norm": dp.clip_norm,
            "dp-epsilon": dp.epsilon,
            "dp-delta": dp.delta,
            "target": self.target,
            "time-col": self.time_col,
            "id-col": self.id_col or "",
            "data-dir": self.data_dir or "",
            "output": self.output or "",
            "threads": self.threads,
        }

    @classmethod
    def from_run_config(cls, config: dict[str, Any]) -> FederationSettings:
        """Inverse of `to_run_config`; a missing or malformed key is a `ConfigError`."""
        try:
            return cls(
                forecaster=json.loads(str(config["forecaster"])),
                freq=str(config["freq"]),
                clients=int(config["clients"]),
                rounds=int(config["rounds"]),
                local_epochs=int(config["local-epochs"]),
                aggregation=str(config["aggregation"]),
                proximal_mu=float(config["proximal-mu"]),
                server_momentum=float(config.get("server-momentum", 0.0)),
                dp=LocalDP(float(config["dp-clip-norm"]), float(config["dp-epsilon"]),
                           float(config["dp-delta"])) if config.get("dp") else None,
                target=str(config["target"]),
                time_col=str(config["time-col"]),
                id_col=str(config["id-col"]) or None,
                data_dir=str(config.get("data-dir", "")) or None,
                output=str(config.get("output", "")) or None,
                threads=int(config.get("threads", 1)),
            )
        except KeyError as err:
            raise ConfigError(f"the federation's run config lacks {err.args[0]!r}") from err
        except (TypeError, ValueError) as err:
            raise ConfigError(f"the federation's run config is malformed: {err}") from err
