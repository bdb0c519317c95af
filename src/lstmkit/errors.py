"""One exception family for everything lstmkit raises on purpose."""

from __future__ import annotations


class LstmkitError(Exception):
    """Base class of every error lstmkit raises deliberately."""


class ShapeError(LstmkitError, ValueError):
    """A tensor has the wrong rank, size or dtype for the layer it is given to."""


class ConfigError(LstmkitError, ValueError):
    """A hyperparameter or configuration value is invalid."""


class DataValidationError(LstmkitError, ValueError):
    """Input data fails validation (names the column, row or value and the fix)."""


class TrainingError(LstmkitError, RuntimeError):
    """Training cannot go on (for example a NaN or infinite loss)."""


class CheckpointError(LstmkitError):
    """A checkpoint cannot be written, read or resumed from."""


class ModelFileError(LstmkitError):
    """A saved model is missing, truncated, tampered with or from an incompatible version."""
