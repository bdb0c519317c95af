"""The hand-written BPTT of the fast path: exact gradients, same numbers as the reference loop."""

import pytest
import torch

from lstmkit.nn.loops import lstm_layer_fast, lstm_sequence, reverse_padded

T, B, H, F = 5, 3, 4, 2  # time, batch, hidden, input features


def inputs(peephole: bool, padded: bool, recurrent_mask: bool):
    torch.manual_seed(int(peephole) * 4 + int(padded) * 2 + int(recurrent_mask))

    def leaf(*shape):
        return torch.randn(*shape, dtype=torch.double, requires_grad=True)

    tensors = [leaf(T, B, F), leaf(4 * H, F), leaf(4 * H), leaf(B, H), leaf(B, H), leaf(4 * H, H)]
    tensors.append(leaf(3, H) if peephole else None)
    lengths = torch.tensor([5, 2, 3])
    valid = (torch.arange(T)[:, None] < lengths[None])[..., None] if padded else None
    mask = (torch.rand(B, H) > 0.5).double() * 2 if recurrent_mask else None
    return tensors, valid, mask


@pytest.mark.parametrize("peephole", [False, True])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("recurrent_mask", [False, True])
def test_hand_written_backward_passes_gradcheck(peephole, padded, recurrent_mask):
    tensors, valid, mask = inputs(peephole, padded, recurrent_mask)
    params = [t for t in tensors if t is not None]

    def fast(*args):
        x, w_ih, bias, h, c, w_hh = args[:6]
        p = args[6] if peephole else None
        return lstm_layer_fast(x, w_ih, bias, h, c, w_hh, p, valid, mask, compile=False)

    assert torch.autograd.gradcheck(fast, params)
    x, w_ih, *rest = tensors
    reference = lstm_sequence(x @ w_ih.t(), *rest, valid, mask)
    for got, want in zip(fast(*params), reference, strict=True):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)


def test_reverse_padded_reverses_within_each_length_and_is_its_own_inverse():
    x = torch.arange(4 * 2, dtype=torch.float).view(4, 2)  # (time, batch)
    lengths = torch.tensor([4, 2])
    rev = reverse_padded(x, lengths)
    assert rev[:, 0].tolist() == [6.0, 4.0, 2.0, 0.0]
    assert rev[:, 1].tolist() == [3.0, 1.0, 5.0, 7.0]  # padding (steps 2, 3) stays put
    assert torch.equal(reverse_padded(rev, lengths), x)
