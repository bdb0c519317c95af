"""The Flower apps: a ServerApp running FedAvg, FedProx or SCAFFOLD over LSTMForecaster weights
and a ClientApp training them on the client's own rows.

The same apps run in Flower's simulation (settings passed in) and deployed under a SuperLink
and SuperNodes (`flwr run`, settings read from the run config; each SuperNode names its own
data file with `--node-config "data-path='...'"`). Only weights, a few numbers and, under
SCAFFOLD, control variates (gradients of the clients' losses) travel.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.clientapp.mod import LocalDpMod
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg, FedAvgM, FedProx

from lstmkit.errors import ConfigError
from lstmkit.federated.settings import FederationSettings
from lstmkit.federated.site import Site, initial_network, round_lr

_SITES: dict[tuple[str, str], Site] = {}  # per client process: built once per data file
CONTROL = "control"  # server -> client: SCAFFOLD's server control variate c
CONTROL_DELTA = "control-delta/"  # client -> server: prefix of the c_i changes in "arrays"


@dataclass
class FederationResult:
    """The chosen global weights and what each round did."""

    weights: dict[str, torch.Tensor]
    rounds: list[dict[str, Any]]
    chosen_round: int
    privacy: dict[str, Any] | None = None
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-able record of the federation (no weights)."""
        return {"rounds": self.rounds, "chosen_round": self.chosen_round,
                "privacy": self.privacy, "seconds": self.seconds}


def _settings(fixed: FederationSettings | None, context: Context) -> FederationSettings:
    return fixed if fixed is not None else FederationSettings.from_run_config(
        dict(context.run_config))


def _site(settings: FederationSettings, context: Context) -> Site:
    """This client's Site, from the file its node config names (or its simulation file)."""
    node = context.node_config
    if "data-path" in node:
        path = str(node["data-path"])
    elif settings.data_dir is not None and "partition-id" in node:
        path = str(Path(settings.data_dir) / f"site-{int(node['partition-id'])}.parquet")
    else:
        raise ConfigError("a federated client needs its data: --node-config \"data-path='...'\"")
    key = (path, json.dumps(settings.to_run_config(), sort_keys=True))
    if key not in _SITES:
        model = settings.model()
        series = model._load(path, settings.target, settings.time_col, settings.id_col,
                             settings.freq, fitting=True)
        _SITES[key] = Site(model, series)
    return _SITES[key]


def make_client_app(fixed: FederationSettings | None = None) -> ClientApp:
    """A ClientApp training on its own rows; `fixed` settings, or the run config's."""
    app = ClientApp()

    def local_train(msg: Message, context: Context) -> Message:
        settings = _settings(fixed, context)
        torch.set_num_threads(settings.threads)
        site = _site(settings, context)
        config = msg.content["config"]
        server_round = int(config["server-round"])
        model = site.model
        state = msg.content["arrays"].to_torch_state_dict()
        correction, delta = None, {}
        if CONTROL in msg.content:  # SCAFFOLD: correct with c - c_i, then refresh c_i
            server = msg.content[CONTROL].to_torch_state_dict()
            own = (context.state[CONTROL].to_torch_state_dict() if CONTROL in context.state
                   else {k: torch.zeros_like(v) for k, v in server.items()})
            correction = {k: server[k] - own[k] for k in server}
            fresh = site.gradient(state, seed=settings.seed + 7919 * server_round)
            delta = {CONTROL_DELTA + k: fresh[k] - own[k] for k in server}
            context.state[CONTROL] = ArrayRecord(fresh)
        weights, loss = site.train(
            state,
            epochs=settings.local_epochs,
            lr=round_lr(model.lr, model.lr_schedule, server_round, settings.rounds),
            mu=float(config.get("proximal-mu", 0.0)),
            seed=settings.seed + 7919 * server_round,
            correction=correction,
        )
        content = RecordDict({
            "arrays": ArrayRecord({**weights, **delta}),
            "metrics": MetricRecord({"num-examples": site.num_train, "train-loss": loss}),
        })
        return Message(content=content, reply_to=msg)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        settings = _settings(fixed, context)
        if settings.dp is None:
            return local_train(msg, context)
        dp = settings.dp
        mod = LocalDpMod(dp.clip_norm, dp.sensitivity, dp.epsilon, dp.delta)
        return mod(msg, context, local_train)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        settings = _settings(fixed, context)
        torch.set_num_threads(settings.threads)
        site = _site(settings, context)
        loss = site.validation_loss(msg.content["arrays"].to_torch_state_dict())
        content = RecordDict({"metrics": MetricRecord({"num-examples": site.num_val,
                                                       "val-loss": loss})})
        return Message(content=content, reply_to=msg)

    return app


