"""The compiled LSTM loop compiles once per chunk length, whatever the batch, sequence and hidden
sizes. Counted on the real loop functions with a counting backend: dynamo's graphs and guards
(plus AOT autograd's with "aot_eager"), no inductor, and short chunks to keep the graphs small."""

import pytest
import torch
from torch._dynamo.testing import CompileCounterWithBackend

from lstmkit.nn import loops
from lstmkit.nn.recurrent import Recurrent

CHUNKS = (4, 2, 1)


@pytest.fixture
def counter(monkeypatch, request):
    """Count the graphs compiled for the loops, starting from an empty dynamo cache."""
    counting = CompileCounterWithBackend(getattr(request, "param", "eager"))
    compile = torch.compile
    monkeypatch.setattr(loops, "CHUNK_STEPS", CHUNKS)
    monkeypatch.setattr(loops, "_compiled", {})
    monkeypatch.setattr(loops, "_compile_broken", None)
    def counted(fn, options=None, **kw):  # inductor's options mean nothing to this backend
        return compile(fn, backend=counting, **kw)

    monkeypatch.setattr(torch, "compile", counted)
    torch._dynamo.reset()
    yield counting
    torch._dynamo.reset()


def train_step(cell: str, batch: int, steps: int, hidden: int, padded: bool = False,
               recurrent_dropout: float = 0.0) -> None:
    torch.manual_seed(0)
    model = Recurrent(3, hidden, num_layers=2, cell=cell, compile=True,
                      recurrent_dropout=recurrent_dropout)
    lengths = torch.randint(1, steps + 1, (batch,)) if padded else None
    out, (h, c) = model(torch.randn(batch, steps, 3), lengths=lengths)
    (out.sum() + h.sum() + c.sum()).backward()
    assert loops.compile_available()


SIZES = [(7, 4, 5), (4, 12, 9), (9, 16, 4), (6, 8, 6)]  # (batch, steps, hidden)


@pytest.mark.parametrize("cell,variant", [
    ("lstm", {}),
    ("peephole", {"padded": True}),
    ("lstm", {"recurrent_dropout": 0.25}),
])
def test_new_batch_sequence_and_hidden_sizes_reuse_the_compiled_chunks(counter, cell, variant):
    train_step(cell, batch=4, steps=8, hidden=5, **variant)
    assert counter.frame_count == 2  # forward chunk and backward chunk of 4 steps
    for batch, steps, hidden in SIZES:
        train_step(cell, batch, steps, hidden, **variant)
    assert counter.frame_count == 2, "a new size recompiled the loop"


@pytest.mark.parametrize("counter", ["aot_eager"], indirect=True)
def test_aot_autograd_adds_no_size_guards(counter):
    train_step("peephole", batch=4, steps=8, hidden=5)
    for batch, steps, hidden in SIZES:
        train_step("peephole", batch, steps, hidden)
    assert counter.frame_count == 2


def test_any_sequence_length_compiles_each_chunk_length_at_most_once(counter):
    for steps in (7, 10, 4, 13, 1):
        train_step("peephole", batch=3, steps=steps, hidden=4)
    assert counter.frame_count == 2 * len(CHUNKS)  # forward and backward for each length


def test_chunks_cover_every_step_once_longest_first():
    for steps in range(1, 70):
        bounds = loops.chunk_bounds(steps)
        assert [b[0] for b in bounds[1:]] == [b[1] for b in bounds[:-1]]
        assert bounds[0][0] == 0 and bounds[-1][1] == steps
        sizes = [stop - start for start, stop in bounds]
        assert sizes == sorted(sizes, reverse=True) and set(sizes) <= set(loops.CHUNK_STEPS)
        assert len(bounds) <= steps // max(loops.CHUNK_STEPS) + len(loops.CHUNK_STEPS) - 1
