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
from lstmkit.training.trainer import split_batch

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


class ControlVariateLoss(nn.Module):
    """SCAFFOLD's corrected objective: `loss(prediction, target) + <w - w_global, c - c_i>`.

    Its gradient is the local gradient plus `correction` = c - c_i (server minus client control
    variate, per parameter name), which steers every local step towards the global gradient
    (Karimireddy et al. 2020); the term is zero at the global weights.
    """

    def __init__(self, loss: nn.Module, network: nn.Module, correction: State) -> None:
        super().__init__()
        self.loss = loss
        named = [(n, p) for n, p in network.named_parameters() if p.requires_grad]
        self._params = [p for _, p in named]
        self._anchor = [p.detach().clone() for p in self._params]
        self._correction = [correction[n].to(p.dtype) for n, p in named]

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        drift = sum(((p - a) * d).sum() for p, a, d in
                    zip(self._params, self._anchor, self._correction, strict=True))
        return self.loss(prediction, target) + drift


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
        self.train_set = model.training_windows(p)
        self.val_set = model._windows(p.design, p.val) if p.val is not None else None
        self.network = p.network

    @property
    def num_train(self) -> int:
        return len(self.train_set)

    @property
    def num_val(self) -> int:
        return 0 if self.val_set is None else len(self.val_set)

    def train(self, state: State, *, epochs: int, lr: float, mu: float, seed: int,
              correction: State | None = None) -> tuple[State, float]:
        """Train `epochs` local epochs from the global `state`; the new weights and the last
        epoch's mean training loss (with the proximal or control-variate term, if any).

        `mu` > 0 adds FedProx's proximal term; `correction` (c - c_i per parameter) SCAFFOLD's.
        """
        self.network.load_state_dict(state)
        base = self.model._loss()
        loss = ProximalLoss(base, self.network, mu) if mu > 0 else base
        if correction is not None:
            loss = ControlVariateLoss(loss, self.network, correction)
        m = self.model
        trainer = Trainer(max_epochs=epochs, batch_size=m.batch_size, lr=lr,
                          weight_decay=m.weight_decay, clip_norm=m.clip_norm,
                          lr_schedule="constant", seed=seed, device="cpu", progress=False)
        history = trainer.fit(self.network, self.train_set, None, loss)
        weights = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
        return weights, history.train_losses[-1]

    def gradient(self, state: State, seed: int = 0) -> State:
        """Mean gradient of the training loss over all this client's training windows at
        `state`, per parameter name (SCAFFOLD's client control variate, its option I).
        Dropout, if any, draws from `seed` (the global random state is left as it was)."""
        self.network.load_state_dict(state)
        self.network.zero_grad(set_to_none=True)
        base = self.model._loss()
        total = len(self.train_set)
        loader = torch.utils.data.DataLoader(self.train_set, batch_size=self.model.batch_size,
                                             collate_fn=getattr(self.train_set, "collate_fn", None))
        self.network.train()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for batch in loader:
                inputs, target = split_batch(batch)
                (base(self.network(*inputs), target) * (len(target) / total)).backward()
        grads = {n: p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
                 for n, p in self.network.named_parameters() if p.requires_grad}
        self.network.zero_grad(set_to_none=True)
        return grads

    def validation_loss(self, state: State) -> float:
        """Mean loss of the global `state` on this client's validation windows."""
        if self.val_set is None:
            raise DataValidationError("this client holds no validation windows "
                                      "(validation_fraction is 0)")
        self.network.load_state_dict(state)
        trainer = Trainer(batch_size=self.model.batch_size, device="cpu", progress=False)
        return trainer.evaluate(self.network, self.val_set, self.model._loss())