def make_server_app(fixed: FederationSettings | None = None,
                    sink: dict[str, FederationResult] | None = None) -> ServerApp:
    """A ServerApp running the settings' aggregation; the result goes to `sink["result"]` and,
    when the settings name an output folder, to `global.safetensors` + `federation.json`."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        settings = _settings(fixed, context)
        result = run_strategy(grid, settings)
        if sink is not None:
            sink["result"] = result
        if settings.output:
            write_result(result, settings, Path(settings.output))

    return app


class Scaffold(FedAvg):
    """SCAFFOLD (Karimireddy et al. 2020): FedAvg plus control variates against client drift.

    The server sends its control variate c with the weights; each client corrects every local
    gradient by c - c_i, sets its c_i to its full local gradient at the received weights
    (the paper's option I) and returns the change of c_i beside its weights. c moves by the
    example-weighted mean of those changes, so c stays the weighted mean of the c_i (every
    client takes part in every round) and the corrections sum to zero over the clients.
    """

    def __init__(self, params: dict[str, torch.Tensor], **kwargs: Any) -> None:
        """`params`: the network's trainable parameters by name (c starts as their zeros)."""
        super().__init__(**kwargs)
        self.control = {k: torch.zeros_like(v) for k, v in params.items()}

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        messages = list(super().configure_train(server_round, arrays, config, grid))
        for message in messages:
            message.content[CONTROL] = ArrayRecord(self.control)
        return messages

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        arrays, metrics = super().aggregate_train(server_round, replies)
        if arrays is None:
            return None, metrics
        state = arrays.to_torch_state_dict()
        for name in self.control:
            self.control[name] += state[CONTROL_DELTA + name]
        weights = {k: v for k, v in state.items() if not k.startswith(CONTROL_DELTA)}
        return ArrayRecord(weights), metrics


def run_strategy(grid: Grid, settings: FederationSettings) -> FederationResult:
    """FedAvg (with server momentum: FedAvgM), FedProx or SCAFFOLD for `settings.rounds`
    rounds; keeps the round whose global weights had the lowest mean client validation loss
    (the last round under differential privacy, whose accounting covers the weights only)."""
    model = settings.model()
    network = initial_network(model, settings.freq)
    initial = network.state_dict()
    validate = settings.dp is None and float(model.validation_fraction) > 0
    n = settings.clients
    common = dict(fraction_train=1.0, fraction_evaluate=1.0 if validate else 0.0,
                  min_train_nodes=n, min_evaluate_nodes=n if validate else 0,
                  min_available_nodes=n)
    if settings.aggregation == "fedprox":
        strategy: FedAvg = FedProx(proximal_mu=settings.proximal_mu, **common)
    elif settings.aggregation == "scaffold":
        params = {n: p.detach() for n, p in network.named_parameters() if p.requires_grad}
        strategy = Scaffold(params, **common)
    elif settings.server_momentum:
        strategy = FedAvgM(server_momentum=settings.server_momentum, **common)
    else:
        strategy = FedAvg(**common)
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    finished: dict[int, float] = {}

    def keep(server_round: int, arrays: ArrayRecord) -> None:
        snapshots[server_round] = {k: v.clone() for k, v in arrays.to_torch_state_dict().items()}
        finished[server_round] = time.perf_counter()

    started = time.perf_counter()
    result = strategy.start(grid=grid, initial_arrays=ArrayRecord(initial),
                            num_rounds=settings.rounds, train_config=ConfigRecord({}),
                            evaluate_fn=keep)
    rounds = []
    for r in range(1, settings.rounds + 1):
        train = result.train_metrics_clientapp.get(r, {})
        evaluated = result.evaluate_metrics_clientapp.get(r, {})
        rounds.append({
            "round": r,
            "train_loss": float(train["train-loss"]) if "train-loss" in train else None,
            "val_loss": float(evaluated["val-loss"]) if "val-loss" in evaluated else None,
            "lr": round_lr(model.lr, model.lr_schedule, r, settings.rounds),
            "seconds": finished.get(r, started) - finished.get(r - 1, started),
        })
    missing = [row["round"] for row in rounds if row["train_loss"] is None]
    if missing:
        raise ConfigError(f"no client update reached the server in round(s) {missing} of "
                          f"{settings.rounds} (a client failed: see the log above)")
    scored = [row for row in rounds if row["val_loss"] is not None]
    chosen = min(scored, key=lambda row: row["val_loss"])["round"] if scored else settings.rounds
    privacy = settings.dp.report(settings.rounds) if settings.dp is not None else None
    return FederationResult(snapshots[chosen], rounds, chosen, privacy,
                            time.perf_counter() - started)


def write_result(result: FederationResult, settings: FederationSettings, folder: Path) -> None:
    """`global.safetensors` (the chosen weights), `federation.json` (the rounds) and
    `run_config.json` (the settings) into `folder`, each written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.contiguous() for k, v in result.weights.items()}
    texts = {"federation.json": json.dumps(result.summary(), indent=2),
             "run_config.json": json.dumps(settings.to_run_config(), indent=2)}
    staged = folder / "global.safetensors.tmp"
    safetensors.torch.save_file(weights, str(staged))
    staged.replace(folder / "global.safetensors")
    for name, text in texts.items():
        staged = folder / f"{name}.tmp"
        staged.write_text(text, encoding="utf-8")
        staged.replace(folder / name)


client_app = make_client_app()
server_app = make_server_app()
