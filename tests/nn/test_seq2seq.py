"""Seq2Seq: shapes, teacher forcing, padding-aware attention, and it learns to forecast a sine."""

import math

import pytest
import torch

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn.seq2seq import Seq2Seq

B, T, IN, OUT, H = 3, 6, 4, 2, 8


def manual_decode(model: Seq2Seq, x, horizon, target=None, future=None) -> torch.Tensor:
    """The decoder loop written out: feed `target` when given, else the model's own output."""
    keys, (h_n, c_n) = model.encoder(x)
    h = list(h_n)
    c = None if c_n is None else list(c_n)
    y = x[:, -1, list(model.target_index)]
    outputs = []
    for t in range(horizon):
        step = [y] if future is None else [y, future[:, t]]
        if model.attention is not None:
            context, _ = model.attention(h[-1], keys)  # query: top layer's previous h
            step.append(context)
        layer_input = torch.cat(step, dim=1)
        for layer, cell in enumerate(model.decoder):
            if c is None:
                h[layer] = cell(layer_input, h[layer])
            else:
                h[layer], c[layer] = cell(layer_input, (h[layer], c[layer]))
            layer_input = h[layer]
        out = h[-1] if model.attention is None else torch.cat([h[-1], context], dim=1)
        outputs.append(model.head(out))
        y = outputs[-1] if target is None else target[:, t]
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", [None, "additive", "dot"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_shapes(cell, attention, num_layers):
    torch.manual_seed(0)
    model = Seq2Seq(IN, OUT, H, num_layers, cell=cell, attention=attention, decoder_input_size=3)
    x, future = torch.randn(B, T, IN), torch.randn(B, 5, 3)
    assert model(x, 5, future_inputs=future).shape == (B, 5, OUT)
    if attention is not None:
        pred, weights = model(x, 5, future_inputs=future, return_attention=True)
        assert pred.shape == (B, 5, OUT) and weights.shape == (B, 5, T)


@pytest.mark.parametrize("cell,attention", [("lstm", None), ("gru", None), ("lstm", "additive"),
                                            ("gru", "dot")])
def test_decoder_equals_the_loop_written_out(cell, attention):
    torch.manual_seed(0)
    model = Seq2Seq(IN, OUT, H, num_layers=2, cell=cell, attention=attention,
                    decoder_input_size=3, target_index=1)
    x, target, future = torch.randn(B, T, IN), torch.randn(B, 5, OUT), torch.randn(B, 5, 3)
    forced = model(x, 5, target=target, teacher_forcing=1.0, future_inputs=future)
    torch.testing.assert_close(forced, manual_decode(model, x, 5, target, future))
    free = model(x, 5, future_inputs=future)
    torch.testing.assert_close(free, manual_decode(model, x, 5, None, future))


def test_full_teacher_forcing_never_feeds_back_predictions():
    torch.manual_seed(0)
    model = Seq2Seq(IN, OUT, H)
    x, target = torch.randn(B, T, IN), torch.randn(B, 5, OUT)
    before_forced = model(x, 5, target=target, teacher_forcing=1.0)
    before_free = model(x, 5)
    with torch.no_grad():  # shifting the head's bias shifts each prediction by exactly that...
        model.head.bias += 0.5
    after_forced = model(x, 5, target=target, teacher_forcing=1.0)
    torch.testing.assert_close(after_forced, before_forced + 0.5)
    # ...while without teacher forcing the shifted predictions are fed back and change the rest
    assert not torch.allclose(model(x, 5)[:, 1:], before_free[:, 1:] + 0.5)


def test_partial_teacher_forcing_is_seeded_and_mixes_both():
    torch.manual_seed(0)
    model = Seq2Seq(IN, OUT, H)
    x, target = torch.randn(B, T, IN), torch.randn(B, 8, OUT)
    torch.manual_seed(3)
    a = model(x, 8, target=target, teacher_forcing=0.5)
    torch.manual_seed(3)
    b = model(x, 8, target=target, teacher_forcing=0.5)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, model(x, 8))
    assert not torch.allclose(a, model(x, 8, target=target, teacher_forcing=1.0))


@pytest.mark.parametrize("attention", [None, "additive", "dot"])
def test_padding_is_invisible(attention):
    torch.manual_seed(0)
    model = Seq2Seq(IN, OUT, H, num_layers=2, attention=attention)
    lengths = torch.tensor([6, 3, 1])
    x = torch.randn(B, T, IN)
    pred = model(x, 4, lengths=lengths)
    for b in range(B):  # each sequence alone, unpadded, gives the same forecast
        alone = model(x[b : b + 1, : lengths[b]], 4)
        torch.testing.assert_close(pred[b : b + 1], alone, atol=1e-5, rtol=1e-5)
    valid = torch.arange(T)[None, :] < lengths[:, None]
    x2 = torch.where(valid[..., None], x, 100 * torch.randn(B, T, IN))
    torch.testing.assert_close(model(x2, 4, mask=valid), pred, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_attention_weights_sum_to_one_and_skip_padding(attention):
    torch.manual_seed(0)
    model = Seq2Seq(IN, OUT, H, attention=attention)
    lengths = torch.tensor([6, 2, 4])
    _, weights = model(torch.randn(B, T, IN), 5, lengths=lengths, return_attention=True)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, 5))
    padded = torch.arange(T)[None, None, :] >= lengths[:, None, None]  # (B, 1, T)
    assert (weights[padded.expand(-1, 5, -1)] == 0).all()


