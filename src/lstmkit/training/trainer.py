"""One training loop for every task; tasks differ only in dataset, model head and loss.

Batch convention: every batch is a tuple ``(*inputs, target)``; the prediction is
``model(*inputs)`` and the loss ``loss_fn(prediction, target)``. With truncated BPTT the
model is called as ``model(x_chunk, *other_inputs, state=state)`` and returns
``(prediction, state)``.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau
from torch.utils.data import DataLoader, Dataset, IterableDataset, RandomSampler, TensorDataset

from lstmkit.allocator import keep_freed_memory
from lstmkit.errors import (
    CheckpointError,
    ConfigError,
    DataValidationError,
    ShapeError,
    TrainingError,
)
from lstmkit.seeding import seed_everything
from lstmkit.training import distributed
from lstmkit.training.averaging import WeightAverage
from lstmkit.training.checkpoint import (
    TrainingCheckpoint,
    capture_rng_state,
    checkpoint_path,
    load_checkpoint,
    remove_stale_temp_files,
    restore_rng_state,
    save_checkpoint,
)
from lstmkit.training.config import TrainerConfig
from lstmkit.training.precision import autocast, check_precision
from lstmkit.training.progress import TrainingProgress, progress_enabled

logger = logging.getLogger(__name__)

LossFn = Callable[[Any, Any], torch.Tensor]
Data = Dataset | DataLoader | Sequence[torch.Tensor]
EpochCallback = Callable[["EpochRecord"], bool | None]

# Config fields that may change between a run and its resumption without a warning.
_RESUME_FREE_FIELDS = {
    "max_epochs",
    "checkpoint_dir",
    "resume",
    "progress",
    "device",
    "num_workers",
    "distributed",
}


@dataclass
class EpochRecord:
    """What one epoch did; `epoch` counts from 1, `lr` is the rate at the epoch's start (the
    rate of the whole epoch unless `max_steps` steps the schedule after every batch)."""

    epoch: int
    train_loss: float
    val_loss: float | None
    lr: float
    seconds: float


@dataclass
class TrainingHistory:
    """Per-epoch records plus the early-stopping outcome."""

    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_loss: float | None = None
    stopped_early: bool = False

    @property
    def train_losses(self) -> list[float]:
        return [r.train_loss for r in self.records]

    @property
    def val_losses(self) -> list[float | None]:
        return [r.val_loss for r in self.records]

    @property
    def lrs(self) -> list[float]:
        return [r.lr for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-able)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingHistory:
        """Inverse of `to_dict`."""
        return cls(
            records=[EpochRecord(**r) for r in data["records"]],
            best_epoch=data["best_epoch"],
            best_val_loss=data["best_val_loss"],
            stopped_early=data["stopped_early"],
        )


# ----------------------------------------------------------------------------- helpers


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; asking for missing CUDA, or for a device
    torch does not know, raises `ConfigError`."""
    if not isinstance(device, str):
        raise ConfigError(f"device must be a name such as 'auto', 'cpu' or 'cuda:0', got "
                          f"{device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but CUDA is not available; use 'auto' or 'cpu'")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device={device!r} is not a device torch knows; use 'auto', 'cpu' "
                          "or 'cuda:N'") from None


