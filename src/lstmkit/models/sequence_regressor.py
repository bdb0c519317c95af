"""`SequenceRegressor`: a scikit-learn style estimator mapping sequences to numbers.

X is (n_samples, time, features) (NumPy or torch), y is (n_samples,) or (n_samples, n_targets);
variable-length sequences come padded at the end with `lengths`. Features and targets are
standardised with statistics of the training samples only and predictions come back in the
original units. Training runs on the shared `Trainer`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from lstmkit import io
from lstmkit.errors import DataValidationError
from lstmkit.models.base import BaseEstimator
from lstmkit.nn.regressor import SequenceRegressorNet
from lstmkit.training import Trainer, TrainingHistory


@dataclass
class _Scaling:
    x_mean: list[float]
    x_std: list[float]
    y_mean: list[float]
    y_std: list[float]


@io.register_model("sequence-regressor")
class SequenceRegressor(BaseEstimator):
    """LSTM (or GRU / peephole) regressor over whole sequences.

    Network hyperparameters go to `SequenceRegressorNet`; training ones to `TrainerConfig`.
    `validation_fraction` holds out the last part of the training samples for early stopping.
    """

    def __init__(
        self,
        hidden_size: int = 32,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        pooling: str = "last",
        compile: bool | str = "auto",
        max_epochs: int = 20,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        clip_norm: float | None = 1.0,
        lr_schedule: str = "constant",
        early_stopping_patience: int | None = None,
        validation_fraction: float = 0.0,
        seed: int = 0,
        device: str = "auto",
        precision: str = "float32",
        progress: bool | None = None,
        checkpoint_dir: str | None = None,
    ) -> None:
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.pooling = pooling
        self.compile = compile
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.lr_schedule = lr_schedule
        self.early_stopping_patience = early_stopping_patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.device = device
        self.precision = precision
        self.progress = progress
        self.checkpoint_dir = checkpoint_dir

    # -- scikit-learn API -----------------------------------------------------------------

    def fit(self, X: Any, y: Any, lengths: Any = None) -> SequenceRegressor:
        """Train on X (n, time, features) and y (n,) or (n, k); returns self."""
        x, lengths = _as_sequences(X, lengths)
        target = _as_targets(y, len(x))
        n_val = int(round(len(x) * self.validation_fraction))
        n_train = len(x) - n_val
        if not 0 <= self.validation_fraction < 1 or (self.validation_fraction and n_val < 1) or (
            n_train < 1
        ):
            raise DataValidationError(
                f"validation_fraction={self.validation_fraction} of {len(x)} samples leaves "
                f"{n_train} for training and {n_val} for validation; use 0, or a value in (0, 1) "
                "that leaves at least one sample on each side"
            )
        scaling = _fit_scaling(x[:n_train], lengths[:n_train], target[:n_train])
        network = self._build_network(x.shape[2], target.shape[1])  # bad settings raise here
        # nothing fitted is replaced until the new data and settings have passed every check
        self.targets_1d_ = np.ndim(y) == 1
        self.scaling_, self.n_features_in_, self.network_ = scaling, x.shape[2], network
        data = self._dataset(x, lengths, target)
        train = TensorDataset(*(t[:n_train] for t in data.tensors))
        val = TensorDataset(*(t[n_train:] for t in data.tensors)) if n_val else None
        self.history_: TrainingHistory = self._trainer().fit(self.network_, train, val)
        return self

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Predictions in the units of y: (n,) when fitted on a 1-D y, else (n, k)."""
        self._check_fitted()
        x, lengths = _as_sequences(X, lengths, n_features=self.n_features_in_)
        inputs = self._dataset(x, lengths, None).tensors
        scaled = self._trainer().predict(self.network_, (*inputs, torch.zeros(len(x))))
        s = self.scaling_
        out = scaled.double().numpy() * np.array(s.y_std) + np.array(s.y_mean)
        return out[:, 0] if self.targets_1d_ else out

    def score(self, X: Any, y: Any, lengths: Any = None) -> float:
        """R² of the predictions, averaged over targets (scikit-learn's `r2_score` default)."""
        pred = self.predict(X, lengths).reshape(len(X), -1)
        truth = _as_targets(y, len(pred))
        residual = ((truth - pred) ** 2).sum(axis=0)
        total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.mean(np.where(total > 0, 1 - residual / total, np.nan)))

    # -- persistence ----------------------------------------------------------------------

    def get_extra(self) -> dict[str, Any]:
        return {
            "n_features_in": self.n_features_in_,
            "targets_1d": self.targets_1d_,
            "scaling": asdict(self.scaling_),
            "history": self.history_.to_dict(),
        }

    def set_extra(self, extra: dict[str, Any]) -> None:
        self.n_features_in_ = int(extra["n_features_in"])
        self.targets_1d_ = bool(extra["targets_1d"])
        self.scaling_ = _Scaling(**extra["scaling"])
        self.history_ = TrainingHistory.from_dict(extra["history"])
        self.network_ = self._build_network(self.n_features_in_, len(self.scaling_.y_mean))

    # -- helpers --------------------------------------------------------------------------

    def _build_network(self, n_features: int, n_targets: int) -> SequenceRegressorNet:
        torch.manual_seed(self.seed)
        return SequenceRegressorNet(
            n_features, n_targets, self.hidden_size, self.num_layers, cell=self.cell,
            bidirectional=self.bidirectional, dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout, pooling=self.pooling, compile=self.compile,
        )

    def _trainer(self, has_val: bool = True, **extra: Any) -> Trainer:
        return super()._trainer(has_val, checkpoint_dir=self.checkpoint_dir, **extra)

    def _dataset(self, x: np.ndarray, lengths: np.ndarray, y: np.ndarray | None) -> TensorDataset:
        s = self.scaling_
        steps = np.arange(x.shape[1])[None, :, None]
        scaled = np.where(steps < lengths[:, None, None], (x - s.x_mean) / s.x_std, 0.0)
        tensors = [torch.as_tensor(scaled, dtype=torch.float32), torch.as_tensor(lengths)]
        if y is not None:
            tensors.append(torch.as_tensor((y - s.y_mean) / s.y_std, dtype=torch.float32))
        return TensorDataset(*tensors)

