"""precision="bfloat16": the training forward pass in bfloat16, everything else float32."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lstmkit.errors import ConfigError
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.training import Trainer, TrainerConfig, precision


class RecordingRegressor(nn.Module):
    """Many-to-one LSTM that records the dtype its head computes in, per mode."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, 1)
        self.dtypes: dict[bool, set[torch.dtype]] = {True: set(), False: set()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        y = self.head(out[:, -1])
        self.dtypes[self.training].add(y.dtype)
        return y


class StatefulLSTM(nn.Module):
    """Per-step predictions, `model(x, state=...) -> (prediction, state)` for TBPTT."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        out, state = self.lstm(x, state)
        return self.head(out), state


def sequence_data(n: int = 128, steps: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """Target = mean of the sequence: needs memory over every step."""
    x = torch.randn(n, steps, 1, generator=torch.Generator().manual_seed(0))
    return x, x.mean(dim=1)


def train(precision_: str, epochs: int = 30) -> tuple[RecordingRegressor, list[float]]:
    torch.manual_seed(0)
    model = RecordingRegressor()
    trainer = Trainer(max_epochs=epochs, batch_size=32, lr=1e-2, precision=precision_,
                      device="cpu", progress=False)
    history = trainer.fit(model, sequence_data(), loss_fn=nn.MSELoss())
    return model, [record.train_loss for record in history.records]


def test_bfloat16_trains_in_bfloat16_keeps_float32_weights_and_predicts_in_float32() -> None:
    model, losses = train("bfloat16")
    assert model.dtypes[True] == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in model.parameters())
    prediction = Trainer(device="cpu", progress=False).predict(model, sequence_data()[0])
    assert prediction.dtype == torch.float32
    assert model.dtypes[False] == {torch.float32}
    assert losses[-1] < 0.2 * losses[0]


def test_bfloat16_learns_about_as_well_as_float32() -> None:
    model32, losses32 = train("float32")
    assert model32.dtypes[True] == {torch.float32}
    _, losses16 = train("bfloat16")
    assert losses16 != losses32  # it really computed in another precision
    assert losses16[-1] == pytest.approx(losses32[-1], rel=0.5, abs=2e-3)


def test_bfloat16_with_truncated_bptt_steps_every_chunk_in_float32() -> None:
    torch.manual_seed(0)
    model = StatefulLSTM()
    x = torch.randn(32, 12, 1, generator=torch.Generator().manual_seed(1))
    target = torch.cumsum(x, dim=1) / 4
    before = [p.detach().clone() for p in model.parameters()]
    Trainer(max_epochs=3, batch_size=16, tbptt_steps=4, precision="bfloat16", device="cpu",
            progress=False).fit(model, (x, target), loss_fn=nn.MSELoss())
    after = list(model.parameters())
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in after)
    assert all(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


@pytest.mark.parametrize("value", ["float16", "bf16", None, 16])
def test_unknown_precision_is_refused(value: object) -> None:
    with pytest.raises(ConfigError, match="precision must be one of 'float32', 'bfloat16'"):
        TrainerConfig(precision=value)


def test_a_gpu_without_bfloat16_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Tesla T4")
    with pytest.raises(ConfigError, match="Tesla T4 has none: use precision='float32'"):
        precision.check_precision("bfloat16", torch.device("cuda"))
    precision.check_precision("float32", torch.device("cuda"))  # float32 is always fine


def test_a_cpu_without_bfloat16_instructions_warns(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="lstmkit.training.precision"):
        precision.check_precision("bfloat16", torch.device("cpu"))
    assert "runs emulated, slower than float32" in caplog.text


def series(n: int = 400) -> pd.DataFrame:
    t = np.arange(n)
    return pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                         "y": 10 + np.sin(2 * np.pi * t / 24) + 0.002 * t})


def test_forecaster_trains_in_bfloat16_and_keeps_the_setting_when_saved(tmp_path) -> None:
    params = dict(lookback=48, horizon=6, hidden_size=16, num_layers=1, seasonal_lags=(),
                  calendar=False, max_steps=300, batch_size=32, validation_fraction=0.0,
                  lr=1e-2, progress=False, device="cpu")
    model = LSTMForecaster(precision="bfloat16", **params).fit(series())
    reference = LSTMForecaster(**params).fit(series())
    forecast, expected = model.predict()["y"], reference.predict()["y"]
    assert forecast.dtype == np.float64 and np.isfinite(forecast).all()
    assert not np.array_equal(forecast.to_numpy(), expected.to_numpy())
    truth = series(406)["y"].to_numpy()[-6:]
    error, reference_error = (np.abs(f.to_numpy() - truth).mean() for f in (forecast, expected))
    assert error < 0.03 and reference_error < 0.03  # the daily sine's amplitude is 1
    loaded = LSTMForecaster.load(model.save(tmp_path / "bf16"))
    assert loaded.precision == "bfloat16"
    np.testing.assert_allclose(loaded.predict()["y"], forecast)
    with pytest.raises(ConfigError, match="precision must be one of"):
        LSTMForecaster(precision="half", **params).fit(series())
