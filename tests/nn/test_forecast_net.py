"""ForecastNet with centred windows: forecasts move with the level of the target columns."""

from __future__ import annotations

import pytest
import torch

from lstmkit.errors import ConfigError
from lstmkit.nn.forecast_net import ForecastNet


@pytest.mark.parametrize(("strategy", "likelihood"), [
    ("direct", None), ("direct", "quantile"), ("direct", "gaussian"), ("seq2seq", None)])
def test_shifting_the_target_columns_shifts_the_location(strategy, likelihood) -> None:
    torch.manual_seed(0)
    quantiles = (0.1, 0.5, 0.9) if likelihood == "quantile" else ()
    # encoder: target, 2 lags, 1 covariate; steps: 2 lags, 1 covariate
    net = ForecastNet(4, 3, horizon=5, hidden_size=8, num_layers=1, strategy=strategy,
                      likelihood=likelihood, quantiles=quantiles, center_windows=True,
                      target_lags=2).eval()
    x_enc, x_step = torch.randn(3, 10, 4), torch.randn(3, 5, 3)
    c = 7.5
    moved_enc, moved_step = x_enc.clone(), x_step.clone()
    moved_enc[..., :3] += c
    moved_step[..., :2] += c
    base, moved = net(x_enc, x_step), net(moved_enc, moved_step)
    if likelihood == "gaussian":  # the mean moves, the scale does not
        torch.testing.assert_close(moved[..., 0], base[..., 0] + c)
        torch.testing.assert_close(moved[..., 1], base[..., 1])
    else:
        torch.testing.assert_close(moved, base + c)
    moved_step[..., 2] += c  # a covariate is not target-valued: the forecast changes
    assert not torch.allclose(net(moved_enc, moved_step), base + c)


def test_target_lags_must_fit_the_inputs() -> None:
    with pytest.raises(ConfigError, match="target_lags must be in"):
        ForecastNet(2, 1, horizon=3, center_windows=True, target_lags=2)
