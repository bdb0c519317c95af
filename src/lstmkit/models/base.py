"""What every estimator shares: save/load, constructor config, weights, its Trainer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

import torch

from lstmkit import io
from lstmkit.errors import LstmkitError
from lstmkit.training import Trainer


class BaseEstimator:
    """Mixin for estimators whose learned weights live in `network_` (see `lstmkit.io`) and
    whose training hyperparameters (max_epochs, batch_size, lr, weight_decay, clip_norm,
    lr_schedule, early_stopping_patience, seed, device, precision, progress) feed the shared
    Trainer.

    Subclasses register with `@io.register_model(kind)` and add `get_extra`/`set_extra`
    for the rest of their fitted state.
    """

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save to a folder (safetensors weights + JSON config); never pickle."""
        self._check_fitted()
        return io.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Load a model saved by `save`."""
        model = io.load(path)
        if not isinstance(model, cls):
            raise LstmkitError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-able)."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        return cls(**config)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.network_.state_dict() if self._is_fitted() else {}

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        self.network_.load_state_dict(tensors, strict=True)

    def _trainer(self, has_val: bool = True, **extra: Any) -> Trainer:
        """The Trainer for these hyperparameters (early stopping only with validation data);
        `extra` adds or overrides TrainerConfig fields."""
        settings: dict[str, Any] = dict(
            max_epochs=self.max_epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, clip_norm=self.clip_norm,
            lr_schedule=self.lr_schedule,
            early_stopping_patience=self.early_stopping_patience if has_val else None,
            seed=self.seed, device=self.device, precision=self.precision,
            progress=self.progress,
        )
        return Trainer(**{**settings, **extra})

    def _is_fitted(self) -> bool:
        return hasattr(self, "network_")

    def _check_fitted(self) -> None:
        if not self._is_fitted():
            raise LstmkitError(
                f"this {type(self).__name__} is not fitted yet; call fit first")
