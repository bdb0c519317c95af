"""Recurrent: both paths agree, padding is invisible, dropout behaves, bad input is named."""

import logging

import pytest
import torch
from torch import nn

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn import loops
from lstmkit.nn.recurrent import Recurrent


@pytest.fixture
def plain_loop(monkeypatch):
    """Skip torch.compile (slow to build) but keep every code path, the hand-written BPTT of
    the fast path included: torch.compile becomes the identity here."""
    monkeypatch.setattr(loops, "_compiled", {})
    monkeypatch.setattr(loops, "_compile_broken", None)
    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: fn)


def make(cell="lstm", bidirectional=False, num_layers=2, compile="auto", **kw):
    torch.manual_seed(0)
    return Recurrent(5, 6, num_layers, cell=cell, bidirectional=bidirectional,
                     compile=compile, **kw).double()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_loop_path_equals_fused_kernel_outputs_and_gradients(plain_loop, cell, bidirectional):
    fused = make(cell, bidirectional)
    loop = make(cell, bidirectional, compile=True)
    loop.load_state_dict(fused.state_dict())
    assert fused.uses_fused_kernel and not loop.uses_fused_kernel
    x = torch.randn(3, 7, 5, dtype=torch.double)
    lengths = torch.tensor([7, 4, 2])
    results = []
    for model in (fused, loop):
        xg = x.clone().requires_grad_()
        out, (h, c) = model(xg, lengths=lengths)
        (out.sum() + h.sum() + (0 if c is None else c.sum())).backward()
        grads = [p.grad for p in model.parameters()]
        results.append((out, h, c, xg.grad, grads))
    for a, b in zip(results[0][:4], results[1][:4], strict=True):
        if a is not None:
            torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    for ga, gb in zip(results[0][4], results[1][4], strict=True):
        torch.testing.assert_close(ga, gb, atol=1e-10, rtol=1e-10)


def test_fused_path_is_exactly_torch_lstm():
    model = make("lstm", num_layers=2)
    ref = nn.LSTM(5, 6, 2, batch_first=True).double()
    ref.load_state_dict(model.rnn.state_dict())
    x = torch.randn(4, 9, 5, dtype=torch.double)
    out, (h, c) = model(x)
    out_ref, (h_ref, c_ref) = ref(x)
    assert torch.equal(out, out_ref) and torch.equal(h, h_ref) and torch.equal(c, c_ref)


@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("compile", ["auto", True])
def test_padded_batch_equals_each_sequence_run_alone(plain_loop, cell, bidirectional, compile):
    model = make(cell, bidirectional, compile=compile)
    if cell == "peephole":
        with torch.no_grad():
            for p in model.peephole:
                p.normal_()
    lengths = torch.tensor([6, 1, 4, 3])
    x = torch.randn(4, 6, 5, dtype=torch.double)
    for row, length in enumerate(lengths.tolist()):  # padding holds garbage, not zeros
        x[row, length:] = 1e3
    out, (h, c) = model(x, lengths=lengths)
    for row, length in enumerate(lengths.tolist()):
        alone_out, (alone_h, alone_c) = model(x[row : row + 1, :length])
        torch.testing.assert_close(out[row : row + 1, :length], alone_out)
        assert torch.all(out[row, length:] == 0)
        torch.testing.assert_close(h[:, row : row + 1], alone_h)
        if c is not None:
            torch.testing.assert_close(c[:, row : row + 1], alone_c)


def test_mask_and_lengths_give_the_same_result():
    model = make("lstm", bidirectional=True)
    x = torch.randn(3, 5, 5, dtype=torch.double)
    lengths = torch.tensor([5, 2, 3])
    mask = torch.arange(5)[None, :] < lengths[:, None]
    a = model(x, lengths=lengths)
    b = model(x, mask=mask)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1][0], b[1][0])


def test_stacked_bidirectional_shapes():
    model = Recurrent(5, 6, num_layers=3, bidirectional=True)
    out, (h, c) = model(torch.randn(2, 4, 5))
    assert out.shape == (2, 4, 12) and model.output_size == 12
    assert h.shape == (6, 2, 6) and c.shape == (6, 2, 6)
    gru_out, (gru_h, gru_c) = Recurrent(5, 6, cell="gru")(torch.randn(2, 4, 5))
    assert gru_h.shape == (1, 2, 6) and gru_c is None


