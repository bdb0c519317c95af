"""lstmkit: LSTM networks for sequential data, trained and validated the careful way."""

from __future__ import annotations

__version__ = "0.1.0"

from lstmkit import explain, features  # noqa: E402
from lstmkit.data import datasets  # noqa: E402
from lstmkit.errors import (  # noqa: E402
    CheckpointError,
    ConfigError,
    DataValidationError,
    LstmkitError,
    ModelFileError,
    ShapeError,
    TrainingError,
)
from lstmkit.evaluation.backtest import backtest  # noqa: E402
from lstmkit.io import load, save  # noqa: E402
from lstmkit.models import (  # noqa: E402
    AnomalyDetector,
    LSTMForecaster,
    SequenceClassifier,
    SequenceRegressor,
)  # noqa: E402
from lstmkit.nn import (  # noqa: E402
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    Recurrent,
)
from lstmkit.training import Trainer, TrainerConfig  # noqa: E402
from lstmkit.tuning import tune  # noqa: E402

__all__ = [
    "__version__",
    "AnomalyDetector",
    "CheckpointError",
    "ConfigError",
    "DataValidationError",
    "GRUCell",
    "LSTMCell",
    "LSTMForecaster",
    "LstmkitError",
    "ModelFileError",
    "PeepholeLSTMCell",
    "Recurrent",
    "SequenceClassifier",
    "SequenceRegressor",
    "ShapeError",
    "Trainer",
    "TrainerConfig",
    "TrainingError",
    "backtest",
    "datasets",
    "explain",
    "features",
    "load",
    "save",
    "tune",
]
