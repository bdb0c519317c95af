"""ForecastNet with per-window normalisation: forecasts follow the level (and the amplitude)
of the target-valued columns and nothing else."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn.distribution import PinballLoss
from lstmkit.nn.forecast_net import ForecastNet, WindowUnits, WindowUnitsLoss

CASES = [("direct", None, "center"), ("direct", "quantile", "center"),
         ("direct", "gaussian", "center"), ("seq2seq", None, "center"),
         ("direct", None, "standard"), ("direct", "quantile", "standard"),
         ("seq2seq", None, "standard")]


@pytest.mark.parametrize(("strategy", "likelihood", "window_norm"), CASES)
def test_moving_the_target_columns_moves_the_forecast(strategy, likelihood, window_norm) -> None:
    torch.manual_seed(0)
    quantiles = (0.1, 0.5, 0.9) if likelihood == "quantile" else ()
    # encoder: target, 2 lags, 1 covariate; steps: 2 lags, 1 covariate
    net = ForecastNet(4, 3, horizon=5, hidden_size=8, num_layers=1, strategy=strategy,
                      likelihood=likelihood, quantiles=quantiles, window_norm=window_norm,
                      target_lags=2).eval()
    x_enc, x_step = torch.randn(3, 10, 4), torch.randn(3, 5, 3)
    a = 3.0 if window_norm == "standard" else 1.0  # "center" follows the level only
    c = 7.5
    moved_enc, moved_step = x_enc.clone(), x_step.clone()
    moved_enc[..., :3] = a * moved_enc[..., :3] + c
    moved_step[..., :2] = a * moved_step[..., :2] + c
    base, moved = net(x_enc, x_step), net(moved_enc, moved_step)
    if likelihood == "gaussian":  # the mean moves, the scale does not
        torch.testing.assert_close(moved[..., 0], base[..., 0] + c)
        torch.testing.assert_close(moved[..., 1], base[..., 1])
    else:
        torch.testing.assert_close(moved, a * base + c, rtol=1e-4, atol=1e-4)
    moved_step[..., 2] += c  # a covariate is not target-valued: the forecast changes
    assert not torch.allclose(net(moved_enc, moved_step), a * base + c, atol=1e-3)


def test_a_flat_window_gives_a_finite_forecast_at_its_level() -> None:
    torch.manual_seed(0)
    net = ForecastNet(1, 0, horizon=4, hidden_size=8, num_layers=1,
                      window_norm="standard").eval()
    out = net(torch.full((2, 12, 1), 5.0), torch.zeros(2, 4, 0))
    assert torch.isfinite(out).all()
    assert (out - 5.0).abs().max() < 0.05


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="target_lags must be in"):
        ForecastNet(2, 1, horizon=3, window_norm="center", target_lags=2)
    with pytest.raises(ConfigError, match="window_norm must be one of"):
        ForecastNet(2, 1, horizon=3, window_norm="minmax")
    with pytest.raises(ConfigError, match="with likelihood='gaussian' use window_norm='center'"):
        ForecastNet(2, 1, horizon=3, window_norm="standard", likelihood="gaussian")


@pytest.mark.parametrize("decoder_states", ["aligned", "both"])
def test_decoder_states_feed_each_step_the_encoder_state_aligned_with_it(decoder_states: str
                                                                         ) -> None:
    torch.manual_seed(0)
    net = ForecastNet(3, 2, horizon=4, hidden_size=8, num_layers=2,
                      decoder_states=decoder_states).eval()
    seen = []
    net.mlp[0].register_forward_hook(lambda module, args, out: seen.append(args[0]))
    x_enc, x_step = torch.randn(5, 10, 3), torch.randn(5, 4, 2)
    net(x_enc, x_step)
    states, (h_n, _) = net.encoder(x_enc)
    torch.testing.assert_close(seen[0][..., -8:], states[:, -4:])  # step k <- state 6 + k
    if decoder_states == "aligned":  # the step features and the aligned state, nothing else
        assert seen[0].shape[-1] == 2 + 8 and net.step_embedding is None
        torch.testing.assert_close(seen[0][..., :2], x_step)
    else:  # final state, step features, step embedding, aligned state
        assert seen[0].shape[-1] == 8 + 2 + 8 + 8
        torch.testing.assert_close(seen[0][:, 2, :8], h_n[-1])
    with pytest.raises(ShapeError, match="lookback of at least the horizon"):
        net(torch.randn(5, 3, 3), x_step)
    with pytest.raises(ConfigError, match="direct-strategy decoder input"):
        ForecastNet(3, 2, horizon=4, strategy="seq2seq", decoder_states=decoder_states)
    with pytest.raises(ConfigError, match="decoder_states must be one of"):
        ForecastNet(3, 2, horizon=4, decoder_states="first")


@pytest.mark.parametrize("likelihood", [None, "quantile"])
def test_window_units_loss_weighs_each_window_by_its_own_scale(likelihood: str | None) -> None:
    torch.manual_seed(0)
    quantiles = (0.1, 0.5, 0.9) if likelihood else ()
    net = ForecastNet(2, 1, horizon=3, hidden_size=8, window_norm="standard",
                      likelihood=likelihood, quantiles=quantiles)
    x_enc, x_step = torch.randn(6, 12, 2), torch.randn(6, 3, 1)
    x_enc[3:, :, 0] *= 50  # windows with far larger swings
    target = torch.randn(6, 3) * 10
    base = PinballLoss(quantiles) if likelihood else nn.L1Loss()
    value = WindowUnitsLoss(base)(WindowUnits(net)(x_enc, x_step), target)
    level = x_enc[:, :, :1].mean(dim=1, keepdim=True)
    scale = torch.sqrt(x_enc[:, :, :1].var(dim=1, unbiased=False, keepdim=True) + 1e-5)
    forecast = net(x_enc, x_step)
    if likelihood:
        expected = base((forecast - level) / scale, (target - level[..., 0]) / scale[..., 0])
    else:  # MAE in window units: each window's absolute errors over its own scale
        expected = ((forecast - target).abs() / scale[..., 0]).mean()
    torch.testing.assert_close(value, expected)
    with pytest.raises(ConfigError, match="window units needs window_norm='standard'"):
        WindowUnits(ForecastNet(2, 1, horizon=3, window_norm="center"))