def sine_windows(n: int, lookback: int, horizon: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    freq = 0.2 + 0.3 * torch.rand(n, 1, generator=g)
    phase = 2 * math.pi * torch.rand(n, 1, generator=g)
    s = torch.sin(freq * torch.arange(lookback + horizon)[None, :] + phase)
    return s[:, :lookback, None], s[:, lookback:, None]


@pytest.mark.parametrize("attention", [None, "additive"])
def test_learns_to_forecast_a_sine_far_better_than_naive(attention):
    torch.manual_seed(0)
    x, y = sine_windows(128, 12, 5, seed=0)
    x_test, y_test = sine_windows(256, 12, 5, seed=1)
    model = Seq2Seq(1, 1, 16, attention=attention)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(100):
        loss = ((model(x, 5, target=y, teacher_forcing=0.5) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        mse = ((model(x_test, 5) - y_test) ** 2).mean()
    naive = ((x_test[:, -1:] - y_test) ** 2).mean()  # repeat the last value
    assert mse < 0.25 * naive, (float(mse), float(naive))


def test_first_decoder_input_comes_from_target_index_or_zeros():
    torch.manual_seed(0)
    x = torch.randn(B, T, IN)
    for index, expected in [(2, x[:, -1, 2:4]), ([3, 0], x[:, -1, [3, 0]])]:
        model = Seq2Seq(IN, OUT, H, target_index=index)
        torch.testing.assert_close(model._first_input(x, None), expected)
    zeros = Seq2Seq(IN, OUT, H, target_index=None)._first_input(x, torch.tensor([2, 6, 1]))
    torch.testing.assert_close(zeros, torch.zeros(B, OUT))
    at_length = Seq2Seq(IN, OUT, H)._first_input(x, torch.tensor([2, 6, 1]))
    torch.testing.assert_close(at_length, torch.stack([x[0, 1, :2], x[1, 5, :2], x[2, 0, :2]]))


def test_bad_call_raises_clear_errors():
    model = Seq2Seq(IN, OUT, H)
    x = torch.randn(B, T, IN)
    with pytest.raises(ConfigError, match="horizon must be a positive integer"):
        model(x, 0)
    with pytest.raises(ShapeError, match=r"target has shape \(3, 4, 2\), expected \(3, 5, 2\)"):
        model(x, 5, target=torch.randn(B, 4, OUT), teacher_forcing=1.0)
    with pytest.raises(ShapeError, match="teacher_forcing > 0 needs target"):
        model(x, 5, teacher_forcing=0.5)
    with pytest.raises(ConfigError, match=r"teacher_forcing must be a number in \[0, 1\]"):
        model(x, 5, target=torch.randn(B, 5, OUT), teacher_forcing=1.5)
    with pytest.raises(ShapeError, match="decoder_input_size=None"):
        model(x, 5, future_inputs=torch.randn(B, 5, 1))
    with pytest.raises(ConfigError, match="needs a model built with attention"):
        model(x, 5, return_attention=True)
    with pytest.raises(ShapeError, match="x has 3 features"):
        model(torch.randn(B, T, 3), 5)
    with pytest.raises(ShapeError, match="0 time steps"):
        model(torch.randn(B, 0, IN), 5)
    with pytest.raises(ShapeError, match="sequence 0 has length 9"):
        model(x, 5, lengths=torch.tensor([9, 1, 1]))
    covariate_model = Seq2Seq(IN, OUT, H, decoder_input_size=2)
    with pytest.raises(ShapeError, match="expects future_inputs"):
        covariate_model(x, 5)
    with pytest.raises(ShapeError, match=r"future_inputs has shape \(3, 5, 3\)"):
        covariate_model(x, 5, future_inputs=torch.randn(B, 5, 3))


def test_bad_config_raises():
    with pytest.raises(ConfigError, match="attention must be one of"):
        Seq2Seq(IN, OUT, H, attention="luong")
    with pytest.raises(ConfigError, match="cell must be one of"):
        Seq2Seq(IN, OUT, H, cell="rnn")
    with pytest.raises(ConfigError, match=r"points at features \[3, 4\]"):
        Seq2Seq(IN, OUT, H, target_index=3)
    with pytest.raises(ConfigError, match="sequence of output_size=2"):
        Seq2Seq(IN, OUT, H, target_index=[0])
    with pytest.raises(ConfigError, match="dropout"):
        Seq2Seq(IN, OUT, H, dropout=1.0)
