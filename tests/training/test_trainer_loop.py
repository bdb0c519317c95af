"""The training loop: determinism, learning, clipping, weight decay, schedules, early stopping."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.data import Dataset

from lstmkit.errors import ConfigError, DataValidationError, ShapeError, TrainingError
from lstmkit.training import Trainer, TrainerConfig, TrainingHistory, clip_gradients


class LSTMRegressor(nn.Module):
    """Many-to-one LSTM with dropout on both the recurrent stack and the head."""

    def __init__(self, features: int = 1, hidden: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, dropout=dropout, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.drop(out[:, -1]))


def sequence_data(n: int = 96, steps: int = 10, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Target = mean of the sequence: needs memory over every step."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, steps, 1, generator=g)
    return x, x.mean(dim=1)


def linear_data(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]])


def zero_gradient_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A loss whose gradient is exactly zero (it still depends on the graph)."""
    return (prediction * 0.0).sum() + 1.0


def parameters_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def step_norms() -> Iterator[list[tuple[float, float]]]:
    """(total grad norm, max |grad|) seen by every optimizer step while the test runs."""
    seen: list[tuple[float, float]] = []

    def hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
        grads = [g for g in grads if g is not None]
        norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item()
        seen.append((norm, max(g.abs().max().item() for g in grads)))

    handle = register_optimizer_step_pre_hook(hook)
    yield seen
    handle.remove()


# ----------------------------------------------------------------------- determinism


def train_once(seed: int) -> nn.Module:
    torch.manual_seed(123)  # same initial weights; the trainer seed drives everything else
    model = LSTMRegressor(dropout=0.3)
    x, y = sequence_data()
    Trainer(max_epochs=3, batch_size=16, lr=1e-2, seed=seed, progress=False).fit(model, (x, y))
    return model


def test_same_seed_gives_bit_identical_weights() -> None:
    a, b = train_once(seed=5), train_once(seed=5)
    assert parameters_equal(a, b)
    assert not parameters_equal(a, train_once(seed=6))


def test_earlier_random_draws_do_not_change_the_result() -> None:
    first = train_once(seed=5)
    torch.manual_seed(999)
    torch.rand(1000)  # disturb the global generator: fit reseeds it
    assert parameters_equal(first, train_once(seed=5))


# ------------------------------------------------------------------------ learning


def test_lstm_learns_sequence_mean_far_below_baseline() -> None:
    torch.manual_seed(0)
    x, y = sequence_data(n=512, steps=10, seed=1)
    xv, yv = sequence_data(n=128, steps=10, seed=2)
    model = LSTMRegressor()
    trainer = Trainer(max_epochs=12, batch_size=32, lr=1e-2, seed=0)
    history = trainer.fit(model, (x, y), (xv, yv))
    baseline = ((yv - y.mean()) ** 2).mean().item()  # predict the training mean
    assert history.best_val_loss is not None
    assert history.best_val_loss < 0.02 * baseline
    assert trainer.evaluate(model, (xv, yv)) == pytest.approx(history.best_val_loss)
    assert history.train_losses[-1] < history.train_losses[0]


def test_evaluate_is_sample_weighted_and_predict_concatenates() -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = linear_data(n=10)
    trainer = Trainer(batch_size=4)  # batches of 4, 4, 2
    expected = ((model(x) - y) ** 2).mean().item()
    assert trainer.evaluate(model, (x, y)) == pytest.approx(expected, rel=1e-6)
    prediction = trainer.predict(model, (x, y))
    assert torch.allclose(prediction, model(x).detach())
    assert torch.allclose(trainer.predict(model, x), prediction)
    assert model.training  # mode is restored


# ---------------------------------------------------------------------- clipping


def test_clip_gradients_helper_bounds_norm_and_values() -> None:
    params = [nn.Parameter(torch.zeros(5)), nn.Parameter(torch.zeros(3))]
    params[0].grad = torch.full((5,), 10.0)
    params[1].grad = torch.tensor([-20.0, 0.01, 3.0])
    clip_gradients(params, clip_value=1.0)
    assert max(p.grad.abs().max().item() for p in params) <= 1.0
    assert params[1].grad[1].item() == pytest.approx(0.01)
    total = clip_gradients(params, clip_norm=0.5)
    assert total is not None and total.item() > 0.5
    assert torch.linalg.vector_norm(torch.cat([p.grad for p in params])).item() <= 0.5 + 1e-6
    assert clip_gradients(params) is None