def test_initial_state_is_used():
    model = make("lstm", num_layers=1)
    x = torch.randn(2, 3, 5, dtype=torch.double)
    h0, c0 = torch.randn(1, 2, 6, dtype=torch.double), torch.randn(1, 2, 6, dtype=torch.double)
    first, state = model(x[:, :2])
    rest, _ = model(x[:, 2:], state)
    whole, _ = model(x)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), whole)
    assert not torch.allclose(model(x, (h0, c0))[0], whole)


def test_dropout_between_layers_only_in_training(plain_loop):
    model = make("peephole", num_layers=2, dropout=0.5)
    x = torch.randn(8, 5, 5, dtype=torch.double)
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    single = make("lstm", num_layers=1, dropout=0.5).train()  # last layer output: no dropout
    assert torch.equal(single(x)[0], single(x)[0])


def test_recurrent_dropout_mask_is_fixed_across_time(plain_loop):
    """H=1: each sequence's unit is either dropped at every step (h never feeds back) or kept
    at every step (feedback doubled for p=0.5) -- never a mix, as variational dropout demands."""
    torch.manual_seed(1)
    model = Recurrent(2, 1, recurrent_dropout=0.5, compile=True).double().train()
    x = torch.randn(64, 6, 2, dtype=torch.double)
    out = model(x)[0]
    dropped, kept = make_variant(model, 0.0), make_variant(model, 2.0)
    out_dropped, out_kept = dropped(x)[0], kept(x)[0]
    is_dropped = torch.isclose(out, out_dropped).all(dim=(1, 2))
    is_kept = torch.isclose(out, out_kept).all(dim=(1, 2))
    assert torch.all(is_dropped ^ is_kept)
    assert 10 < int(is_dropped.sum()) < 54
    model.eval()
    torch.testing.assert_close(model(x)[0], make_variant(model, 1.0)(x)[0])


def make_variant(model: Recurrent, scale: float) -> Recurrent:
    """A dropout-free copy whose recurrent weights are scaled (0 = h dropped everywhere)."""
    copy = Recurrent(2, 1).double()
    copy.load_state_dict(model.state_dict())
    with torch.no_grad():
        copy.rnn.weight_hh_l0.mul_(scale)
    return copy