def _as_sequences(
    X: Any, lengths: Any, n_features: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate X (n, time, features) and lengths; NaN/inf in the valid part is an error."""
    try:
        x = np.asarray(X.detach().cpu() if isinstance(X, torch.Tensor) else X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataValidationError(f"X must be numeric (n_samples, time, features): {err}") from err
    if x.ndim != 3 or 0 in x.shape:
        raise DataValidationError(
            f"X must be a non-empty 3-D array (n_samples, time, features), got shape {x.shape}"
        )
    if n_features is not None and x.shape[2] != n_features:
        raise DataValidationError(
            f"X has {x.shape[2]} features per step, the model was fitted on {n_features}"
        )
    if lengths is None:
        lengths = np.full(len(x), x.shape[1], dtype=np.int64)
    lengths = np.asarray(lengths)
    if lengths.shape != (len(x),) or not np.issubdtype(lengths.dtype, np.integer):
        raise DataValidationError(
            f"lengths must be {len(x)} integers (one per sample), got {lengths.dtype} array of "
            f"shape {lengths.shape}"
        )
    bad = np.flatnonzero((lengths < 1) | (lengths > x.shape[1]))
    if bad.size:
        raise DataValidationError(
            f"sample {bad[0]} has length {lengths[bad[0]]}; lengths must be in 1..{x.shape[1]}"
        )
    valid = np.arange(x.shape[1])[None, :] < lengths[:, None]
    not_finite = ~np.isfinite(x) & valid[..., None]
    if not_finite.any():
        sample, step, feature = np.argwhere(not_finite)[0]
        raise DataValidationError(
            f"X[{sample}, {step}, {feature}] is {x[sample, step, feature]}; "
            "impute or drop missing values before fitting"
        )
    return x, lengths.astype(np.int64)


def _as_targets(y: Any, n: int) -> np.ndarray:
    try:
        target = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataValidationError(f"y must be numeric: {err}") from err
    if target.ndim == 1:
        target = target[:, None]
    if target.ndim != 2 or len(target) != n:
        raise DataValidationError(
            f"y must have shape ({n},) or ({n}, n_targets) to match X, got {np.shape(y)}"
        )
    if not np.isfinite(target).all():
        row = int(np.argwhere(~np.isfinite(target))[0, 0])
        raise DataValidationError(f"y[{row}] is not finite; drop or impute that sample")
    return target


def _fit_scaling(x: np.ndarray, lengths: np.ndarray, y: np.ndarray) -> _Scaling:
    """Mean/std of the valid (unpadded) steps of the training samples; std 0 -> 1."""
    valid = np.arange(x.shape[1])[None, :] < lengths[:, None]
    steps = x[valid]  # (valid steps, features)

    def safe(std: np.ndarray) -> list[float]:
        return np.where(std > 0, std, 1.0).tolist()

    return _Scaling(steps.mean(0).tolist(), safe(steps.std(0)), y.mean(0).tolist(),
                    safe(y.std(0)))
