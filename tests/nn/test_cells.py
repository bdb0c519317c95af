"""The hand-written cells equal torch's fused layers, outputs and gradients, to 1e-5."""

import pytest
import torch
from torch import nn

from lstmkit.errors import ShapeError
from lstmkit.nn.cells import GRUCell, LSTMCell, PeepholeLSTMCell

SIZES = [(1, 1), (3, 5), (8, 16), (17, 32)]


def run_cell(cell: nn.Module, x: torch.Tensor, lstm: bool = True) -> torch.Tensor:
    """Unroll a cell over x (batch, time, features) -> stacked hidden states."""
    state = None
    outputs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state)
        outputs.append(state[0] if lstm else state)
    return torch.stack(outputs, dim=1)


@pytest.mark.parametrize("input_size,hidden_size", SIZES)
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_matches_torch_lstm_outputs_and_gradients(input_size, hidden_size, bias):
    torch.manual_seed(input_size * 100 + hidden_size)
    ref = nn.LSTM(input_size, hidden_size, bias=bias, batch_first=True)
    cell = LSTMCell.from_torch(ref)
    x = torch.randn(4, 7, input_size)
    x_ref, x_cell = x.clone().requires_grad_(), x.clone().requires_grad_()

    out_ref, (h_ref, c_ref) = ref(x_ref)
    out_cell = run_cell(cell, x_cell)
    torch.testing.assert_close(out_cell, out_ref, atol=1e-5, rtol=1e-5)

    weights = torch.randn_like(out_ref)
    (out_ref * weights).sum().backward()
    (out_cell * weights).sum().backward()
    torch.testing.assert_close(x_cell.grad, x_ref.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(cell.weight_ih.grad, ref.weight_ih_l0.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(cell.weight_hh.grad, ref.weight_hh_l0.grad, atol=1e-5, rtol=1e-5)
    if bias:  # d/db of b = b_ih + b_hh equals each of torch's two bias gradients
        torch.testing.assert_close(cell.bias.grad, ref.bias_ih_l0.grad, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(cell.bias.grad, ref.bias_hh_l0.grad, atol=1e-5, rtol=1e-5)


def test_lstm_cell_equations_by_hand():
    torch.manual_seed(0)
    cell = LSTMCell(3, 2)
    x, h, c = torch.randn(5, 3), torch.randn(5, 2), torch.randn(5, 2)
    w = torch.cat([cell.weight_hh, cell.weight_ih], dim=1)  # W·[h, x]
    pre = torch.cat([h, x], dim=1) @ w.t() + cell.bias
    i, f, g, o = pre.split(2, dim=1)
    c_expected = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_expected = torch.sigmoid(o) * torch.tanh(c_expected)
    h_next, c_next = cell(x, (h, c))
    torch.testing.assert_close(h_next, h_expected)
    torch.testing.assert_close(c_next, c_expected)


def test_lstm_cell_exports_to_torch_layout_and_back():
    torch.manual_seed(1)
    cell = LSTMCell(4, 6)
    target = nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)
    cell.export_to_torch(target, layer=0, reverse=True)
    assert torch.equal(target.weight_ih_l0_reverse, cell.weight_ih)
    assert torch.equal(target.bias_hh_l0_reverse, torch.zeros(24))
    again = LSTMCell.from_torch(target, layer=0, reverse=True)
    for a, b in zip(again.parameters(), cell.parameters(), strict=True):
        assert torch.equal(a, b)
    upper = LSTMCell.from_torch(target, layer=1)  # layer 1 reads both directions: 12 features
    assert upper.input_size == 12


def test_peephole_with_zero_peepholes_equals_lstm_cell():
    torch.manual_seed(2)
    plain = LSTMCell(5, 8)
    peep = PeepholeLSTMCell(5, 8)
    peep.load_state_dict({**plain.state_dict(), "peephole": torch.zeros(3, 8)})
    x = torch.randn(3, 6, 5)
    torch.testing.assert_close(run_cell(peep, x), run_cell(plain, x), atol=0, rtol=0)


def test_peephole_weights_change_output_and_get_gradients():
    torch.manual_seed(3)
    peep = PeepholeLSTMCell(5, 8)
    x = torch.randn(3, 6, 5)
    before = run_cell(peep, x).detach()
    with torch.no_grad():
        peep.peephole.normal_()
    after = run_cell(peep, x)
    assert not torch.allclose(before, after)
    after.sum().backward()
    assert peep.peephole.grad.abs().min() > 0


def test_peephole_cell_sees_old_cell_for_input_and_forget_new_cell_for_output():
    torch.manual_seed(4)
    cell = PeepholeLSTMCell(2, 3)
    with torch.no_grad():
        cell.peephole.normal_()
    x, h, c = torch.randn(4, 2), torch.randn(4, 3), torch.randn(4, 3)
    i, f, g, o = (x @ cell.weight_ih.t() + h @ cell.weight_hh.t() + cell.bias).split(3, dim=1)
    p_i, p_f, p_o = cell.peephole
    c_new = torch.sigmoid(f + p_f * c) * c + torch.sigmoid(i + p_i * c) * torch.tanh(g)
    h_new = torch.sigmoid(o + p_o * c_new) * torch.tanh(c_new)
    got_h, got_c = cell(x, (h, c))
    torch.testing.assert_close(got_c, c_new)
    torch.testing.assert_close(got_h, h_new)


@pytest.mark.parametrize("input_size,hidden_size", SIZES)
@pytest.mark.parametrize("bias", [True, False])
def test_gru_cell_matches_torch_gru(input_size, hidden_size, bias):
    torch.manual_seed(hidden_size)
    ref = nn.GRU(input_size, hidden_size, bias=bias, batch_first=True)
    cell = GRUCell.from_torch(ref)
    x = torch.randn(4, 7, input_size)
    x_ref, x_cell = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ref, _ = ref(x_ref)
    out_cell = run_cell(cell, x_cell, lstm=False)
    torch.testing.assert_close(out_cell, out_ref, atol=1e-5, rtol=1e-5)
    out_ref.sum().backward()
    out_cell.sum().backward()
    torch.testing.assert_close(x_cell.grad, x_ref.grad, atol=1e-5, rtol=1e-5)
    for name in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if bias else ()):
        torch.testing.assert_close(getattr(cell, name).grad, getattr(ref, f"{name}_l0").grad,
                                   atol=1e-5, rtol=1e-5)
    cell.export_to_torch(copy := nn.GRU(input_size, hidden_size, bias=bias))
    assert torch.equal(copy.weight_ih_l0, ref.weight_ih_l0)


@pytest.mark.parametrize(
    "x,state,match",
    [
        (torch.randn(2, 3, 4), None, r"2-D tensor \(batch, input_size\)"),
        (torch.randn(2, 5), None, "has 5 features.*expected 4"),
        (torch.ones(2, 4, dtype=torch.long), None, "floating-point.*torch.int64"),
        (torch.randn(2, 4), (torch.randn(3, 6), torch.randn(3, 6)), r"expected \(2, 6\)"),
        ([[1.0] * 4], None, "must be a torch.Tensor, got list"),
    ],
)
def test_cell_bad_input_raises_clear_error(x, state, match):
    with pytest.raises(ShapeError, match=match):
        LSTMCell(4, 6)(x, state)


def test_peephole_cell_refuses_to_export_peepholes_torch_cannot_hold():
    cell = PeepholeLSTMCell(3, 4)
    cell.export_to_torch(nn.LSTM(3, 4))  # zero peepholes: a plain LSTM, fine
    with torch.no_grad():
        cell.peephole.fill_(0.5)
    with pytest.raises(ShapeError, match="no peephole connections"):
        cell.export_to_torch(nn.LSTM(3, 4))


def test_lstm_cell_state_must_be_a_pair():
    with pytest.raises(ShapeError, match=r"state must be \(h, c\)"):
        LSTMCell(4, 6)(torch.randn(2, 4), torch.randn(2, 6))


def test_loading_from_mismatched_torch_layer_raises():
    with pytest.raises(ShapeError, match="this cell needs"):
        LSTMCell(3, 4).load_from_torch(nn.LSTM(3, 5))
    with pytest.raises(ShapeError, match="bias mismatch"):
        LSTMCell(3, 4, bias=False).load_from_torch(nn.LSTM(3, 4))
    with pytest.raises(ShapeError, match="cannot take layer=1"):
        LSTMCell(4, 4).load_from_torch(nn.LSTM(4, 4), layer=1)
    with pytest.raises(ShapeError, match="expected a LSTM"):
        LSTMCell(4, 4).load_from_torch(nn.GRU(4, 4))