def exploding_fit(**config: Any) -> None:
    torch.manual_seed(0)
    x, y = linear_data()
    Trainer(max_epochs=1, batch_size=16, lr=1e-3, **config).fit(nn.Linear(3, 1), (x, 100 * y))


def test_trainer_clips_by_norm(step_norms: list[tuple[float, float]]) -> None:
    exploding_fit()
    assert max(norm for norm, _ in step_norms) > 10  # unclipped gradients are large
    step_norms.clear()
    exploding_fit(clip_norm=1.0)
    assert len(step_norms) == 4
    assert all(norm <= 1.0 + 1e-5 for norm, _ in step_norms)


def test_trainer_clips_by_value(step_norms: list[tuple[float, float]]) -> None:
    exploding_fit(clip_value=0.25)
    assert len(step_norms) == 4
    assert all(biggest <= 0.25 for _, biggest in step_norms)


# ------------------------------------------------------------------ weight decay


@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
def test_weight_decay_shrinks_weights_when_the_loss_has_no_gradient(weight_decay: float) -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    before = [p.detach().clone() for p in model.parameters()]
    x, y = linear_data(n=32)
    trainer = Trainer(max_epochs=2, batch_size=8, lr=0.1, weight_decay=weight_decay)
    trainer.fit(model, (x, y), loss_fn=zero_gradient_loss)  # 2 epochs x 4 steps
    factor = (1 - 0.1 * weight_decay) ** 8
    for p, p0 in zip(model.parameters(), before, strict=True):
        assert torch.allclose(p.detach(), p0 * factor, rtol=1e-5, atol=0)


# ------------------------------------------------------------------- LR schedules


def schedule_lrs(**config: Any) -> list[float]:
    torch.manual_seed(0)
    x, y = linear_data(n=16)
    trainer = Trainer(batch_size=16, lr=0.1, **config)
    return trainer.fit(nn.Linear(3, 1), (x, y), (x, y), loss_fn=zero_gradient_loss).lrs


def test_constant_and_step_schedules() -> None:
    assert schedule_lrs(max_epochs=3) == [0.1, 0.1, 0.1]
    lrs = schedule_lrs(max_epochs=6, lr_schedule="step", step_size=2, gamma=0.5)
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_cosine_schedule_with_warmup() -> None:
    lrs = schedule_lrs(max_epochs=6, lr_schedule="cosine", min_lr=0.01, warmup_epochs=2)
    expected = [0.1 / 3, 0.2 / 3] + [
        0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * t / 4)) for t in range(4)
    ]
    assert lrs == pytest.approx(expected)


def test_plateau_schedule_reduces_when_validation_stalls() -> None:
    # The validation loss is constant: after the first epoch it never improves.
    lrs = schedule_lrs(max_epochs=7, lr_schedule="plateau", plateau_patience=1, gamma=0.5)
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


# ---------------------------------------------------------------- early stopping


def test_early_stopping_restores_best_weights() -> None:
    x, y = linear_data(n=64, seed=0)
    xv, yv = linear_data(n=32, seed=1)
    yv = -yv  # the better the model fits y, the worse it does on validation

    def run(max_epochs: int, **config: Any) -> tuple[nn.Module, TrainingHistory]:
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        trainer = Trainer(max_epochs=max_epochs, batch_size=16, lr=0.05, **config)
        return model, trainer.fit(model, (x, y), (xv, yv))

    model, history = run(20, early_stopping_patience=2)
    assert history.stopped_early
    assert history.best_epoch == 1 and len(history) == 3
    assert history.val_losses[1] > history.val_losses[0]
    first_epoch_model, _ = run(1)
    assert parameters_equal(model, first_epoch_model)
    assert Trainer(batch_size=16).evaluate(model, (xv, yv)) == history.best_val_loss

    last_model, _ = run(3, restore_best=False)
    assert not parameters_equal(last_model, first_epoch_model)


def test_min_delta_counts_small_gains_as_no_improvement() -> None:
    torch.manual_seed(0)
    x, y = linear_data()
    trainer = Trainer(max_epochs=20, lr=1e-3, early_stopping_patience=1, min_delta=1e9)
    history = trainer.fit(nn.Linear(3, 1), (x, y), (x, y))
    assert history.best_epoch == 1 and len(history) == 2 and history.stopped_early


