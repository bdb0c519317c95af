"""NeuralForecast's `LSTM` (direct: `recurrent=False`): a 2-layer LSTM encoder over
`input_size` steps and an MLP decoder (one hidden layer of `mlp_size`, ReLU) emitting the
horizon; `max_steps` optimisation steps of `windows_batch_size` windows of the one series;
Adam at `lr`, MAE loss, no scaler of its own (`scaler_type="identity"`, the harness
standardises), no validation, integer time index (`freq=1`).

`neuralforecast_window_scaled` is the same model with NeuralForecast's own temporal
normalisation, `scaler_type="standard"`: every window standardised by its own lookback's
mean and standard deviation, inverted on the output."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from common import LIGHTNING_PRECISION, Task


class NeuralForecastAdapter:
    """NeuralForecast LSTM; all origins of a fold are forecast in one `predict` call, each as
    its own series holding the history before its origin."""

    scaled = True

    def __init__(self, task: Task, scaler_type: str = "identity") -> None:
        self.task = task
        self.scaler_type = scaler_type
        self.steps_done = 0
        self.nf = None
        # imported here, before the timed fit: import time is not fit time
        from neuralforecast import NeuralForecast
        from neuralforecast.losses.pytorch import MAE
        from neuralforecast.models import LSTM

        self._classes = (NeuralForecast, MAE, LSTM)
        for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric",
                     "neuralforecast"):
            logging.getLogger(name).setLevel(logging.ERROR)

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex) -> None:
        """Train on the training part as one series."""
        NeuralForecast, MAE, LSTM = self._classes  # noqa: N806
        net = self.task.net
        model = LSTM(
            h=net.horizon, input_size=net.lookback, encoder_n_layers=net.num_layers,
            encoder_hidden_size=net.hidden_size, encoder_dropout=net.dropout,
            decoder_hidden_size=net.mlp_size,
            decoder_layers=2, recurrent=False, loss=MAE(), max_steps=net.steps,
            learning_rate=net.lr, val_check_steps=net.steps + 1, batch_size=1,
            windows_batch_size=net.batch_size, inference_windows_batch_size=1024,
            scaler_type=self.scaler_type, random_seed=net.seed, accelerator="cpu",
            enable_progress_bar=False, enable_model_summary=False, logger=False,
            enable_checkpointing=False, precision=LIGHTNING_PRECISION[net.precision],
        )
        self.nf = NeuralForecast(models=[model], freq=1)
        df = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(y)), "y": y.astype("float32")})
        self.nf.fit(df)
        self.steps_done = net.steps

    def predict(self, y: np.ndarray, ds: pd.DatetimeIndex, origins: np.ndarray) -> np.ndarray:
        """Forecast `horizon` steps after y[:o] for every origin o."""
        assert self.nf is not None
        parts = [pd.DataFrame({"unique_id": f"o{k:05d}", "ds": np.arange(int(o)),
                               "y": y[:int(o)].astype("float32")})
                 for k, o in enumerate(origins)]
        out = self.nf.predict(df=pd.concat(parts, ignore_index=True))
        out = out.sort_values(["unique_id", "ds"])
        return out["LSTM"].to_numpy(dtype="float64").reshape(len(origins), self.task.net.horizon)


def make(name: str, task: Task) -> NeuralForecastAdapter:
    """The adapter for `run.py`."""
    return NeuralForecastAdapter(
        task, "standard" if name == "neuralforecast_window_scaled" else "identity")
