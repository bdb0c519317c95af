"""lstmkit: LSTM networks for sequential data, trained and validated the careful way."""

from __future__ import annotations

__version__ = "0.1.0"

from lstmkit.errors import (  # noqa: E402
    CheckpointError,
    ConfigError,
    DataValidationError,
    LstmkitError,
    ModelFileError,
    ShapeError,
    TrainingError,
)

__all__ = [
    "__version__",
    "CheckpointError",
    "ConfigError",
    "DataValidationError",
    "LstmkitError",
    "ModelFileError",
    "ShapeError",
    "TrainingError",
]
