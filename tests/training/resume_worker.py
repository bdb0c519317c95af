"""Train a small seeded LSTM with checkpoints and save its final weights.

Run as a script by test_trainer_kill_resume.py:
    python resume_worker.py CHECKPOINT_DIR OUTPUT [--epochs N] [--max-steps N] [--sleep S]
                            [--resume]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from torch import nn  # noqa: E402

from lstmkit.training import Trainer, TrainerConfig  # noqa: E402


class Net(nn.Module):
    """Two-layer LSTM with dropout between layers (so training consumes random numbers)."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, 16, num_layers=2, dropout=0.2, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint_dir")
    parser.add_argument("output")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(128, 15, 2)
    y = 0.1 * x.sum(dim=(1, 2)).unsqueeze(1)
    model = Net()
    config = TrainerConfig(
        max_epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=16,
        lr=1e-2,
        weight_decay=0.01,
        clip_norm=1.0,
        lr_schedule="cosine",
        seed=7,
        checkpoint_dir=args.checkpoint_dir,
        progress=False,
    )
    history = Trainer(config).fit(
        model,
        (x[:96], y[:96]),
        (x[96:], y[96:]),
        resume=args.resume,
        callbacks=[lambda record: time.sleep(args.sleep)],
    )
    weights = {name: t.detach().contiguous() for name, t in model.state_dict().items()}
    save_file(weights, args.output, metadata={"history": json.dumps(history.to_dict())})


if __name__ == "__main__":
    main()
