"""`TrainerConfig`: every knob of the training loop, validated, and a plain dict round trip."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from typing import Any

from lstmkit.errors import ConfigError

LR_SCHEDULES = ("constant", "cosine", "step", "plateau")
PRECISIONS = ("float32", "bfloat16")
SAMPLINGS = ("epochs", "random")
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


@dataclass(frozen=True)
class TrainerConfig:
    """Hyperparameters of `Trainer`; validated on construction (`ConfigError` names the field).

    `max_steps`: a budget of optimizer steps (batches) that replaces `max_epochs`: training
    stops after exactly that many steps in total, so the last epoch may be partial.

    Learning-rate schedules are stepped once per epoch:
    ``constant``; ``cosine`` (from `lr` down to `min_lr` over the epochs after warm-up);
    ``step`` (multiply by `gamma` every `step_size` epochs); ``plateau`` (multiply by `gamma`
    when the validation loss, or the training loss without validation data, has not improved
    for more than `plateau_patience` epochs, never below `min_lr`). `warmup_epochs` > 0 ramps
    the rate linearly up to `lr` first, for any schedule. With `max_steps` the warm-up,
    ``constant``, ``cosine`` and ``step`` schedules are stepped after every optimizer step
    instead (cosine then decays over the `max_steps` steps; `warmup_epochs` and `step_size`
    count epochs of the training data's batches); ``plateau`` still acts at epoch ends.

    `ema_decay`: keep an exponential moving average of the weights (updated after every
    optimizer step, `lstmkit.training.averaging`); validation, early stopping and the weights
    `fit` leaves in the model are then the averaged ones. Averaging damps the last steps'
    noise, which on small data is much of the spread between seeds. The decay warms up: update
    n uses min(ema_decay, (1 + n) / (4 + n)), so the initial weights are gone from the average
    after a few dozen steps, whatever the decay.

    `precision`: ``"float32"``, or ``"bfloat16"`` for mixed precision: the training forward
    pass and loss run under `torch.autocast` in bfloat16 (the LSTM kernels and matrix products
    in bfloat16, weights, gradients, optimizer and evaluation in float32; no loss scaling is
    needed). Faster where the hardware has bfloat16 arithmetic (CPUs with AVX512-BF16 or AMX,
    GPUs from Ampere on); elsewhere it runs emulated and slower.

    `sampling`: ``"epochs"`` (every epoch visits each training item once, in an order drawn
    afresh each epoch; in file order with `shuffle=False`) or ``"random"`` (every item of every
    batch drawn uniformly at random, with replacement, as NeuralForecast draws its windows; an
    epoch is still ``len(data) / batch_size`` batches). Both are seeded per epoch, so runs and
    resumed runs repeat exactly.

    `batch_size` is the global batch. `distributed`: None uses data-parallel training when
    torchrun started more than one process (each takes ``batch_size / WORLD_SIZE`` windows of
    every batch; see `lstmkit.training.distributed`), False never, True requires torchrun.
    """

    max_epochs: int = 20
    max_steps: int | None = None
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_norm: float | None = None
    clip_value: float | None = None
    tbptt_steps: int | None = None
    lr_schedule: str = "constant"
    warmup_epochs: int = 0
    step_size: int = 10
    gamma: float = 0.1
    plateau_patience: int = 5
    min_lr: float = 0.0
    early_stopping_patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    ema_decay: float | None = None
    precision: str = "float32"
    seed: int = 0
    device: str = "auto"
    checkpoint_dir: str | None = None
    resume: bool = False
    progress: bool | None = None
    shuffle: bool = True
    sampling: str = "epochs"
    num_workers: int = 0
    distributed: bool | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass: normalise values in place
        for name in ("max_epochs", "batch_size", "step_size"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("warmup_epochs", "plateau_patience", "seed", "num_workers"):
            _check_int(name, getattr(self, name), minimum=0)
        if self.seed >= 2**63:
            raise ConfigError(f"seed must be below 2**63, got {self.seed}")
        for name in ("max_steps", "tbptt_steps"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), minimum=1)
        if self.early_stopping_patience is not None:
            _check_int("early_stopping_patience", self.early_stopping_patience, minimum=0)

        set_(self, "lr", _check_float("lr", self.lr, positive=True))
        for name in ("weight_decay", "min_lr", "min_delta"):
            set_(self, name, _check_float(name, getattr(self, name), positive=False))
        if self.ema_decay is not None:
            decay = _check_float("ema_decay", self.ema_decay, positive=True)
            if not decay < 1:
                raise ConfigError(f"ema_decay must be in (0, 1) or None, got {decay}")
            set_(self, "ema_decay", decay)
        for name in ("clip_norm", "clip_value"):
            if getattr(self, name) is not None:
                set_(self, name, _check_float(name, getattr(self, name), positive=True))
        set_(self, "gamma", _check_float("gamma", self.gamma, positive=True))

        for name, choices in (("precision", PRECISIONS), ("sampling", SAMPLINGS),
                              ("lr_schedule", LR_SCHEDULES)):
            if getattr(self, name) not in choices:
                raise ConfigError(f"{name} must be one of {', '.join(map(repr, choices))}, "
                                  f"got {getattr(self, name)!r}")
        if self.gamma > 1.0 or (self.lr_schedule == "plateau" and self.gamma == 1.0):
            raise ConfigError(
                f"gamma is the factor the learning rate is multiplied by and must be in (0, 1)"
                f" (1 allowed for 'step'), got {self.gamma}"
            )
        if self.min_lr > self.lr:
            raise ConfigError(f"min_lr ({self.min_lr}) must not exceed lr ({self.lr})")
        if not isinstance(self.device, str) or not _DEVICE_PATTERN.match(self.device):
            raise ConfigError(
                f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}"
            )
        if self.checkpoint_dir is not None:
            if not isinstance(self.checkpoint_dir, str | os.PathLike):
                kind = type(self.checkpoint_dir).__name__
                raise ConfigError(f"checkpoint_dir must be a path or None, got {kind}")
            set_(self, "checkpoint_dir", os.fspath(self.checkpoint_dir))
        for name in ("restore_best", "resume", "shuffle"):
            _check_bool(name, getattr(self, name))
        for name in ("progress", "distributed"):
            if getattr(self, name) is not None:
                _check_bool(name, getattr(self, name))
        if self.sampling == "random" and not self.shuffle:
            raise ConfigError("sampling='random' draws the items at random; it needs "
                              "shuffle=True (shuffle=False keeps the file order)")
        if self.resume and self.checkpoint_dir is None:
            raise ConfigError("resume=True needs checkpoint_dir to be set")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of JSON/YAML-friendly values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainerConfig:
        """Build from a dict such as `to_dict()` returns; unknown keys raise `ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError(f"TrainerConfig.from_dict needs a dict, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown TrainerConfig field(s) {', '.join(unknown)}; "
                f"valid fields are {', '.join(sorted(known))}"
            )
        return cls(**data)

    def replace(self, **changes: Any) -> TrainerConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")


def _check_float(name: str, value: object, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
    if not positive and value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}")
    return value


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
