"""Hyperparameter search for `LSTMForecaster` (Optuna), scored by walk-forward CV.

`tune(config, trials=..., storage=...)` returns a `TuneResult` with the best forecast
config, its CV value and the trials table; `lstmkit tune` is the same from the command line.
"""

from lstmkit.tuning.errors import SearchSpaceError, TuningError
from lstmkit.tuning.options import TuneOptions, read_tune_config
from lstmkit.tuning.results import TuneResult
from lstmkit.tuning.space import SearchSpace
from lstmkit.tuning.study import storage_url, tune

__all__ = [
    "SearchSpace",
    "SearchSpaceError",
    "TuneOptions",
    "TuneResult",
    "TuningError",
    "read_tune_config",
    "storage_url",
    "tune",
]
