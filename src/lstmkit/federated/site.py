"""One federated client: its own rows, its own scalers, local training of the shared network.

Nothing here leaves the client except what the caller sends: the network's weights after
local training and a few numbers (window counts and losses).
"""

from __future__ import annotations

import math

import pandas as pd
import torch
from torch import nn

from lstmkit.data.loading import SeriesFrame
from lstmkit.errors import DataValidationError
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.training import Trainer

State = dict[str, torch.Tensor]


class ProximalLoss(nn.Module):
    """FedProx objective: `loss(prediction, target) + mu / 2 * ||w - w_global||^2`."""

    def __init__(self, loss: nn.Module, network: nn.Module, mu: float) -> None:
        super().__init__()
        self.loss = loss
        self.mu = mu
        self._params = [p for p in network.parameters() if p.requires_grad]
        self._anchor = [p.detach().clone() for p in self._params]

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        drift = sum(((p - a) ** 2).sum() for p, a in zip(self._params, self._anchor, strict=True))
        return self.loss(prediction, target) + 0.5 * self.mu * drift


def round_lr(base_lr: float, schedule: str, server_round: int, rounds: int) -> float:
    """The learning rate of a round: cosine over the rounds when the model asks for a cosine
    schedule (as it would over epochs trained centrally), else constant."""
    if schedule != "cosine" or rounds <= 1:
        return base_lr
    return 0.5 * base_lr * (1 + math.cos(math.pi * (server_round - 1) / rounds))


def initial_network(model: LSTMForecaster, freq: str) -> nn.Module:
    """The network every client starts from, built from the hyperparameters and the
    frequency alone (the server sees no data)."""
    model._check_params()
    empty = pd.DataFrame({"ds": pd.date_range("2000-01-01", periods=1, freq=freq)})
    covariates = (*model.past_covariates, *model.future_covariates)
    spec = model._spec(SeriesFrame(empty, "y", "ds", None, freq, covariates))
    return model._network(spec, empty)


class Site:
    """A client's windows and network, built from its own rows only."""

    def __init__(self, model: LSTMForecaster, series: SeriesFrame) -> None:
        model._check_params()
        p = model._prepare(series)
        self.model = model
        self.series_ids = series.ids
        self.train_set = model._windows(p.design, p.train)
        self.val_set = model._windows(p.design, p.val) if p.val is not None else None
        self.network = p.network

    @property
    def num_train(self) -> int:
        return len(self.train_set)

    @property
    def num_val(self) -> int:
        return 0 if self.val_set is None else len(self.val_set)

    def train(self, state: State, *, epochs: int, lr: float, mu: float, seed: int
              ) -> tuple[State, float]:
        """Train `epochs` local epochs from the global `state`; the new weights and the last
        epoch's mean training loss (with the proximal term, if any)."""
        self.network.load_state_dict(state)
        base = self.model._loss()
        loss = ProximalLoss(base, self.network, mu) if mu > 0 else base
        m = self.model
        trainer = Trainer(max_epochs=epochs, batch_size=m.batch_size, lr=lr,
                          weight_decay=m.weight_decay, clip_norm=m.clip_norm,
                          lr_schedule="constant", seed=seed, device="cpu", progress=False)
        history = trainer.fit(self.network, self.train_set, None, loss)
        weights = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
        return weights, history.train_losses[-1]

    def validation_loss(self, state: State) -> float:
        """Mean loss of the global `state` on this client's validation windows."""
        if self.val_set is None:
            raise DataValidationError("this client holds no validation windows "
                                      "(validation_fraction is 0)")
        self.network.load_state_dict(state)
        trainer = Trainer(batch_size=self.model.batch_size, device="cpu", progress=False)
        return trainer.evaluate(self.network, self.val_set, self.model._loss())
