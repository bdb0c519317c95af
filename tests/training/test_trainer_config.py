"""TrainerConfig validation and round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lstmkit.errors import ConfigError
from lstmkit.training import Trainer, TrainerConfig, resolve_device


def test_round_trip_through_json() -> None:
    config = TrainerConfig(
        max_epochs=7,
        max_steps=500,
        lr=3e-3,
        clip_norm=0.5,
        clip_value=2,
        tbptt_steps=8,
        lr_schedule="step",
        step_size=3,
        gamma=0.5,
        early_stopping_patience=2,
        checkpoint_dir="runs/x",
        progress=False,
    )
    data = json.loads(json.dumps(config.to_dict()))
    again = TrainerConfig.from_dict(data)
    assert again == config
    assert again.clip_value == 2.0 and isinstance(again.clip_value, float)


def test_defaults_round_trip() -> None:
    assert TrainerConfig.from_dict(TrainerConfig().to_dict()) == TrainerConfig()


def test_path_checkpoint_dir_is_stored_as_str(tmp_path: Path) -> None:
    config = TrainerConfig(checkpoint_dir=tmp_path)  # type: ignore[arg-type]
    assert config.checkpoint_dir == str(tmp_path)
    json.dumps(config.to_dict())


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("max_epochs", 0, "max_epochs must be >= 1"),
        ("max_epochs", 2.5, "max_epochs must be an integer"),
        ("max_steps", 0, "max_steps must be >= 1, got 0"),
        ("max_steps", 10.0, "max_steps must be an integer, got 10.0"),
        ("max_steps", True, "max_steps must be an integer, got True"),
        ("batch_size", True, "batch_size must be an integer"),
        ("lr", 0.0, "lr must be > 0"),
        ("lr", float("nan"), "lr must be finite"),
        ("lr", "fast", "lr must be a number"),
        ("weight_decay", -0.1, "weight_decay must be >= 0"),
        ("clip_norm", 0.0, "clip_norm must be > 0"),
        ("clip_value", -1.0, "clip_value must be > 0"),
        ("tbptt_steps", 0, "tbptt_steps must be >= 1"),
        ("lr_schedule", "linear", "lr_schedule must be one of"),
        ("gamma", 1.5, "gamma"),
        ("early_stopping_patience", -1, "early_stopping_patience must be >= 0"),
        ("min_delta", -1e-3, "min_delta must be >= 0"),
        ("seed", -1, "seed must be >= 0"),
        ("device", "gpu", "device must be"),
        ("progress", "yes", "progress must be True or False"),
        ("shuffle", 1, "shuffle must be True or False"),
        ("sampling", "bootstrap", "sampling must be one of 'epochs', 'random'"),
        ("num_workers", -2, "num_workers must be >= 0"),
    ],
)
def test_invalid_values_name_the_field(field: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        TrainerConfig(**{field: value})  # type: ignore[arg-type]


def test_combined_checks() -> None:
    with pytest.raises(ConfigError, match="sampling='random' .* needs shuffle=True"):
        TrainerConfig(sampling="random", shuffle=False)
    with pytest.raises(ConfigError, match="gamma"):
        TrainerConfig(lr_schedule="plateau", gamma=1.0)
    TrainerConfig(lr_schedule="step", gamma=1.0)  # allowed: a constant step schedule
    with pytest.raises(ConfigError, match=r"min_lr \(0.1\) must not exceed lr"):
        TrainerConfig(lr=0.01, min_lr=0.1)
    with pytest.raises(ConfigError, match="resume=True needs checkpoint_dir"):
        TrainerConfig(resume=True)


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="unknown TrainerConfig field.*epochs"):
        TrainerConfig.from_dict({"epochs": 3})


def test_config_is_frozen_and_replace_revalidates() -> None:
    config = TrainerConfig()
    with pytest.raises(AttributeError):
        config.lr = 1.0  # type: ignore[misc]
    assert config.replace(lr=0.5).lr == 0.5
    with pytest.raises(ConfigError, match="batch_size"):
        config.replace(batch_size=0)


def test_trainer_accepts_overrides() -> None:
    trainer = Trainer(TrainerConfig(lr=0.1), max_epochs=3)
    assert trainer.config.lr == 0.1 and trainer.config.max_epochs == 3
    with pytest.raises(ConfigError, match="unknown TrainerConfig field"):
        Trainer(learning_rate=0.1)


def test_device_resolution() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            Trainer(device="cuda")
