"""Darts' `BlockRNNModel(model="LSTM")` (direct: LSTM encoder over `input_chunk_length`
steps, a fully connected decoder with one hidden layer of `mlp_size` emitting the
horizon) and `RNNModel(model="LSTM")` (Darts' autoregressive LSTM: one-step outputs trained
over `training_length = lookback + horizon` steps, forecasts fed back recursively; it has no
MLP decoder). Both: `max_steps` optimisation steps through the Lightning trainer (`n_epochs`
set high so the step limit ends training), batch of `batch_size` windows, Adam at `lr`,
MAE loss, float32 series, no scaler of its own (the harness standardises), integer index."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch
from common import LIGHTNING_PRECISION, Task


class DartsAdapter:
    """A Darts torch model; all origins of a fold are forecast in one `predict` call over a
    list of series, each the history before its origin."""

    scaled = True

    def __init__(self, task: Task, kind: str) -> None:
        self.task = task
        self.kind = kind
        self.steps_done = 0
        self.model = None
        import darts.models  # noqa: F401 - imported before the timed fit
        for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "darts"):
            logging.getLogger(name).setLevel(logging.ERROR)

    def _build(self):  # noqa: ANN202 - a Darts model
        from darts.models import BlockRNNModel, RNNModel

        net = self.task.net
        common = dict(
            input_chunk_length=net.lookback, model="LSTM", hidden_dim=net.hidden_size,
            n_rnn_layers=net.num_layers, dropout=net.dropout, batch_size=net.batch_size,
            n_epochs=1_000_000, loss_fn=torch.nn.L1Loss(), optimizer_cls=torch.optim.Adam,
            optimizer_kwargs={"lr": net.lr}, random_state=net.seed,
            pl_trainer_kwargs={"accelerator": "cpu", "max_steps": net.steps,
                               "enable_progress_bar": False, "enable_model_summary": False,
                               "logger": False, "enable_checkpointing": False,
                               "precision": LIGHTNING_PRECISION[net.precision]},
        )
        if self.kind == "darts_block":
            return BlockRNNModel(output_chunk_length=net.horizon,
                                 hidden_fc_sizes=[net.mlp_size], **common)
        return RNNModel(training_length=net.lookback + net.horizon, **common)

    @staticmethod
    def _series(values: np.ndarray):  # noqa: ANN205 - a Darts TimeSeries
        from darts import TimeSeries

        return TimeSeries.from_values(values.astype("float32"))

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex) -> None:
        """Train on the training part as one series."""
        self.model = self._build()
        self.model.fit(self._series(y), verbose=False)
        self.steps_done = int(self.model.trainer.global_step) if self.model.trainer else 0
        if not self.steps_done:
            self.steps_done = self.task.net.steps

    def predict(self, y: np.ndarray, ds: pd.DatetimeIndex, origins: np.ndarray) -> np.ndarray:
        """Forecast `horizon` steps after y[:o] for every origin o."""
        assert self.model is not None
        histories = [self._series(y[:int(o)]) for o in origins]
        out = self.model.predict(n=self.task.net.horizon, series=histories, verbose=False,
                                 batch_size=1024)
        return np.stack([s.values()[:, 0] for s in out]).astype("float64")


def make(name: str, task: Task) -> DartsAdapter:
    """The adapter for `run.py`."""
    return DartsAdapter(task, name)
