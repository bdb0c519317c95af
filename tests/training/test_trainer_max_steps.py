"""`max_steps`: a budget of optimizer steps across epochs, its schedules and its resumption."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.data import IterableDataset

from lstmkit.errors import ConfigError
from lstmkit.training import Trainer, TrainingHistory, checkpoint_path, read_checkpoint_meta


class DropoutNet(nn.Module):
    """LSTM with dropout, so that training draws random numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, 8, num_layers=2, dropout=0.25, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


class StatefulLSTM(nn.Module):
    """Per-step predictions, `model(x, state=state) -> (prediction, state)`, for TBPTT."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        out, state = self.lstm(x, state)
        return self.head(out), state


class Stream(IterableDataset):
    """An iterable dataset: the trainer cannot know its batches per epoch."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return iter(zip(self.x, self.y, strict=True))


def data(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, 2, generator=g)
    return x, 0.2 * x.sum(dim=(1, 2)).unsqueeze(1)


def model() -> DropoutNet:
    torch.manual_seed(0)
    return DropoutNet()


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def records(history: TrainingHistory) -> list[tuple[Any, ...]]:
    return [(r.epoch, r.train_loss, r.val_loss, r.lr) for r in history.records]


@pytest.fixture
def step_lrs() -> Iterator[list[float]]:
    """The learning rate of every optimizer step taken while the test runs."""
    seen: list[float] = []

    def hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        seen.append(optimizer.param_groups[0]["lr"])

    handle = register_optimizer_step_pre_hook(hook)
    yield seen
    handle.remove()


def fit(max_steps: int | None, **config: Any) -> tuple[DropoutNet, TrainingHistory]:
    net = model()
    x, y = data()
    settings = {"batch_size": 16, "lr": 1e-2, "seed": 3, "progress": False, **config}
    history = Trainer(max_steps=max_steps, **settings).fit(net, (x, y))  # 4 batches/epoch
    return net, history


@pytest.mark.parametrize(("max_steps", "epochs"), [(10, 3), (2, 1), (8, 2), (9, 3)])
def test_exactly_max_steps_optimizer_steps(step_lrs: list[float], max_steps: int,
                                           epochs: int) -> None:
    _, history = fit(max_steps, max_epochs=1)  # max_epochs does not cap a step budget
    assert len(step_lrs) == max_steps
    assert len(history) == epochs


def test_the_last_epoch_is_partial_and_a_prefix_of_a_longer_run() -> None:
    _, ten = fit(10)
    _, twelve = fit(12)  # three full epochs
    assert records(ten)[:2] == records(twelve)[:2]
    assert ten.train_losses[2] != twelve.train_losses[2]  # mean over 2 of the 4 batches
    aligned, _ = fit(8)
    by_epochs, _ = fit(None, max_epochs=2)
    assert same_weights(aligned, by_epochs)


def test_cosine_with_warmup_runs_over_the_step_budget(step_lrs: list[float]) -> None:
    _, history = fit(14, lr_schedule="cosine", warmup_epochs=1, min_lr=1e-3)
    warmup = [1e-2 * (i + 1) / 5 for i in range(4)]  # one epoch = 4 steps
    cosine = [1e-3 + 9e-3 * 0.5 * (1 + math.cos(math.pi * t / 10)) for t in range(10)]
    assert step_lrs == pytest.approx(warmup + cosine)
    assert history.lrs == pytest.approx([step_lrs[0], step_lrs[4], step_lrs[8], step_lrs[12]])


def test_step_schedule_counts_epochs_of_steps(step_lrs: list[float]) -> None:
    fit(10, lr_schedule="step", step_size=1, gamma=0.5)
    assert step_lrs == pytest.approx([1e-2] * 4 + [5e-3] * 4 + [2.5e-3] * 2)


def constant_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A loss that never improves (its gradient is zero)."""
    return (prediction * 0.0).sum() + 1.0


def test_plateau_still_acts_at_epoch_ends(step_lrs: list[float]) -> None:
    x, y = data()
    trainer = Trainer(max_steps=10, batch_size=16, lr=0.1, lr_schedule="plateau",
                      plateau_patience=0, gamma=0.5, progress=False)
    history = trainer.fit(model(), (x, y), loss_fn=constant_loss)
    assert history.lrs == pytest.approx([0.1, 0.1, 0.05])
    assert step_lrs == pytest.approx([0.1] * 8 + [0.05] * 2)


def test_early_stopping_ends_before_the_budget(step_lrs: list[float]) -> None:
    x, y = data()
    trainer = Trainer(max_steps=400, batch_size=16, lr=1e-2, early_stopping_patience=1,
                      min_delta=1e9, progress=False)
    history = trainer.fit(model(), (x, y), (x, -y))
    assert history.stopped_early and len(history) == 2
    assert len(step_lrs) == 8


def test_tbptt_budget_can_end_inside_a_batch(step_lrs: list[float]) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 12, 2, generator=g)
    y = x.cumsum(dim=1)[..., :1]
    torch.manual_seed(0)
    trainer = Trainer(max_steps=7, batch_size=16, tbptt_steps=4, progress=False)
    history = trainer.fit(StatefulLSTM(), (x, y))  # 3 updates per batch, 2 batches per epoch
    assert len(step_lrs) == 7
    assert len(history) == 2


def test_iterable_data_stops_exactly_and_refuses_epoch_counted_schedules(
        step_lrs: list[float]) -> None:
    x, y = data()
    torch.manual_seed(0)
    Trainer(max_steps=6, batch_size=16, lr_schedule="cosine", progress=False).fit(
        DropoutNet(), Stream(x, y))
    assert len(step_lrs) == 6
    with pytest.raises(ConfigError, match="max_steps with warmup_epochs"):
        Trainer(max_steps=6, batch_size=16, warmup_epochs=1, progress=False).fit(
            DropoutNet(), Stream(x, y))


def test_resume_after_a_crash_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    x, y = data(80)
    train, val = (x[:64], y[:64]), (x[64:], y[64:])
    settings = {"max_steps": 14, "batch_size": 16, "lr": 1e-2, "lr_schedule": "cosine",
                "warmup_epochs": 1, "seed": 3, "progress": False}
    reference = model()
    full = Trainer(**settings).fit(reference, train, val)

    def crash_in_epoch_three(record: Any) -> None:
        if record.epoch == 3:
            raise KeyboardInterrupt

    directory = str(tmp_path / "ckpt")
    with pytest.raises(KeyboardInterrupt):
        Trainer(**settings, checkpoint_dir=directory).fit(
            model(), train, val, callbacks=[crash_in_epoch_three])
    meta = read_checkpoint_meta(checkpoint_path(directory))
    assert (meta["epoch"], meta["global_step"]) == (2, 8)

    resumed = DropoutNet()  # other initial weights: everything comes from the checkpoint
    history = Trainer(**settings, checkpoint_dir=directory, resume=True).fit(
        resumed, train, val)
    assert same_weights(resumed, reference)
    assert records(history) == records(full)
    assert read_checkpoint_meta(checkpoint_path(directory))["global_step"] == 14
