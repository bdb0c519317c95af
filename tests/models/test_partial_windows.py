"""partial_windows: windows whose horizon runs past the known rows train on the steps they
have, never on rows they must not see."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lstmkit.data.window_dataset import WindowDataset
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.nn.distribution import GaussianNLLLoss, KnownTargetsLoss, PinballLoss


def frame(n: int, uid: str | None = None, offset: float = 0.0) -> pd.DataFrame:
    t = np.arange(n)
    df = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                       "y": offset + np.sin(2 * np.pi * t / 24) + 0.01 * t})
    if uid is not None:
        df.insert(0, "uid", uid)
    return df


def small(**kw) -> LSTMForecaster:
    params = dict(lookback=24, horizon=6, hidden_size=8, num_layers=1, max_epochs=1,
                  batch_size=16, seasonal_lags=(), calendar=False, validation_fraction=0.0,
                  partial_windows=True, progress=False)
    params.update(kw)
    return LSTMForecaster(**params)


def prepared(model: LSTMForecaster, df: pd.DataFrame, **load):
    model._check_params()
    return model._prepare(model._load(df, "y", "ds", load.get("id_col"), None, fitting=True))


def test_window_dataset_masks_targets_at_and_after_the_known_end() -> None:
    rows, horizon = 10, 4
    encoder = np.arange(rows, dtype="float32")[:, None]
    step = np.ones((rows, 1), dtype="float32")
    target = np.arange(rows, dtype="float32") + 100
    data = WindowDataset(encoder, step, target, np.array([3, 7, 9]), 3, horizon,
                         target_end=np.array([10, 8, 10]))
    _, steps, y = data.__getitems__([0, 1, 2])
    assert steps.shape == (3, horizon, 1)
    np.testing.assert_array_equal(y[0].numpy(), [103, 104, 105, 106])
    np.testing.assert_array_equal(y[1, :1].numpy(), [107])  # row 8 is past its end
    assert torch.isnan(y[1, 1:]).all()
    np.testing.assert_array_equal(y[2, :1].numpy(), [109])
    assert torch.isnan(y[2, 1:]).all()


def test_training_windows_reach_the_last_row_and_see_no_other_series() -> None:
    df = pd.concat([frame(60, "a"), frame(50, "b", offset=1000.0)], ignore_index=True)
    model = small()
    p = prepared(model, df, id_col="uid")
    full = small(partial_windows=False)
    p_full = prepared(full, df, id_col="uid")
    (a0, a1), (b0, b1) = p.design.segments["a"], p.design.segments["b"]
    # every origin with a lookback before it and at least one target, per series
    assert set(p.train) == set(range(a0 + 24, a1)) | set(range(b0 + 24, b1))
    assert len(p.train) == len(p_full.train) + 2 * 5
    windows = model.training_windows(p)
    _, _, y = windows.__getitems__(range(len(windows)))
    ids = p.design.ids[p.train]
    known = ~torch.isnan(y)
    # series a's windows hold a's targets only (b's are ~1000 in scaled units apart)
    last_a = np.flatnonzero(p.train == a1 - 1)[0]
    assert known[last_a].tolist() == [True] + [False] * 5
    assert int(known.sum()) == sum(min(6, (a1 if u == "a" else b1) - o)
                                   for o, u in zip(p.train, ids, strict=True))


def test_with_validation_training_targets_stop_before_the_first_validation_target() -> None:
    model = small(validation_fraction=0.2)
    p = prepared(model, frame(200))
    first_val = int(p.val.min())
    assert p.train.max() == first_val - 1
    assert (p.train_end == first_val).all()
    _, _, y = model.training_windows(p).__getitems__(range(len(p.train)))
    rows = p.train[:, None] + np.arange(6)
    assert not (~torch.isnan(y)).numpy()[rows >= first_val].any()


@pytest.mark.parametrize("loss,width", [(nn.L1Loss(), 0), (PinballLoss((0.1, 0.5, 0.9)), 3),
                                        (GaussianNLLLoss(), 2)])
def test_known_targets_loss_is_the_loss_over_the_known_steps(loss: nn.Module, width: int
                                                             ) -> None:
    torch.manual_seed(0)
    shape = (5, 4) if width == 0 else (5, 4, width)
    prediction = torch.randn(shape, requires_grad=True)
    target = torch.randn(5, 4)
    target[2, 1:] = float("nan")
    target[4, 3] = float("nan")
    value = KnownTargetsLoss(loss)(prediction, target)
    known = ~torch.isnan(target)
    assert torch.allclose(value, loss(prediction[known], target[known]))
    value.backward()
    assert (prediction.grad[~known] == 0).all()
    full = torch.randn(5, 4)
    assert torch.equal(KnownTargetsLoss(loss)(prediction, full), loss(prediction, full))


@pytest.mark.parametrize("strategy", ["direct", "seq2seq"])
def test_partial_windows_train_differently_and_round_trip(strategy: str, tmp_path) -> None:
    df = frame(200)
    with_partial = small(max_epochs=2, strategy=strategy).fit(df)
    without = small(max_epochs=2, strategy=strategy, partial_windows=False).fit(df)
    assert all(np.isfinite(p.detach().numpy()).all()
               for p in with_partial.network_.parameters())
    assert np.isfinite(with_partial.history_.train_losses).all()
    assert not np.allclose(with_partial.predict()["y"], without.predict()["y"])
    with_partial.save(tmp_path / "m")
    loaded = LSTMForecaster.load(tmp_path / "m")
    assert loaded.partial_windows is True
    pd.testing.assert_frame_equal(loaded.predict(), with_partial.predict())
    with pytest.raises(ConfigError, match="partial_windows must be True or False, got 'yes'"):
        small(partial_windows="yes").fit(df)


@pytest.mark.parametrize("partial", [False, True])
def test_a_validation_split_that_leaves_no_training_window_is_explained(partial: bool) -> None:
    # 3 windows: the last is validation, the horizon before it swallows the other two
    model = small(lookback=24, horizon=6, seasonal_lags="auto", validation_fraction=0.1,
                  partial_windows=partial)
    if partial:  # partial windows reach up to the first validation target: training remains
        model.fit(frame(200))
        return
    with pytest.raises(DataValidationError,
                       match=r"validation_fraction=0.1 leaves no training window.*seasonal lag "
                             r"168; lengths are \{'y': 200\}"):
        model.fit(frame(200))
