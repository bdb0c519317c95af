"""Seeded Trainer runs for test_distributed.py, single-process or under torchrun.

    python distributed_worker.py OUTPUT_DIR
    torchrun --standalone --nproc-per-node 2 distributed_worker.py OUTPUT_DIR

Each rank writes OUTPUT_DIR/rank<R>.safetensors: the final weights of every run (prefixed
by its name), the histories and how many checkpoints the rank wrote. Runs: ``plain`` (96
training windows, checkpoints each epoch), ``uneven`` (97: the last global batch holds
one), ``steps`` (a budget of 15 steps: two epochs of 6 batches and 3 batches of a third),
``resume`` / ``resumed`` (dropout, constant rate; 3 epochs straight, and 2 epochs then a
resumed third). Every run has 37 validation windows.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from torch import nn  # noqa: E402

from lstmkit.training import Trainer, TrainingHistory, trainer  # noqa: E402

EPOCHS = 3
SAVES = {"count": 0}


class Net(nn.Module):
    """Two-layer LSTM and a linear head (dropout between the layers when asked)."""

    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, 8, num_layers=2, dropout=dropout, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def data(n_train: int) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n_train + 37, 12, 2, generator=generator)
    y = 0.3 * x.sum(dim=(1, 2)).unsqueeze(1) + 0.1 * torch.randn(len(x), 1, generator=generator)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])  # 37 validation windows


def train(dropout: float, n_train: int, epochs: int, **config: Any) -> tuple[Net, TrainingHistory]:
    torch.manual_seed(1)
    model = Net(dropout)
    trainset, val = data(n_train)
    settings = dict(batch_size=16, lr=1e-2, weight_decay=0.01, clip_norm=1.0,
                    lr_schedule="cosine", seed=3, progress=False)
    history = Trainer(max_epochs=epochs, **{**settings, **config}).fit(model, trainset, val)
    return model, history


def counting_saves() -> None:
    """Count the checkpoints this process writes."""
    original = trainer.save_checkpoint

    def save(*args: Any, **kwargs: Any) -> None:
        SAVES["count"] += 1
        original(*args, **kwargs)

    trainer.save_checkpoint = save


def run(output: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Train every run: weights by prefixed name, and metadata."""
    counting_saves()
    plain, plain_history = train(0.0, 96, EPOCHS, checkpoint_dir=str(output / "ckpt"))
    uneven, uneven_history = train(0.0, 97, EPOCHS)
    steps, steps_history = train(0.0, 96, EPOCHS, max_steps=15)
    # a constant rate: a cosine schedule depends on max_epochs, changed here to stop early
    ckpt = str(output / "resume_ckpt")
    straight, straight_history = train(0.2, 96, EPOCHS, lr_schedule="constant")
    train(0.2, 96, 2, lr_schedule="constant", checkpoint_dir=ckpt)
    resumed, resumed_history = train(0.2, 96, EPOCHS, lr_schedule="constant",
                                     checkpoint_dir=ckpt, resume=True)
    models = {"plain": plain, "uneven": uneven, "steps": steps, "resume": straight,
              "resumed": resumed}
    histories = {"plain": plain_history, "uneven": uneven_history, "steps": steps_history,
                 "resume": straight_history, "resumed": resumed_history}
    tensors = {f"{name}.{k}": v.detach().contiguous()
               for name, model in models.items() for k, v in model.state_dict().items()}
    meta = {"saves": SAVES["count"], "history": {k: h.to_dict() for k, h in histories.items()}}
    return tensors, meta


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    tensors, meta = run(args.output)
    rank = os.environ.get("RANK", "0")
    save_file(tensors, str(args.output / f"rank{rank}.safetensors"),
              metadata={"result": json.dumps(meta)})


if __name__ == "__main__":
    main()
