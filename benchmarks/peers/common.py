"""What every adapter shares: the datasets, the walk-forward folds, the configuration that is
set alike for every network, the scaling and the metrics (lstmkit's, for everyone)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from lstmkit.evaluation.metrics import mae, mase, rmse
from lstmkit.evaluation.splits import Fold, walk_forward

LIGHTNING_PRECISION = {"float32": "32-true", "bfloat16": "bf16-mixed"}  # NetConfig.precision


@dataclass
class NetConfig:
    """The settings every neural model is given (see README: "configured alike")."""

    lookback: int
    horizon: int
    hidden_size: int = 64
    num_layers: int = 2
    mlp_size: int = 128
    batch_size: int = 256
    steps: int = 1000
    lr: float = 1e-3
    precision: str = "float32"  # or bfloat16: every network trains in mixed precision
    dropout: float = 0.0  # each library's own dropout parameter, at this rate
    threads: int = 2
    processes: int = 1  # lstmkit rows: data-parallel torchrun processes, threads / processes each
    sampling: str = "epochs"  # lstmkit rows: TrainerConfig.sampling ("random": with replacement)
    ensemble: int = 1  # lstmkit rows: LSTMForecaster(ensemble=...), members side by side
    fold_jobs: int = 1  # lstmkit rows: walk-forward folds fitted side by side (fit_each)
    seed: int = 0


def member_jobs(net: NetConfig) -> int:
    """lstmkit's `n_jobs`: ensemble members trained side by side, one thread each at most
    as many as the threads; one at a time under data-parallel processes or when the folds
    are fitted side by side."""
    if net.processes > 1 or net.fold_jobs > 1:
        return 1
    return max(1, min(net.ensemble, net.threads))


@dataclass
class Task:
    """One dataset's benchmark: series, folds, seasons and network settings."""

    dataset: str
    freq: str
    season: int  # MASE scale: in-sample seasonal naive error of each fold's training part
    net: NetConfig
    folds: int
    fold_length: int
    max_train_classical: int  # classical models see at most this many rows before an origin
    classical: list[str] = field(default_factory=list)
    seed_per_repeat: bool = True  # repeat r trains with seed net.seed + r
    held_out: int = 0  # validation: the test folds' rows, left out of the series (0: test)

    def to_json(self) -> dict[str, Any]:
        """Plain-dict form (sent to the child processes)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        """Inverse of `to_json` (a task written with a `validation` flag instead of
        `held_out` held out its own folds' rows when the flag was set)."""
        data = dict(data)
        if data.pop("validation", False) and "held_out" not in data:
            data["held_out"] = data["folds"] * data["fold_length"]
        return cls(**{**data, "net": NetConfig(**data["net"])})


def load_series(dataset: str) -> pd.DataFrame:
    """The series as a frame with `ds` (datetime) and `y` (float64), read offline."""
    if dataset == "vic_electricity":
        import lstmkit as lk

        df = lk.datasets.load("vic_electricity")
        return pd.DataFrame({"ds": df["ds"], "y": df["demand"].astype("float64")})
    if dataset == "air_passengers":
        # Box & Jenkins' monthly airline passengers 1949-1960, shipped inside the
        # statsforecast wheel (statsforecast.utils.AirPassengers); no download.
        from statsforecast.utils import AirPassengers

        ds = pd.date_range("1949-01-01", periods=len(AirPassengers), freq="MS")
        return pd.DataFrame({"ds": ds, "y": np.asarray(AirPassengers, dtype="float64")})
    raise ValueError(f"unknown dataset {dataset!r}; use vic_electricity or air_passengers")


def task_series(task: Task) -> pd.DataFrame:
    """The task's series without its last `held_out` rows: for a validation task the test
    folds', so the folds fall before them and settings can be chosen without them."""
    frame = load_series(task.dataset)
    return frame.iloc[: len(frame) - task.held_out].reset_index(drop=True)


def make_folds(task: Task, n: int) -> list[Fold]:
    """lstmkit's walk-forward folds: expanding window, one origin every horizon."""
    return walk_forward(n, horizon=task.net.horizon, folds=task.folds,
                        fold_length=task.fold_length, step=task.net.horizon,
                        min_train=task.net.lookback + task.net.horizon)


def score(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray,
          season: int) -> dict[str, float]:
    """MAE, RMSE and MASE (lstmkit.evaluation.metrics) of one fold's forecasts."""
    return {"mae": mae(actual, forecast), "rmse": rmse(actual, forecast),
            "mase": mase(actual, forecast, insample=insample, season=season)}


class Adapter(Protocol):
    """One model of one library. Neural adapters get standardised float32 values (`scaled`),
    classical ones the original values."""

    scaled: bool
    steps_done: int

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex) -> None:
        """Train on the whole of `y` (the fold's training part)."""

    def predict(self, y: np.ndarray, ds: pd.DatetimeIndex, origins: np.ndarray) -> np.ndarray:
        """(len(origins), horizon) forecasts; the one at origin o may read y[:o] only."""
