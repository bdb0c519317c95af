"""One module per library; `load(name, task)` returns the adapter named `name`."""

from __future__ import annotations

import importlib

from common import Adapter, Task

ADAPTERS: dict[str, tuple[str, str]] = {
    # name: (module, label of the library and model in the tables)
    "lstmkit": ("adapters.lstmkit_lstm", "lstmkit LSTMForecaster"),
    "lstmkit_defaults": ("adapters.lstmkit_lstm",
                         "lstmkit LSTMForecaster + its seasonal lags and calendar (not alike)"),
    "lstmkit_window_norm": ("adapters.lstmkit_lstm",
                            "lstmkit LSTMForecaster + per-window scaler and aligned step "
                            "states (window_norm='standard', decoder_states='both')"),
    "lstmkit_window_scaled": ("adapters.lstmkit_lstm",
                              "lstmkit LSTMForecaster + NeuralForecast's decoding and loss "
                              "(window_norm='standard', decoder_states='aligned', window_loss, "
                              "partial_windows)"),
    "lstmkit_averaged": ("adapters.lstmkit_lstm",
                         "lstmkit LSTMForecaster + NeuralForecast's decoding and loss "
                         "(window_norm='standard', decoder_states='aligned', window_loss, "
                         "partial_windows) + weight average (ema_decay=0.995, warming up)"),
    "neuralforecast": ("adapters.neuralforecast_lstm", "NeuralForecast LSTM"),
    "neuralforecast_window_scaled": ("adapters.neuralforecast_lstm",
                                     "NeuralForecast LSTM + its per-window scaler "
                                     "(scaler_type='standard')"),
    "torch_lstm": ("adapters.torch_lstm",
                   "raw torch.nn.LSTM loop, NeuralForecast's network and window scaling (floor)"),
    "darts_block": ("adapters.darts_rnn", "Darts BlockRNNModel(LSTM)"),
    "darts_rnn": ("adapters.darts_rnn", "Darts RNNModel(LSTM)"),
    "seasonal_naive": ("adapters.statsforecast_models", "statsforecast SeasonalNaive"),
    "seasonal_naive_weekly": ("adapters.statsforecast_models", "statsforecast SeasonalNaive"),
    "auto_ets": ("adapters.statsforecast_models", "statsforecast AutoETS"),
    "auto_arima": ("adapters.statsforecast_models", "statsforecast AutoARIMA"),
    "mstl": ("adapters.statsforecast_models", "statsforecast MSTL"),
}

NEURAL = ("lstmkit", "neuralforecast", "darts_block", "darts_rnn", "lstmkit_defaults",
          "lstmkit_window_norm", "lstmkit_window_scaled", "lstmkit_averaged",
          "neuralforecast_window_scaled", "torch_lstm")


def load(name: str, task: Task) -> Adapter:
    """Import the adapter's module (only in the child process that runs it) and build it."""
    module = importlib.import_module(ADAPTERS[name][0])
    return module.make(name, task)
