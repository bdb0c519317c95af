"""`FederatedForecaster`: an LSTMForecaster whose training is a Flower federation.

Each client holds some of the series (by default one each) and trains the shared network on
its own rows; the server only ever sees weights. After `fit` the model forecasts, backtests,
saves and loads like any LSTMForecaster.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import safetensors.torch
import torch
from safetensors import SafetensorError

from lstmkit import io
from lstmkit.data.loading import SeriesFrame
from lstmkit.errors import ConfigError, ModelFileError
from lstmkit.federated.privacy import LocalDP
from lstmkit.federated.settings import FederationSettings
from lstmkit.models.forecast_design import DesignSpec, check_covariates, fit_scalers
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.training import EpochRecord, TrainingHistory

if TYPE_CHECKING:
    from lstmkit.federated.apps import FederationResult

FEDERATION_PARAMS = ("clients", "rounds", "local_epochs", "aggregation", "proximal_mu",
                     "server_momentum", "dp",
                     "client_threads", "cpus")


@io.register_model("federated-lstm-forecaster")
class FederatedForecaster(LSTMForecaster):
    """LSTMForecaster trained by federated averaging (Flower simulation on this machine).

    Args:
        clients: number of clients; the series are dealt to them in order, round-robin
            (default: one client per series). Scalers are fitted per series, on the
            client that holds it.
        rounds: federated rounds; every client trains `local_epochs` epochs per round.
        aggregation: "fedavg", "fedprox" (adds mu / 2 * ||w - w_global||^2 to every
            client's loss, `proximal_mu` = mu) or "scaffold" (control variates correct each
            client's drift; no DP). `server_momentum` > 0 makes FedAvg FedAvgM:
            the server applies the averaged update with heavy-ball momentum.
        dp: optional client-level differential privacy, {"clip_norm", "epsilon", "delta"}
            per round (see `lstmkit.federated.privacy.LocalDP`); reported in `federation_`.
        client_threads: torch threads of each client; cpus: cores the simulation may use.
        **forecaster: every LSTMForecaster argument. `max_epochs` is not used (rounds and
            local_epochs are the budget); the best round by the clients' mean validation
            loss is kept (the last one under differential privacy).
    """

    fits_in_forked_workers: ClassVar[bool] = False  # Flower's simulation runs its own processes

    def __init__(self, clients: int | None = None, rounds: int = 20, local_epochs: int = 1,
                 aggregation: str = "fedavg", proximal_mu: float = 0.0,
                 server_momentum: float = 0.0,
                 dp: Mapping[str, float] | None = None, client_threads: int = 1,
                 cpus: int | None = None, **forecaster: Any) -> None:
        super().__init__(**forecaster)
        self.clients = clients
        self.rounds = rounds
        self.local_epochs = local_epochs
        self.aggregation = aggregation
        self.proximal_mu = proximal_mu
        self.server_momentum = server_momentum
        self.dp = dict(dp) if dp is not None else None
        self.client_threads = client_threads
        self.cpus = cpus

    def fit(self, data: Any, *, target: str = "y", time_col: str = "ds",
            id_col: str | None = None, freq: str | None = None) -> FederatedForecaster:
        """Federated training over the series of `data` (see the class docstring)."""
        self._check_params()
        self._check_federation()
        if self.calibrate_intervals in (True, "validation"):
            raise ConfigError("calibrate_intervals=True needs every client's validation "
                              "windows in one place; use 'recent' (computed locally) or False")
        series = self._load(data, target, time_col, id_col, freq, fitting=True)
        spec = self._spec(series)
        check_covariates(series.frame, spec)
        groups = self.client_groups(series.ids)
        with tempfile.TemporaryDirectory(prefix="lstmkit-federated-") as folder:
            for k, ids in enumerate(groups):
                rows = series.frame[series.frame["unique_id"].isin(ids)]
                rows.to_parquet(Path(folder) / f"site-{k}.parquet", index=False)
            settings = self.settings(series.freq, len(groups), data_dir=folder)
            result = _simulate(settings, self.cpus)
        summary = {**result.summary(), "clients": [list(g) for g in groups],
                   "aggregation": self.aggregation, "proximal_mu": self.proximal_mu}
        return self._adopt(series, spec, result.weights, summary)

    @classmethod
    def from_federation(cls, folder: str | Path, data: Any, *, target: str | None = None,
                        time_col: str | None = None, id_col: str | None = None
                        ) -> FederatedForecaster:
        """The global model of a deployed federation, ready to forecast a client's series.

        `folder` is the server's output (`global.safetensors`, `federation.json`,
        `run_config.json`); `data` holds the client's own rows, on which its scalers are fitted
        here, so neither the rows nor the statistics ever leave the client. Column names
        default to the federation's.
        """
        folder = Path(folder)
        try:
            config = json.loads((folder / "run_config.json").read_text(encoding="utf-8"))
            summary = json.loads((folder / "federation.json").read_text(encoding="utf-8"))
            weights = safetensors.torch.load_file(str(folder / "global.safetensors"))
        except (OSError, ValueError, SafetensorError) as err:
            raise ModelFileError(f"{folder} does not hold a federation's result "
                                 f"(global.safetensors, federation.json, run_config.json): "
                                 f"{err}") from err
        settings = FederationSettings.from_run_config(config)
        model = cls(rounds=settings.rounds, local_epochs=settings.local_epochs,
                    aggregation=settings.aggregation, proximal_mu=settings.proximal_mu,
                    server_momentum=settings.server_momentum,
                    dp=asdict(settings.dp) if settings.dp else None, **settings.forecaster)
        series = model._load(data, target or settings.target, time_col or settings.time_col,
                             id_col or settings.id_col, settings.freq, fitting=False)
        if series.freq != settings.freq:
            raise ConfigError(f"the federation trained on frequency {settings.freq!r}; "
                              f"this data is {series.freq!r}")
        spec = model._spec(series)
        check_covariates(series.frame, spec)
        return model._adopt(series, spec, weights, summary)

    def _adopt(self, series: SeriesFrame, spec: DesignSpec, weights: dict[str, torch.Tensor],
               summary: dict[str, Any]) -> FederatedForecaster:
        """Become the fitted model: global `weights`, per-series scalers of `series`."""
        network = self._network(spec, series.frame)
        try:
            network.load_state_dict(weights)
        except RuntimeError as err:
            raise ModelFileError(f"the federation's weights do not fit this model: {err}"
                                 ) from None
        # per-series statistics: the same numbers each client computes on its own rows
        scalers = fit_scalers(self._transformed(series.frame), spec, self.scaler)
        history = _history(summary["rounds"], summary["chosen_round"])
        self._set_fitted(series, spec, scalers, network, history)
        self.federation_ = summary
        return self

    def get_extra(self) -> dict[str, Any]:
        return {**super().get_extra(), "federation": self.federation_}

    def set_extra(self, extra: dict[str, Any]) -> None:
        super().set_extra(extra)
        self.federation_ = extra.get("federation", {})

    def client_groups(self, ids: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The series of each client: one each, or dealt round-robin to `clients`."""
        n = len(ids) if self.clients is None else self.clients
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(ids):
            raise ConfigError(f"clients must be an int from 1 to the number of series "
                              f"({len(ids)}), got {self.clients!r}")
        return [tuple(ids[k::n]) for k in range(n)]

    def settings(self, freq: str, clients: int, data_dir: str | None = None,
                 output: str | None = None) -> FederationSettings:
        """The federation's shared settings for `clients` clients at frequency `freq`."""
        self._check_federation()
        return FederationSettings(
            forecaster=self.forecaster_config(), freq=freq, clients=clients,
            rounds=self.rounds, local_epochs=self.local_epochs, aggregation=self.aggregation,
            proximal_mu=self.proximal_mu, server_momentum=self.server_momentum,
            dp=LocalDP(**self.dp) if self.dp else None,
            data_dir=data_dir, output=output, threads=self.client_threads)

    def forecaster_config(self) -> dict[str, Any]:
        """The LSTMForecaster arguments (without the federation's)."""
        config = LSTMForecaster.get_config(self)
        for key in FEDERATION_PARAMS:
            config.pop(key, None)
        return config

    def _check_federation(self) -> None:
        """Refuse what federated rounds cannot train, whichever command builds them."""
        if self.ema_decay is not None:
            raise ConfigError("ema_decay averages one trainer's steps; federated rounds "
                              "average the clients' weights instead: leave it None")
        if self.window_loss:
            raise ConfigError("window_loss=True is not available in federated training")
        if self.ensemble != 1:
            raise ConfigError(f"federated rounds train one network; got ensemble="
                              f"{self.ensemble!r}: use ensemble=1")
        if self.dp is not None:
            unknown = set(self.dp) - {"clip_norm", "epsilon", "delta"}
            if unknown:
                raise ConfigError(f"dp takes clip_norm, epsilon and delta; got {sorted(unknown)}")
        if self.cpus is not None and (isinstance(self.cpus, bool) or not isinstance(
                self.cpus, int) or self.cpus < 1):
            raise ConfigError(f"cpus must be a positive int, got {self.cpus!r}")


def _simulate(settings: FederationSettings, cpus: int | None) -> FederationResult:
    try:
        from lstmkit.federated.simulation import simulate
    except ImportError as err:
        raise ConfigError("federated training needs Flower: pip install 'lstmkit[federated]' "
                          f"({err})") from err
    return simulate(settings, cpus)


def _history(rounds: list[dict[str, Any]], chosen: int) -> TrainingHistory:
    records = [EpochRecord(row["round"], row["train_loss"], row["val_loss"], row["lr"],
                           row["seconds"]) for row in rounds]
    best = next(row["val_loss"] for row in rounds if row["round"] == chosen)
    return TrainingHistory(records, best_epoch=chosen, best_val_loss=best)
