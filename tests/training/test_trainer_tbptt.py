"""Truncated BPTT: where gradients flow, how often the optimizer steps, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from lstmkit.errors import ConfigError
from lstmkit.training import Trainer, detach_state, tbptt_batch


class StatefulLSTM(nn.Module):
    """`model(x, state=state) -> (prediction, state)`; per-step or last-step predictions."""

    def __init__(self, per_step: bool) -> None:
        super().__init__()
        self.per_step = per_step
        self.lstm = nn.LSTM(1, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        out, state = self.lstm(x, state)
        return self.head(out if self.per_step else out[:, -1]), state


def backward_only(loss: torch.Tensor) -> None:
    loss.backward()


@pytest.fixture
def optimizer_steps() -> Iterator[list[int]]:
    steps: list[int] = []
    handle = register_optimizer_step_pre_hook(lambda opt, args, kwargs: steps.append(1))
    yield steps
    handle.remove()


def test_detach_state_handles_nested_tuples_and_none() -> None:
    a = torch.ones(2, requires_grad=True) * 2
    state = (a, (a, None), [a])
    detached = detach_state(state)
    assert isinstance(detached, tuple) and isinstance(detached[2], list)
    assert detached[1][1] is None
    assert not detached[0].requires_grad and not detached[1][0].requires_grad
    assert torch.equal(detached[0], a)
    assert detach_state(None) is None
    with pytest.raises(ConfigError, match="recurrent state"):
        detach_state({"h": a})


def test_full_bptt_reaches_the_first_step() -> None:
    torch.manual_seed(0)
    model = StatefulLSTM(per_step=False)
    x = torch.randn(4, 12, 1, requires_grad=True)
    prediction, _ = model(x)
    nn.functional.mse_loss(prediction, torch.randn(4, 1)).backward()
    assert x.grad is not None and x.grad[:, 0].abs().sum() > 0


def test_many_to_one_gradient_stops_k_steps_back() -> None:
    torch.manual_seed(0)
    model = StatefulLSTM(per_step=False)
    x = torch.randn(4, 12, 1, requires_grad=True)
    target = torch.randn(4, 1)
    loss = tbptt_batch(model, (x,), target, nn.functional.mse_loss, 4, backward_only)
    assert x.grad is not None
    assert torch.count_nonzero(x.grad[:, :8]) == 0
    assert (x.grad[:, 8:].abs().sum(dim=(0, 2)) > 0).all()
    assert all(p.grad is not None for p in model.parameters())
    # The forward pass still sees the whole sequence: same loss as a full pass.
    full = nn.functional.mse_loss(model(x)[0], target).item()
    assert loss == pytest.approx(full, rel=1e-5)


def test_per_step_targets_backpropagate_within_each_chunk_only() -> None:
    torch.manual_seed(0)
    model = StatefulLSTM(per_step=True)
    x = torch.randn(2, 9, 1, requires_grad=True)
    target = torch.randn(2, 9, 1)
    snapshots: list[torch.Tensor] = []

    def backward_and_snapshot(loss: torch.Tensor) -> None:
        loss.backward()
        assert x.grad is not None
        snapshots.append(x.grad.clone())

    loss = tbptt_batch(model, (x,), target, nn.functional.mse_loss, 3, backward_and_snapshot)
    assert len(snapshots) == 3
    for chunk, grad in enumerate(snapshots):
        now = slice(3 * chunk, 3 * chunk + 3)
        assert (grad[:, now].abs().sum(dim=(0, 2)) > 0).all()
        assert torch.count_nonzero(grad[:, 3 * chunk + 3 :]) == 0  # nothing in later chunks
        if chunk > 0:  # earlier chunks received nothing new
            assert torch.equal(grad[:, : 3 * chunk], snapshots[chunk - 1][:, : 3 * chunk])
    full = nn.functional.mse_loss(model(x)[0], target).item()
    assert loss == pytest.approx(full, rel=1e-5)  # chunks weighted by length


def test_fit_steps_once_per_chunk_for_per_step_targets(optimizer_steps: list[int]) -> None:
    torch.manual_seed(0)
    x = torch.randn(32, 12, 1)
    y = torch.cumsum(x, dim=1) * 0.1
    model = StatefulLSTM(per_step=True)
    trainer = Trainer(max_epochs=2, batch_size=16, lr=1e-2, tbptt_steps=4)
    history = trainer.fit(model, (x, y), (x, y))
    assert len(optimizer_steps) == 2 * 2 * 3  # epochs x batches x chunks
    assert history.val_losses[-1] is not None
    assert trainer.predict(model, (x, y)).shape == (32, 12, 1)


def test_fit_steps_once_per_batch_for_many_to_one(optimizer_steps: list[int]) -> None:
    torch.manual_seed(0)
    x = torch.randn(32, 12, 1)
    y = x[:, -3:].sum(dim=1)
    model = StatefulLSTM(per_step=False)
    history = Trainer(max_epochs=3, batch_size=16, lr=1e-2, tbptt_steps=4).fit(model, (x, y))
    assert len(optimizer_steps) == 3 * 2
    assert history.train_losses[-1] < history.train_losses[0]


def test_model_without_state_argument_is_a_config_error() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    x, y = torch.randn(8, 12, 1), torch.randn(8, 1)
    with pytest.raises(ConfigError, match="no 'state' argument.*tbptt_steps=None"):
        Trainer(tbptt_steps=4).fit(model, (x, y))


def test_model_not_returning_a_state_is_a_config_error() -> None:
    class NoState(StatefulLSTM):
        def forward(self, x: torch.Tensor, state: Any = None) -> Any:  # type: ignore[override]
            return super().forward(x, state)[0]

    x, y = torch.randn(8, 12, 1), torch.randn(8, 1)
    with pytest.raises(ConfigError, match=r"returns \(prediction, state\).*returned Tensor"):
        Trainer(tbptt_steps=4).fit(NoState(per_step=False), (x, y))