@pytest.mark.slow
def test_compiled_loop_equals_plain_loop():
    """One real torch.compile run on tiny shapes (peephole + bidirectional + padding)."""
    torch.manual_seed(0)
    model = Recurrent(3, 4, cell="peephole", bidirectional=True, compile=True)
    with torch.no_grad():
        for p in model.peephole:
            p.normal_()
    x = torch.randn(2, 3, 3, requires_grad=True)
    lengths = torch.tensor([3, 2])
    out, (h, c) = model(x, lengths=lengths)
    out.sum().backward()
    param_grads = [p.grad.clone() for p in model.parameters()]
    assert loops.compile_available(), "torch.compile failed on this machine"
    assert torch._dynamo.config.recompile_limit >= loops.RECOMPILE_LIMIT
    grad = x.grad.clone()
    x.grad = None
    plain = Recurrent(3, 4, cell="peephole", bidirectional=True, compile=False)
    plain.load_state_dict(model.state_dict())
    out_plain, (h_plain, _) = plain(x, lengths=lengths)
    out_plain.sum().backward()
    torch.testing.assert_close(out, out_plain, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h, h_plain, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad, x.grad, atol=1e-5, rtol=1e-5)
    for got, want in zip(param_grads, (p.grad for p in plain.parameters()), strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_compile_failure_falls_back_to_plain_loop(monkeypatch, caplog):
    def broken_compile(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(loops, "_compiled", {})
    monkeypatch.setattr(loops, "_compile_broken", None)
    monkeypatch.setattr(torch, "compile", broken_compile)
    model = Recurrent(3, 4, cell="peephole")
    x = torch.randn(2, 3, 3)
    with caplog.at_level(logging.WARNING, logger="lstmkit.nn.loops"):
        out = model(x)[0]
    assert "no C++ compiler" in caplog.text and not loops.compile_available()
    plain = Recurrent(3, 4, cell="peephole", compile=False)
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(out, plain(x)[0], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"x": torch.randn(2, 5)}, r"3-D tensor \(batch, time, input_size\)"),
        ({"x": torch.randn(2, 3, 4)}, "has 4 features.*expected 5"),
        ({"x": torch.ones(2, 3, 5, dtype=torch.int32)}, "floating-point"),
        ({"x": torch.randn(2, 0, 5)}, "every sequence at least one step"),
        ({"x": torch.randn(0, 3, 5)}, "at least one sequence"),
        ({"x": torch.randn(2, 3, 5, dtype=torch.double)}, "float64 on cpu but the layer"),
        ({"state": (torch.zeros(2, 2, 6, dtype=torch.double),) * 2}, "h0 is torch.float64"),
        ({"state": (torch.zeros(2, 2, 6),)}, r"state must be \(h0, c0\)"),
        ({"lengths": torch.tensor([3, 4])}, "length 4 but x has only 3 time steps"),
        ({"lengths": torch.tensor([3, 0])}, "sequence 1 has length 0"),
        ({"lengths": torch.tensor([3.0, 2.0])}, "integer tensor"),
        ({"lengths": torch.tensor([3, 2, 1])}, r"shape \(2,\)"),
        ({"mask": torch.tensor([[1, 0, 1], [1, 1, 0]])}, r"prefix.*rows \[0\]"),
        ({"mask": torch.ones(2, 4)}, "mask must be a"),
        ({"state": (torch.zeros(1, 2, 6), torch.zeros(1, 2, 6))}, r"expected \(2, 2, 6\)"),
        ({"state": torch.zeros(2, 2, 6)}, "must be a pair"),
    ],
)
def test_bad_input_raises_clear_error(kwargs, match):
    model = Recurrent(5, 6, num_layers=2)
    kwargs.setdefault("x", torch.randn(2, 3, 5))
    with pytest.raises(ShapeError, match=match):
        model(**kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"cell": "rnn"}, "cell must be one of"),
        ({"hidden_size": 0}, "hidden_size must be a positive integer"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
        ({"compile": "yes"}, "compile must be"),
    ],
)
def test_bad_config_raises_clear_error(kwargs, match):
    args = {"input_size": 5, "hidden_size": 6, **kwargs}
    with pytest.raises(ConfigError, match=match):
        Recurrent(**args)


def test_inference_runs_the_fused_kernel_and_agrees_with_the_training_loop(plain_loop):
    model = make("lstm", bidirectional=True, compile=True, recurrent_dropout=0.3)
    assert not model.uses_fused_kernel  # training with gradients: the loop
    with torch.no_grad():  # training mode keeps recurrent dropout (MC dropout): the loop
        assert not model.uses_fused_kernel
        assert make("lstm", compile=True).uses_fused_kernel  # nothing to drop: fused
    model.eval()
    assert model.uses_fused_kernel
    assert not make("peephole").eval().uses_fused_kernel  # no fused kernel exists for it
    x = torch.randn(3, 5, 5, dtype=torch.double)
    lengths = torch.tensor([5, 3, 2])
    fused_out = model(x, lengths=lengths)[0]
    model.train()
    model.recurrent_dropout = 0.0
    torch.testing.assert_close(model(x, lengths=lengths)[0], fused_out)


@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole"])
@pytest.mark.parametrize("compile", ["auto", True])
def test_nan_in_padding_never_reaches_outputs_or_gradients(plain_loop, cell, compile):
    model = make(cell, bidirectional=True, compile=compile)
    x = torch.randn(3, 5, 5, dtype=torch.double)
    lengths = torch.tensor([5, 3, 1])
    x[1, 3:] = float("nan")
    x[2, 1:] = float("inf")
    out, (h, c) = model(x, lengths=lengths)
    (out.sum() + h.sum()).backward()
    assert torch.isfinite(out).all() and torch.isfinite(h).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_fast_path_takes_non_contiguous_state_gradients(plain_loop):
    fast = make("lstm", bidirectional=True, compile=True)
    fused = make("lstm", bidirectional=True)
    x = torch.randn(3, 4, 5, dtype=torch.double)
    grads = []
    for model in (fast, fused):
        _, (h, c) = model(x)
        (h.transpose(0, 1).reshape(3, -1) ** 2).sum().backward()  # a non-contiguous grad
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)
