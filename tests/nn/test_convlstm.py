"""ConvLSTM: a 1x1 ConvLSTM is an LSTMCell at every pixel; larger kernels see only neighbours."""

import pytest
import torch

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn.cells import LSTMCell, PeepholeLSTMCell
from lstmkit.nn.convlstm import ConvLSTM, ConvLSTMCell


def unroll(cell: LSTMCell, x: torch.Tensor) -> torch.Tensor:
    """x (batch, time, features) -> hidden states (batch, time, hidden)."""
    state, outputs = None, []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state)
        outputs.append(state[0])
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize("bias", [True, False])
def test_1x1_convlstm_equals_lstm_cell_outputs_and_gradients(bias):
    torch.manual_seed(0)
    cell = LSTMCell(3, 5, bias=bias)
    model = ConvLSTM(3, 5, kernel_size=1, bias=bias)
    model.cells[0] = ConvLSTMCell.from_lstm_cell(cell)
    conv = model.cells[0]
    x = torch.randn(4, 6, 3)
    x_ref, x_conv = x.clone().requires_grad_(), x.clone().requires_grad_()

    out_ref = unroll(cell, x_ref)  # (B, T, H)
    out_conv, (h_n, c_n) = model(x_conv[:, :, :, None, None])  # (B, T, H, 1, 1)
    torch.testing.assert_close(out_conv[..., 0, 0], out_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h_n[0, ..., 0, 0], out_ref[:, -1], atol=1e-5, rtol=1e-5)

    weights = torch.randn_like(out_ref)
    (out_ref * weights).sum().backward()
    (out_conv[..., 0, 0] * weights).sum().backward()
    close = dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(x_conv.grad, x_ref.grad, **close)
    torch.testing.assert_close(conv.conv_x.weight.grad[..., 0, 0], cell.weight_ih.grad, **close)
    torch.testing.assert_close(conv.conv_h.weight.grad[..., 0, 0], cell.weight_hh.grad, **close)
    if bias:
        torch.testing.assert_close(conv.conv_x.bias.grad, cell.bias.grad, **close)


def test_1x1_cell_is_the_lstm_cell_at_every_pixel():
    torch.manual_seed(0)
    cell = LSTMCell(2, 4)
    conv = ConvLSTMCell.from_lstm_cell(cell)
    x, h, c = torch.randn(3, 2, 5, 6), torch.randn(3, 4, 5, 6), torch.randn(3, 4, 5, 6)
    h_conv, c_conv = conv(x, (h, c))

    def pixels(t: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B*H*W, C)
        return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])

    h_ref, c_ref = cell(pixels(x), (pixels(h), pixels(c)))
    torch.testing.assert_close(pixels(h_conv), h_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(pixels(c_conv), c_ref, atol=1e-5, rtol=1e-5)


def test_3x3_stack_shapes_and_state_carry_over():
    torch.manual_seed(0)
    model = ConvLSTM(3, 5, kernel_size=3, num_layers=2)
    x = torch.randn(2, 4, 3, 8, 10)
    out, (h_n, c_n) = model(x)
    assert out.shape == (2, 4, 5, 8, 10)
    assert h_n.shape == c_n.shape == (2, 2, 5, 8, 10)
    torch.testing.assert_close(h_n[-1], out[:, -1])

    first, state = model(x[:, :2])  # running in two halves with the state gives the same
    second, (h2, c2) = model(x[:, 2:], state)
    torch.testing.assert_close(torch.cat([first, second], dim=1), out)
    torch.testing.assert_close(c2, c_n)


def test_spatial_locality_grows_one_pixel_per_step():
    torch.manual_seed(0)
    model = ConvLSTM(2, 3, kernel_size=3)
    x = torch.randn(1, 2, 2, 9, 9)

    def changed(t: int, pixel: tuple[int, int]) -> torch.Tensor:
        """Which output pixels after t+1 steps move when one input pixel at step 0 changes."""
        x2 = x.clone()
        x2[0, 0, :, pixel[0], pixel[1]] += 5.0
        return (model(x)[0][0, t] - model(x2)[0][0, t]).abs().amax(dim=0) > 0  # (H, W)

    step0 = changed(0, (4, 4))  # after one step: exactly the 3x3 neighbourhood
    expected = torch.zeros(9, 9, dtype=torch.bool)
    expected[3:6, 3:6] = True
    assert torch.equal(step0, expected)
    step1 = changed(1, (4, 4))  # after two steps: the 5x5 neighbourhood
    expected[2:7, 2:7] = True
    assert torch.equal(step1, expected)


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    model = ConvLSTM(1, 2, 3, num_layers=2, dropout=0.5).eval()
    x = torch.randn(2, 3, 1, 4, 4)
    torch.testing.assert_close(model(x)[0], model(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])


@pytest.mark.parametrize(
    "x,state,match",
    [
        (torch.randn(2, 3, 4, 4), None, r"x must be a 5-D tensor"),
        (torch.randn(2, 3, 2, 4, 4), None, r"x has 2 channels .* expected 3"),
        (torch.randint(0, 3, (2, 3, 3, 4, 4)), None, r"floating-point"),
        (torch.randn(2, 0, 3, 4, 4), None, r"0 time steps"),
        (torch.randn(2, 3, 3, 4, 4), (torch.zeros(1, 2, 5, 4, 5), torch.zeros(1, 2, 5, 4, 5)),
         r"h0 has shape \(1, 2, 5, 4, 5\), expected \(1, 2, 5, 4, 4\)"),
        (torch.randn(2, 3, 3, 4, 4), torch.zeros(1, 2, 5, 4, 4), r"state must be a pair"),
    ],
)
def test_bad_input_raises_clear_error(x, state, match):
    with pytest.raises(ShapeError, match=match):
        ConvLSTM(3, 5, kernel_size=3)(x, state)


def test_cell_bad_input_raises_clear_error():
    cell = ConvLSTMCell(3, 5, kernel_size=3)
    with pytest.raises(ShapeError, match=r"x must be a 4-D tensor"):
        cell(torch.randn(2, 1, 3, 4, 4))
    with pytest.raises(ShapeError, match=r"c has shape"):
        cell(torch.randn(2, 3, 4, 4), (torch.zeros(2, 5, 4, 4), torch.zeros(2, 5, 4, 3)))


def test_bad_config_raises():
    with pytest.raises(ConfigError, match="kernel_size must be odd"):
        ConvLSTM(3, 5, kernel_size=2)
    with pytest.raises(ConfigError, match="hidden_channels"):
        ConvLSTMCell(3, 0, kernel_size=3)
    with pytest.raises(ConfigError, match="dropout"):
        ConvLSTM(3, 5, kernel_size=3, dropout=1.0)
    with pytest.raises(ConfigError, match="plain LSTMCell"):
        ConvLSTMCell.from_lstm_cell(PeepholeLSTMCell(2, 3))