def test_early_stopping_needs_validation_data() -> None:
    x, y = linear_data()
    with pytest.raises(ConfigError, match="needs validation data"):
        Trainer(early_stopping_patience=2).fit(nn.Linear(3, 1), (x, y))


def test_callback_returning_true_stops_training() -> None:
    x, y = linear_data()
    seen: list[int] = []

    def stop_after_two(record: Any) -> bool:
        seen.append(record.epoch)
        return record.epoch == 2

    history = Trainer(max_epochs=10).fit(nn.Linear(3, 1), (x, y), callbacks=[stop_after_two])
    assert seen == [1, 2] and len(history) == 2 and history.stopped_early


# ----------------------------------------------------------------- NaN and errors


class NaNAfter:
    """MSE loss that turns NaN on the n-th training call (calls under no_grad don't count)."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = nn.functional.mse_loss(prediction, target)
        if torch.is_grad_enabled():
            self.calls += 1
            if self.calls == self.n:
                return loss * float("nan")
        return loss


def test_nan_loss_names_epoch_step_and_fix() -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = linear_data(n=64)
    trainer = Trainer(max_epochs=5, batch_size=16, lr=0.02)  # 4 batches per epoch
    with pytest.raises(TrainingError) as info:
        trainer.fit(model, (x, y), loss_fn=NaNAfter(11))
    message = str(info.value)
    assert "epoch 3, step 3" in message
    assert "lower the learning rate (lr=0.02)" in message.lower()
    assert "clip_norm" in message
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_batches_must_hold_inputs_and_target() -> None:
    class InputsOnly(Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int) -> torch.Tensor:
            return torch.zeros(3)

    with pytest.raises(DataValidationError, match=r"\(\*inputs, target\)"):
        Trainer().fit(nn.Linear(3, 1), InputsOnly())
    with pytest.raises(ShapeError, match="same number of samples"):
        Trainer().fit(nn.Linear(3, 1), (torch.zeros(4, 3), torch.zeros(5, 1)))
    with pytest.raises(DataValidationError, match="must be a torch Dataset"):
        Trainer().fit(nn.Linear(3, 1), {"x": torch.zeros(4, 3)})  # type: ignore[arg-type]


# ----------------------------------------------------- variable lengths via collate_fn


class VariableLengthSequences(Dataset):
    """Sequences of length 2..8; target = their sum. Batches are (padded, lengths, target)."""

    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(3)
        lengths = torch.randint(2, 9, (n,), generator=g)
        self.items = [torch.randn(int(n_), 1, generator=g) for n_ in lengths]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.items[i]

    @staticmethod
    def collate_fn(items: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        lengths = torch.tensor([len(s) for s in items])
        target = torch.stack([s.sum(0) for s in items])
        return pad_sequence(items, batch_first=True), lengths, target


class PackedLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.head(h[-1])


def test_dataset_collate_fn_and_extra_inputs() -> None:
    torch.manual_seed(0)
    model = PackedLSTM()
    data = VariableLengthSequences(128)
    trainer = Trainer(max_epochs=8, batch_size=16, lr=2e-2)
    before = trainer.evaluate(model, data)
    history = trainer.fit(model, data)
    assert trainer.evaluate(model, data) < 0.5 * before
    assert len(history) == 8
    assert trainer.predict(model, data).shape == (128, 1)


# ------------------------------------------------------------ history and progress


def test_history_round_trips_through_json() -> None:
    x, y = linear_data()
    history = Trainer(max_epochs=2).fit(nn.Linear(3, 1), (x, y), (x, y))
    again = TrainingHistory.from_dict(json.loads(json.dumps(history.to_dict())))
    assert again == history
    record = history.records[0]
    assert record.epoch == 1 and record.lr == 1e-3 and record.seconds >= 0
    assert record.val_loss is not None


def test_progress_bar_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = linear_data()
    Trainer(TrainerConfig(max_epochs=2, progress=True)).fit(nn.Linear(3, 1), (x, y))
    err = capsys.readouterr().err
    assert "epoch 2" in err and "loss" in err
    Trainer(TrainerConfig(max_epochs=2)).fit(nn.Linear(3, 1), (x, y))  # auto: not a terminal
    assert capsys.readouterr().err == ""