def to_device(obj: Any, device: torch.device) -> Any:
    """Move tensors (also inside tuples, lists, dicts, packed sequences) to `device`."""
    if isinstance(obj, torch.Tensor | PackedSequence):
        return obj.to(device, non_blocking=device.type == "cuda")
    if isinstance(obj, tuple | list):
        return type(obj)(to_device(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    return obj


def detach_state(state: Any) -> Any:
    """Detach a recurrent state: a tensor, None, or a (nested) tuple/list of those."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(detach_state(s) for s in state)
    raise ConfigError(
        f"recurrent state must be a tensor, None or a tuple of those, got {type(state).__name__}"
    )


def clip_gradients(
    parameters: Iterable[torch.Tensor],
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> torch.Tensor | None:
    """Clip each gradient element to ±`clip_value`, then the total L2 norm to `clip_norm`.

    Returns the total norm before norm clipping (None when `clip_norm` is None).
    """
    if clip_norm is None and clip_value is None:  # nothing to clip: skip the parameter walk
        return None
    params = [p for p in parameters if p.grad is not None]
    if clip_value is not None:
        nn.utils.clip_grad_value_(params, clip_value)
    if clip_norm is not None:
        return nn.utils.clip_grad_norm_(params, clip_norm)
    return None


def call_stateful(
    model: nn.Module, x: torch.Tensor, rest: Sequence[Any], state: Any
) -> tuple[Any, Any]:
    """`model(x, *rest, state=state)`, checked to return a `(prediction, state)` pair."""
    out = model(x, *rest, state=state)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise ConfigError(
            f"tbptt_steps needs a model whose forward returns (prediction, state); "
            f"{type(model).__name__} returned {type(out).__name__}"
            + (f" of length {len(out)}" if isinstance(out, tuple | list) else "")
            + ". Return the recurrent state too, or set tbptt_steps=None for full BPTT"
        )
    return out[0], out[1]


def tbptt_batch(
    model: nn.Module,
    inputs: Sequence[Any],
    target: torch.Tensor,
    loss_fn: LossFn,
    steps: int,
    update: Callable[[torch.Tensor], None],
) -> float:
    """Run one batch with truncated BPTT over axis 1 of `inputs[0]`; returns its mean loss.

    `update(loss)` does backward (and usually clipping and an optimizer step).
    Per-step targets (``target.shape[1] == T``): the sequence is cut into chunks of `steps`,
    each chunk's loss is passed to `update`, and the state is detached between chunks.
    Other targets (many-to-one): the first ``T - steps`` steps run without gradient to build
    the state and only the last `steps` steps get gradient.
    """
    x, rest = inputs[0], tuple(inputs[1:])
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        raise ShapeError(
            "tbptt_steps needs the first input to be a (batch, time, ...) tensor, got "
            + (f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__)
        )
    length = x.shape[1]
    if isinstance(target, torch.Tensor) and target.dim() >= 2 and target.shape[1] == length:
        state = None
        losses = []
        for start in range(0, length, steps):
            stop = min(start + steps, length)
            prediction, state = call_stateful(model, x[:, start:stop], rest, state)
            loss = loss_fn(prediction, target[:, start:stop])
            update(loss)
            state = detach_state(state)
            losses.append(loss.detach() * (stop - start))
        return (torch.stack(losses).sum() / length).item()

    state = None
    if length > steps:
        with torch.no_grad():
            _, state = call_stateful(model, x[:, : length - steps], rest, None)
        state = detach_state(state)
        x = x[:, length - steps :]
    prediction, _ = call_stateful(model, x, rest, state)
    loss = loss_fn(prediction, target)
    update(loss)
    return loss.item()


def as_dataset(data: Any, name: str = "data") -> Dataset | DataLoader:
    """A Dataset or DataLoader as given; a tuple/list of tensors as a `TensorDataset`."""
    if isinstance(data, Dataset | DataLoader):
        return data
    if isinstance(data, tuple | list) and data and all(isinstance(t, torch.Tensor) for t in data):
        if any(t.dim() == 0 for t in data):
            raise ShapeError(f"{name}: every tensor needs a leading sample axis")
        sizes = [t.shape[0] for t in data]
        if len(set(sizes)) != 1:
            raise ShapeError(
                f"{name}: tensors must have the same number of samples (axis 0), got {sizes}"
            )
        return TensorDataset(*data)
    raise DataValidationError(
        f"{name} must be a torch Dataset, a DataLoader or a tuple of tensors (*inputs, target), "
        f"got {type(data).__name__}"
    )


def split_batch(batch: Any) -> tuple[tuple[Any, ...], Any]:
    """`(*inputs, target)` -> `(inputs, target)`."""
    if not isinstance(batch, tuple | list) or len(batch) < 2:
        raise DataValidationError(
            f"each batch must be a tuple (*inputs, target) with at least one input, got "
            f"{type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, tuple | list) else "")
        )
    return tuple(batch[:-1]), batch[-1]


def _batch_size(inputs: Sequence[Any], target: Any) -> int:
    for t in (target, *inputs):
        if isinstance(t, torch.Tensor) and t.dim() > 0:
            return t.shape[0]
    return 1


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % 2**63


# ------------------------------------------------------------------------- LR schedule


def _lr_multiplier(config: TrainerConfig, unit: int = 1) -> Callable[[int], float]:
    """Factor on `lr` for a 0-based epoch (warm-up, then constant/cosine/step); with
    `max_steps`, for a 0-based optimizer step, an epoch being `unit` steps."""
    warmup, schedule = config.warmup_epochs * unit, config.lr_schedule
    ratio = config.min_lr / config.lr
    total = config.max_epochs if config.max_steps is None else config.max_steps

    def multiplier(index: int) -> float:
        if index < warmup:
            return (index + 1) / (warmup + 1)
        t = index - warmup
        if schedule == "step":
            return config.gamma ** (t // (config.step_size * unit))
        if schedule == "cosine":
            progress = min(1.0, t / max(1, total - warmup))
            return ratio + (1.0 - ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0

    return multiplier


class LRSchedule:
    """Learning-rate schedule on top of `torch.optim.lr_scheduler`: stepped once per epoch,
    or with `max_steps` once per optimizer step (``plateau`` always at epoch ends).

    `steps_per_epoch` converts `warmup_epochs` and `step_size` to steps under `max_steps`.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        config: TrainerConfig,
        steps_per_epoch: int | None = None,
    ) -> None:
        self.per_step = config.max_steps is not None
        unit = (steps_per_epoch or 1) if self.per_step else 1
        if self.per_step and steps_per_epoch is None and (
            config.warmup_epochs or config.lr_schedule == "step"
        ):
            raise ConfigError(
                "max_steps with warmup_epochs or lr_schedule='step' needs training data whose "
                "batches per epoch are known (a map-style Dataset, tensors or a DataLoader with "
                "a length); use lr_schedule='cosine'/'constant' without warm-up instead"
            )
        self.warmup = config.warmup_epochs * unit
        self.lambda_lr = LambdaLR(optimizer, _lr_multiplier(config, unit))
        self.plateau = (
            ReduceLROnPlateau(
                optimizer,
                factor=config.gamma,
                patience=config.plateau_patience,
                min_lr=config.min_lr,
            )
            if config.lr_schedule == "plateau"
            else None
        )

    def _warm(self) -> bool:
        """True once the warm-up is over (the lambda schedule stops counting then for
        ``plateau``)."""
        return self.lambda_lr.last_epoch >= self.warmup

    def batch_done(self) -> None:
        """Call after every optimizer step."""
        if self.per_step and not (self.plateau is not None and self._warm()):
            self.lambda_lr.step()

    def epoch_done(self, metric: float) -> None:
        """Call once at the end of every epoch with the monitored loss."""
        if self.plateau is not None and self._warm():
            self.plateau.step(metric)
        elif not self.per_step:
            self.lambda_lr.step()

    def state_dict(self) -> dict[str, Any]:
        return {
            "lambda": self.lambda_lr.state_dict(),
            "plateau": None if self.plateau is None else self.plateau.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if (state["plateau"] is None) != (self.plateau is None):
            raise ValueError("the checkpoint was written with a different lr_schedule")
        self.lambda_lr.load_state_dict(state["lambda"])
        if self.plateau is not None:
            self.plateau.load_state_dict(state["plateau"])


# ----------------------------------------------------------------------------- Trainer


def _moving_average(model: nn.Module, decay: float | None) -> WeightAverage | None:
    """An exponential moving average of `model`'s weights (None without a decay)."""
    return None if decay is None else WeightAverage(model, decay)


def _adamw(model: nn.Module, cfg: TrainerConfig) -> torch.optim.AdamW:
    """AdamW with its fused kernel (one kernel for all of a step's updates; the per-tensor loop
    took a fifth of a training step of a small forecaster), or the per-tensor loop where the
    device or torch version has no fused kernel."""
    params = list(model.parameters())
    try:
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    except RuntimeError:
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@dataclass
class _RunState:
    epoch: int = 0  # epochs completed
    global_step: int = 0  # optimizer steps taken
    bad_epochs: int = 0  # epochs since the validation loss last improved
    history: TrainingHistory = field(default_factory=TrainingHistory)
    best_state: dict[str, torch.Tensor] | None = None
    ema: WeightAverage | None = None  # moving average of the weights (ema_decay)

    def evaluated(self, model: nn.Module) -> nn.Module:
        """The weights validation judges and training returns: the average, if kept."""
        return model if self.ema is None else self.ema.module


class Trainer:
    """Trains any `nn.Module` on `(*inputs, target)` batches; see `TrainerConfig`."""

    def __init__(self, config: TrainerConfig | None = None, **overrides: Any) -> None:
        base = config.to_dict() if config is not None else {}
        self.config = TrainerConfig.from_dict({**base, **overrides})
        self.distributed = distributed.detect(self.config.distributed)
        self.device = distributed.rank_device(resolve_device(self.config.device),
                                              self.distributed)
        check_precision(self.config.precision, self.device)

    @property
    def is_main(self) -> bool:
        """True unless this is a rank other than 0 of a distributed run."""
        return self.distributed is None or self.distributed.is_main

    # -- public API -------------------------------------------------------------------

    def fit(
        self,
        model: nn.Module,
        train: Data,
        val: Data | None = None,
        loss_fn: LossFn | None = None,
        *,
        resume: bool | None = None,
        callbacks: Sequence[EpochCallback] = (),
    ) -> TrainingHistory:
        """Train `model` in place and return the history.

        With `val`, the best weights (lowest validation loss) are restored at the end unless
        `restore_best=False`. `resume` (default: `config.resume`) continues from the
        checkpoint in `checkpoint_dir` if one exists. Each callback gets the `EpochRecord`
        after every epoch; returning True stops training.

        Under torchrun every rank must call `fit` with the same data: the model trains in
        `DistributedDataParallel` on a shard of every batch, losses are averaged over ranks,
        and only rank 0 logs, shows progress and writes checkpoints.
        """
        cfg = self.config
        loss_fn = loss_fn if loss_fn is not None else nn.MSELoss()
        resume = cfg.resume if resume is None else resume
        if resume and cfg.checkpoint_dir is None:
            raise ConfigError("resume=True needs checkpoint_dir to be set")
        if cfg.early_stopping_patience is not None and val is None:
            raise ConfigError("early_stopping_patience needs validation data: pass val=... to fit")
        if cfg.tbptt_steps is not None:
            _check_accepts_state(model)
        train_set = as_dataset(train, "train")
        val_set = as_dataset(val, "val") if val is not None else None
        ctx = self.distributed
        if ctx is not None:
            distributed.check_batch_size(cfg.batch_size, ctx)
            distributed.init_process_group(self.device)
            if self.is_main and not _shardable(train_set):
                logger.warning(
                    "distributed training got a %s it cannot shard: every rank trains on all "
                    "of its batches (same result, no speed-up); pass a map-style Dataset",
                    type(train_set).__name__)

        keep_freed_memory()
        seed_everything(cfg.seed)
        model.to(self.device)
        optimizer = _adamw(model, cfg)
        steps_per_epoch = _batches_per_epoch(train_set, cfg.batch_size)
        schedule = LRSchedule(optimizer, cfg, steps_per_epoch)
        run = _RunState(ema=_moving_average(model, cfg.ema_decay))
        ckpt_file = None
        if cfg.checkpoint_dir is not None:
            ckpt_file = checkpoint_path(cfg.checkpoint_dir)
            if self.is_main:
                remove_stale_temp_files(cfg.checkpoint_dir)
            if resume and ckpt_file.exists():  # every rank loads the checkpoint
                run = self._restore(ckpt_file, model, optimizer, schedule)
                if self.is_main:
                    logger.info("resumed from %s after epoch %d", ckpt_file, run.epoch)
            if ctx is not None and not distributed.same_on_all_ranks(run.epoch, self.device):
                raise CheckpointError(
                    f"the ranks found different checkpoints in {cfg.checkpoint_dir}: put "
                    f"checkpoint_dir on a filesystem every node shares")
        net = distributed.wrap(model, self.device) if ctx is not None else model

        bar = TrainingProgress(progress_enabled(cfg.progress) and self.is_main,
                               self._planned_epochs(steps_per_epoch), run.epoch + 1)
        with bar:
            while not self._budget_spent(run) and not run.history.stopped_early:
                self._run_epoch(
                    model, net, train_set, val_set, loss_fn, optimizer, schedule, run, bar)
                stop = any([callback(run.history.records[-1]) is True for callback in callbacks])
                if ctx is not None:  # a callback that stops one rank stops them all
                    stop = distributed.any_rank(stop, self.device)
                if stop:
                    run.history.stopped_early = True
                if ckpt_file is not None:
                    if self.is_main:
                        self._save(ckpt_file, model, optimizer, schedule, run)
                    if ctx is not None:
                        distributed.barrier()

        if val_set is not None and cfg.restore_best and run.best_state is not None:
            model.load_state_dict(run.best_state)
        elif run.ema is not None:
            model.load_state_dict(run.ema.module.state_dict())
        return run.history

    def evaluate(self, model: nn.Module, data: Data, loss_fn: LossFn | None = None) -> float:
        """Mean loss over `data` (weighted by batch size), in eval mode without gradients."""
        loss_fn = loss_fn if loss_fn is not None else nn.MSELoss()
        return self._mean_loss(model, as_dataset(data), loss_fn, shard=False)

    def _mean_loss(
        self, model: nn.Module, data: Dataset | DataLoader, loss_fn: LossFn, shard: bool
    ) -> float:
        """`evaluate`; with `shard` in a distributed run each rank takes every W-th sample
        and the sums are added over ranks."""
        ctx = self.distributed if shard and _shardable(data) else None
        sampler = None if ctx is None else distributed.eval_shard(len(data), ctx)
        loader = self._loader(data, shuffle=False, sampler=sampler)
        device = _model_device(model, self.device)
        total, count = 0.0, 0
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for batch in loader:
                    inputs, target = split_batch(to_device(batch, device))
                    n = _batch_size(inputs, target)
                    total += loss_fn(self._forward(model, inputs), target).item() * n
                    count += n
        finally:
            model.train(was_training)
        if ctx is not None:
            total, count = distributed.all_sum([total, count], device)
        if count == 0:
            raise DataValidationError("cannot evaluate on empty data")
        return total / count

    def predict(self, model: nn.Module, data: Data | torch.Tensor) -> torch.Tensor:
        """Predictions for every sample, concatenated on axis 0, on the CPU.

        `data` is a single input tensor, or data in the `(*inputs, target)` layout used by
        `fit` (targets are ignored).
        """
        has_target = not isinstance(data, torch.Tensor)
        dataset = as_dataset(data) if has_target else TensorDataset(data)
        device = _model_device(model, self.device)
        outputs = []
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for batch in self._loader(dataset, shuffle=False):
                    batch = to_device(batch, device)
                    inputs = split_batch(batch)[0] if has_target else tuple(batch)
                    prediction = self._forward(model, inputs)
                    if not isinstance(prediction, torch.Tensor):
                        raise ShapeError(
                            f"predict needs the model to return a tensor, got "
                            f"{type(prediction).__name__}"
                        )
                    outputs.append(prediction.cpu())
        finally:
            model.train(was_training)
        if not outputs:
            raise DataValidationError("cannot predict on empty data")
        return torch.cat(outputs)

    # -- internals --------------------------------------------------------------------

    def _run_epoch(
        self,
        model: nn.Module,
        net: nn.Module,
        train_set: Dataset | DataLoader,
        val_set: Dataset | DataLoader | None,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        schedule: LRSchedule,
        run: _RunState,
        bar: TrainingProgress,
    ) -> None:
        cfg = self.config
        ctx = self.distributed
        epoch = run.epoch + 1
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        if ctx is not None:
            seed_everything(distributed.rank_seed(cfg.seed, epoch, ctx.rank))
        loader = self._train_loader(train_set, epoch)
        batches = _length(loader)
        left = None if cfg.max_steps is None else cfg.max_steps - run.global_step
        bar.start_epoch(epoch, batches if left is None or batches is None else min(batches, left))
        model.train()
        total, count = 0.0, 0
        for batch_index, batch in enumerate(loader, start=1):
            scale = 1.0
            if ctx is not None and batch_index == batches and _shardable(train_set):
                real, scale = distributed.last_batch_share(len(train_set), cfg.batch_size, ctx)
                batch = distributed.take_first(batch, max(real, 1))  # padding-only: weight 0
            inputs, target = split_batch(to_device(batch, self.device))

            def update(
                loss: torch.Tensor, batch_index: int = batch_index, scale: float = scale
            ) -> None:
                if self._budget_spent(run):  # TBPTT: the budget can end inside a batch
                    return
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingError(self._divergence_message(value, epoch, batch_index, run))
                with autocast(cfg.precision, self.device, enabled=False):
                    optimizer.zero_grad(set_to_none=True)
                    (loss * scale if ctx is not None else loss).backward()
                    clip_gradients(model.parameters(), cfg.clip_norm, cfg.clip_value)
                    optimizer.step()
                    if run.ema is not None:
                        run.ema.update()
                run.global_step += 1
                schedule.batch_done()

            with autocast(cfg.precision, self.device):  # `update` leaves it for its part
                if cfg.tbptt_steps is not None:
                    loss_value = tbptt_batch(net, inputs, target, loss_fn, cfg.tbptt_steps,
                                             update)
                else:
                    loss = loss_fn(net(*inputs), target)
                    update(loss)
                    loss_value = loss.item()
            n = _batch_size(inputs, target) if scale else 0
            total += loss_value * n
            count += n
            bar.batch_done(total / max(count, 1))
            if self._budget_spent(run):
                break
        if ctx is not None:
            total, count = distributed.all_sum([total, count], self.device)
        if count == 0:
            raise DataValidationError("training data is empty: no batches to train on")
        train_loss = total / count

        val_loss = None
        if val_set is not None:
            val_loss = self._mean_loss(run.evaluated(model), val_set, loss_fn, shard=True)
            if not math.isfinite(val_loss):
                raise TrainingError(
                    f"validation loss is {val_loss} after epoch {epoch}; check the validation "
                    f"data for NaN/Inf values, or lower the learning rate (lr={lr:g})"
                )
        schedule.epoch_done(val_loss if val_loss is not None else train_loss)
        record = EpochRecord(epoch, train_loss, val_loss, lr, time.perf_counter() - started)
        history = run.history
        history.records.append(record)
        run.epoch = epoch
        if val_loss is not None:
            if history.best_val_loss is None or val_loss < history.best_val_loss - cfg.min_delta:
                history.best_val_loss, history.best_epoch = val_loss, epoch
                run.bad_epochs = 0
                run.best_state = {k: v.detach().clone()
                                  for k, v in run.evaluated(model).state_dict().items()}
            else:
                run.bad_epochs += 1
                patience = cfg.early_stopping_patience
                if patience is not None and run.bad_epochs >= patience:
                    history.stopped_early = True
                    if self.is_main:
                        logger.info(
                            "early stopping after epoch %d: no improvement for %d epochs "
                            "(best epoch %d)",
                            epoch,
                            run.bad_epochs,
                            history.best_epoch,
                        )
        if self.is_main:
            logger.info(
                "epoch %d/%d train_loss=%.6g val_loss=%s lr=%.3g (%.2fs)",
                epoch,
                self._planned_epochs(_batches_per_epoch(train_set, cfg.batch_size)),
                train_loss,
                "-" if val_loss is None else f"{val_loss:.6g}",
                lr,
                record.seconds,
            )
        bar.epoch_done(train_loss, val_loss)

    def _budget_spent(self, run: _RunState) -> bool:
        """True once the run has taken `max_steps` optimizer steps or `max_epochs` epochs."""
        if self.config.max_steps is not None:
            return run.global_step >= self.config.max_steps
        return run.epoch >= self.config.max_epochs

    def _planned_epochs(self, steps_per_epoch: int | None) -> int:
        """Epochs the run takes without early stopping (under `max_steps` with batches per
        epoch unknown, the bound of one step per epoch)."""
        cfg = self.config
        if cfg.max_steps is None:
            return cfg.max_epochs
        return math.ceil(cfg.max_steps / (steps_per_epoch or 1))

    def _divergence_message(self, value: float, epoch: int, batch: int, run: _RunState) -> str:
        cfg = self.config
        clip = (
            "enable gradient clipping (e.g. clip_norm=1.0)"
            if cfg.clip_norm is None
            else f"clip gradients harder (clip_norm={cfg.clip_norm:g} now)"
        )
        kept = (
            f"; the checkpoint of the last completed epoch is kept in {cfg.checkpoint_dir}"
            if cfg.checkpoint_dir is not None
            else ""
        )
        return (
            f"training diverged: the loss is {value} at epoch {epoch}, step {batch} "
            f"(batch {batch} of the epoch, global step {run.global_step + 1}). "
            f"Lower the learning rate (lr={cfg.lr:g}), {clip}, "
            f"or check the data for NaN/Inf values{kept}"
        )

    def _forward(self, model: nn.Module, inputs: Sequence[Any]) -> Any:
        if self.config.tbptt_steps is not None:
            return call_stateful(model, inputs[0], inputs[1:], None)[0]
        return model(*inputs)

    def _train_loader(self, data: Dataset | DataLoader, epoch: int) -> DataLoader:
        """The epoch's batches; in a distributed run this rank's share of each global batch
        (the global batches are the single-process ones, see `distributed`)."""
        ctx, cfg = self.distributed, self.config
        if ctx is None or not _shardable(data):
            return self._loader(data, shuffle=cfg.shuffle, epoch=epoch)
        n = len(data)

        def order(epoch: int) -> list[int]:  # the single-process loader's order
            return distributed.loader_order(self._loader(range(n), cfg.shuffle, epoch))

        sampler = distributed.EpochShardSampler(data, ctx, order)
        sampler.set_epoch(epoch)
        return self._loader(
            data, shuffle=False, epoch=epoch, sampler=sampler,
            batch_size=distributed.check_batch_size(cfg.batch_size, ctx))

    def _loader(
        self,
        data: Dataset | DataLoader | range,
        shuffle: bool,
        epoch: int = 0,
        sampler: Iterable[int] | None = None,
        batch_size: int | None = None,
    ) -> DataLoader:
        if isinstance(data, DataLoader):
            return data
        # A generator seeded from (seed, epoch): the order never depends on global RNG use.
        generator = torch.Generator()
        generator.manual_seed(_epoch_seed(self.config.seed, epoch))
        if (shuffle and sampler is None and self.config.sampling == "random"
                and not isinstance(data, IterableDataset)):
            sampler = RandomSampler(data, replacement=True, num_samples=len(data),
                                    generator=generator)
            shuffle = False
        return DataLoader(
            data,
            batch_size=batch_size or self.config.batch_size,
            shuffle=shuffle and not isinstance(data, IterableDataset),
            sampler=sampler,
            num_workers=self.config.num_workers,
            collate_fn=getattr(data, "collate_fn", None),
            generator=generator,
            pin_memory=self.device.type == "cuda",
        )

    def _save(
        self,
        path: Path,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: LRSchedule,
        run: _RunState,
    ) -> None:
        torch_rng, cuda_rng, other_rng = capture_rng_state()
        meta = {
            "epoch": run.epoch,
            "global_step": run.global_step,
            "bad_epochs": run.bad_epochs,
            "history": run.history.to_dict(),
            "scheduler": schedule.state_dict(),
            "rng": other_rng,
            "config": self.config.to_dict(),
        }
        if run.ema is not None:
            meta["ema_updates"] = run.ema.updates
        save_checkpoint(
            path,
            TrainingCheckpoint(
                model=model.state_dict(),
                optimizer=optimizer.state_dict(),
                meta=meta,
                best=run.best_state,
                ema=None if run.ema is None else run.ema.module.state_dict(),
                torch_rng=torch_rng,
                cuda_rng=cuda_rng,
            ),
        )

    def _restore(
        self,
        path: Path,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: LRSchedule,
    ) -> _RunState:
        ckpt = load_checkpoint(path)
        meta = ckpt.meta
        try:
            model.load_state_dict(ckpt.model)
        except RuntimeError as exc:
            raise CheckpointError(f"checkpoint {path} does not fit this model: {exc}") from exc
        try:
            optimizer.load_state_dict(_match_tuples(ckpt.optimizer, optimizer.state_dict()))
            schedule.load_state_dict(meta["scheduler"])
            history = TrainingHistory.from_dict(meta["history"])
            run = _RunState(
                epoch=int(meta["epoch"]),
                global_step=int(meta["global_step"]),
                bad_epochs=int(meta["bad_epochs"]),
                history=history,
                ema=_moving_average(model, self.config.ema_decay),
            )
            if run.ema is not None and ckpt.ema is not None:
                run.ema.module.load_state_dict(ckpt.ema)
                run.ema.updates = int(meta["ema_updates"])
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise CheckpointError(
                f"checkpoint {path} cannot be resumed with this model and config: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if ckpt.best is not None:
            run.best_state = {k: v.to(self.device) for k, v in ckpt.best.items()}
        restore_rng_state(ckpt.torch_rng, ckpt.cuda_rng, meta["rng"])
        saved_config = meta.get("config", {})
        changed = sorted(
            name
            for name, value in self.config.to_dict().items()
            if name not in _RESUME_FREE_FIELDS and saved_config.get(name, value) != value
        )
        if changed and self.is_main:
            logger.warning(
                "resuming %s with changed settings (%s); the run will differ from an "
                "uninterrupted one",
                path,
                ", ".join(changed),
            )
        return run


def _check_accepts_state(model: nn.Module) -> None:
    params = inspect.signature(model.forward).parameters.values()
    if not any(p.name == "state" or p.kind is p.VAR_KEYWORD for p in params):
        raise ConfigError(
            f"tbptt_steps needs a model called as model(x, state=state) that returns "
            f"(prediction, state); {type(model).__name__}.forward has no 'state' argument. "
            f"Add one, or set tbptt_steps=None for full BPTT"
        )


def _match_tuples(saved: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """JSON turned tuples (e.g. Adam's betas) into lists; turn them back."""
    groups = []
    for saved_group, current_group in zip(
        saved["param_groups"], current["param_groups"], strict=False
    ):
        group = dict(saved_group)
        for key, value in current_group.items():
            if isinstance(value, tuple) and isinstance(group.get(key), list):
                group[key] = tuple(group[key])
        groups.append(group)
    groups.extend(saved["param_groups"][len(groups) :])
    return {"state": saved["state"], "param_groups": groups}


def _shardable(data: Dataset | DataLoader) -> bool:
    """Map-style datasets can be split over ranks; loaders and iterable datasets cannot."""
    return not isinstance(data, DataLoader | IterableDataset)


def _model_device(model: nn.Module, default: torch.device) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return default


def _batches_per_epoch(data: Dataset | DataLoader, batch_size: int) -> int | None:
    """Batches in one epoch of `data` (the global batches of a distributed run); None when
    the data has no length."""
    if isinstance(data, DataLoader):
        return _length(data)
    if isinstance(data, IterableDataset):
        return None
    try:
        return math.ceil(len(data) / batch_size)
    except TypeError:
        return None


def _length(loader: DataLoader) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None
