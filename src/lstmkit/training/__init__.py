"""The Trainer: loop, clipping, early stopping, LR schedules, truncated BPTT, checkpoints."""

from __future__ import annotations

from lstmkit.training.checkpoint import (
    CHECKPOINT_FILE,
    TrainingCheckpoint,
    checkpoint_path,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from lstmkit.training.config import LR_SCHEDULES, TrainerConfig
from lstmkit.training.trainer import (
    EpochRecord,
    LRSchedule,
    Trainer,
    TrainingHistory,
    clip_gradients,
    detach_state,
    resolve_device,
    tbptt_batch,
    to_device,
)

__all__ = [
    "CHECKPOINT_FILE",
    "LR_SCHEDULES",
    "EpochRecord",
    "LRSchedule",
    "Trainer",
    "TrainerConfig",
    "TrainingCheckpoint",
    "TrainingHistory",
    "checkpoint_path",
    "clip_gradients",
    "detach_state",
    "load_checkpoint",
    "read_checkpoint_meta",
    "resolve_device",
    "save_checkpoint",
    "tbptt_batch",
    "to_device",
]
