"""Checkpoints: file layout, atomic writes, exact resumption, clear errors on bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from lstmkit.errors import CheckpointError, ConfigError, TrainingError
from lstmkit.training import (
    CHECKPOINT_FILE,
    Trainer,
    TrainerConfig,
    TrainingHistory,
    load_checkpoint,
    read_checkpoint_meta,
)
from lstmkit.training.averaging import ema_decay_at
from lstmkit.training.checkpoint import METADATA_KEY


class SmallLSTM(nn.Module):
    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, hidden, num_layers=2, dropout=0.25, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def data(seed: int = 0) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(80, 6, 2, generator=g)
    y = x.sum(dim=(1, 2)).unsqueeze(1) * 0.2
    return (x[:64], y[:64]), (x[64:], y[64:])


def config(tmp_path: Path, **changes: Any) -> TrainerConfig:
    base = TrainerConfig(
        max_epochs=4,
        batch_size=16,
        lr=1e-2,
        weight_decay=0.01,
        clip_norm=1.0,
        lr_schedule="plateau",
        plateau_patience=0,
        gamma=0.5,
        seed=3,
        checkpoint_dir=str(tmp_path / "ckpt"),
    )
    return base.replace(**changes)


def fresh_model(init_seed: int = 0) -> SmallLSTM:
    torch.manual_seed(init_seed)
    return SmallLSTM()


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def without_seconds(history: TrainingHistory) -> list[tuple[Any, ...]]:
    return [(r.epoch, r.train_loss, r.val_loss, r.lr) for r in history.records]


def test_checkpoint_layout(tmp_path: Path) -> None:
    train, val = data()
    cfg = config(tmp_path, max_epochs=2)
    model = fresh_model()
    Trainer(cfg).fit(model, train, val)
    path = tmp_path / "ckpt" / CHECKPOINT_FILE
    assert sorted(p.name for p in path.parent.iterdir()) == [CHECKPOINT_FILE]  # no temp files

    with safe_open(str(path), framework="pt") as f:
        names = set(f.keys())
        meta = json.loads(f.metadata()[METADATA_KEY])
    params = dict(model.named_parameters())
    assert {f"model.{n}" for n in params} <= names
    assert {f"best.{n}" for n in params} <= names
    assert "rng.torch" in names
    assert any(n.startswith("optimizer.0.exp_avg") for n in names)
    assert meta["epoch"] == 2 and meta["format_version"] == 1
    assert TrainerConfig.from_dict(meta["config"]) == cfg
    assert len(meta["history"]["records"]) == 2
    assert {"numpy", "python"} <= set(meta["rng"])
    assert meta["scheduler"]["plateau"]["factor"] == 0.5

    ckpt = load_checkpoint(path)
    assert ckpt.best is not None and ckpt.torch_rng is not None
    assert ckpt.torch_rng.dtype == torch.uint8
    assert ckpt.optimizer["param_groups"][0]["lr"] == pytest.approx(0.01, abs=0.006)
    assert read_checkpoint_meta(path)["epoch"] == 2


@pytest.mark.parametrize("sampling", ["epochs", "random"])
def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path: Path, sampling: str
                                                            ) -> None:
    train, val = data()
    reference = fresh_model()
    full = Trainer(config(tmp_path / "a", sampling=sampling)).fit(reference, train, val)

    Trainer(config(tmp_path / "b", max_epochs=2, sampling=sampling)).fit(fresh_model(), train,
                                                                         val)
    resumed = fresh_model(init_seed=99)  # different start: everything comes from the file
    history = Trainer(config(tmp_path / "b", resume=True, sampling=sampling)).fit(resumed, train,
                                                                                  val)

    assert same_weights(resumed, reference)
    assert without_seconds(history) == without_seconds(full)
    assert history.best_epoch == full.best_epoch


def test_best_weights_survive_a_resume(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    train, val = (x, y), (x, -y)  # validation gets worse with every epoch: best is epoch 1

    def linear() -> nn.Linear:
        torch.manual_seed(0)
        return nn.Linear(3, 1)

    cfg = config(tmp_path, lr_schedule="constant", lr=0.05)
    reference = linear()
    full = Trainer(cfg.replace(checkpoint_dir=None)).fit(reference, train, val)
    assert full.best_epoch == 1

    Trainer(cfg.replace(max_epochs=2)).fit(linear(), train, val)
    resumed = linear()
    history = Trainer(cfg).fit(resumed, train, val, resume=True)
    assert history.best_epoch == 1 and len(history) == 4
    assert same_weights(resumed, reference)


def test_resume_of_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    train, val = data()
    reference = fresh_model()
    full = Trainer(config(tmp_path)).fit(reference, train, val)
    again = fresh_model(init_seed=5)
    history = Trainer(config(tmp_path)).fit(again, train, val, resume=True)
    assert same_weights(again, reference)  # best weights restored as at the end of the run
    assert without_seconds(history) == without_seconds(full)


def test_resume_without_checkpoint_starts_fresh(tmp_path: Path) -> None:
    train, val = data()
    a, b = fresh_model(), fresh_model()
    Trainer(config(tmp_path / "a", resume=True)).fit(a, train, val)
    Trainer(config(tmp_path / "b")).fit(b, train, val)
    assert same_weights(a, b)


def test_nan_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    train, val = data()
    Trainer(config(tmp_path, max_epochs=2)).fit(fresh_model(), train, val)
    path = tmp_path / "ckpt" / CHECKPOINT_FILE
    good = path.read_bytes()

    calls = 0

    def nan_on_second_step(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        loss = nn.functional.mse_loss(prediction, target)
        if torch.is_grad_enabled():
            calls += 1
            if calls == 2:
                return loss * float("inf")
        return loss

    with pytest.raises(TrainingError, match="epoch 3, step 2") as info:
        Trainer(config(tmp_path, resume=True)).fit(fresh_model(), train, val, nan_on_second_step)
    assert "checkpoint of the last completed epoch is kept" in str(info.value)
    assert path.read_bytes() == good
    assert read_checkpoint_meta(path)["epoch"] == 2
    assert [p.name for p in path.parent.iterdir()] == [CHECKPOINT_FILE]


def write_checkpoint(tmp_path: Path) -> Path:
    train, val = data()
    Trainer(config(tmp_path, max_epochs=1)).fit(fresh_model(), train, val)
    return tmp_path / "ckpt" / CHECKPOINT_FILE


def resume(tmp_path: Path, model: nn.Module | None = None) -> None:
    train, val = data()
    Trainer(config(tmp_path, resume=True)).fit(model or fresh_model(), train, val)


def test_truncated_checkpoint_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=f"{path}.*truncated"):
        resume(tmp_path)


def test_garbage_checkpoint_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=str(path)):
        resume(tmp_path)


def test_foreign_safetensors_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path)
    save_file({"weight": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="not an lstmkit training checkpoint"):
        resume(tmp_path)


def test_newer_format_version_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = json.loads(f.metadata()[METADATA_KEY])
    meta["format_version"] = 99
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(meta)})
    with pytest.raises(CheckpointError, match="format version 99"):
        resume(tmp_path)


def test_checkpoint_of_another_model_is_a_checkpoint_error(tmp_path: Path) -> None:
    write_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        resume(tmp_path, SmallLSTM(hidden=4))


def test_changed_schedule_is_a_checkpoint_error(tmp_path: Path) -> None:
    write_checkpoint(tmp_path)
    train, val = data()
    changed = config(tmp_path, resume=True, lr_schedule="constant")
    with pytest.raises(CheckpointError, match="different lr_schedule"):
        Trainer(changed).fit(fresh_model(), train, val)


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / "ckpt" / ".checkpoint-abc.tmp"
    stale.parent.mkdir()
    stale.write_bytes(b"half a checkpoint")
    write_checkpoint(tmp_path)
    assert not stale.exists()


def test_weight_average_is_the_moving_average_of_the_steps(tmp_path: Path) -> None:
    train, _ = data()
    steps = []
    for n in (1, 2, 3):
        model = fresh_model()
        Trainer(config(tmp_path / f"s{n}", max_steps=n, lr_schedule="constant",
                       checkpoint_dir=None)).fit(model, train)
        steps.append({k: v.clone() for k, v in model.state_dict().items()})
    averaged = fresh_model()
    Trainer(config(tmp_path / "ema", max_steps=3, lr_schedule="constant", checkpoint_dir=None,
                   ema_decay=0.45)).fit(averaged, train)
    # the first update copies; then decay min(0.45, (1 + n) / (4 + n)): 2/5, then 0.45
    d1, d2 = 2 / 5, 0.45
    for name, value in averaged.state_dict().items():
        first_two = d1 * steps[0][name] + (1 - d1) * steps[1][name]
        expected = d2 * first_two + (1 - d2) * steps[2][name]
        torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-7)
    assert not same_weights(averaged, fresh_model())


def test_weight_average_survives_a_resume(tmp_path: Path) -> None:
    train, val = data()
    reference = fresh_model()
    full = Trainer(config(tmp_path / "a", ema_decay=0.9)).fit(reference, train, val)
    Trainer(config(tmp_path / "b", max_epochs=2, ema_decay=0.9)).fit(fresh_model(), train, val)
    ckpt = load_checkpoint(tmp_path / "b" / "ckpt" / CHECKPOINT_FILE)
    assert ckpt.ema is not None and set(ckpt.ema) == set(reference.state_dict())
    resumed = fresh_model(init_seed=99)
    history = Trainer(config(tmp_path / "b", resume=True, ema_decay=0.9)).fit(resumed, train, val)
    assert same_weights(resumed, reference)
    assert without_seconds(history) == without_seconds(full)


def test_moving_average_decay_warms_up_to_ema_decay() -> None:
    assert ema_decay_at(0.995, 1) == pytest.approx(2 / 5)
    assert ema_decay_at(0.995, 250) == pytest.approx(251 / 254)
    assert ema_decay_at(0.995, 595) < 0.995
    assert ema_decay_at(0.995, 597) == 0.995
    assert ema_decay_at(0.9, 1000) == 0.9  # reached after 26 updates


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, "0.9"])
def test_ema_decay_outside_0_1_is_refused(decay: object) -> None:
    with pytest.raises(ConfigError, match="ema_decay"):
        TrainerConfig(ema_decay=decay)
