"""`SequenceClassifierNet`: packing, masking and the three poolings."""

from __future__ import annotations

import pytest
import torch

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn.classifier import SequenceClassifierNet

LENGTHS = torch.tensor([5, 2, 4])


def frames(seed: int = 0) -> torch.Tensor:
    return torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(seed))


def net(pooling: str = "last", **kwargs) -> SequenceClassifierNet:
    torch.manual_seed(0)
    settings = {"input_size": 4, "embedding_dim": 6, "hidden_size": 8, **kwargs}
    return SequenceClassifierNet(3, pooling=pooling, **settings).eval()


@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole"])
def test_padded_batch_equals_each_sequence_alone(pooling, bidirectional, cell) -> None:
    model = net(pooling, bidirectional=bidirectional, cell=cell, num_layers=2, compile=False)
    x = frames()
    batched = model(x, LENGTHS)
    for i, n in enumerate(LENGTHS.tolist()):
        alone = model(x[i : i + 1, :n])
        torch.testing.assert_close(batched[i : i + 1], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
@pytest.mark.parametrize("cell", ["lstm", "peephole"])
def test_padding_values_never_change_the_logits(pooling, cell) -> None:
    model = net(pooling, bidirectional=True, cell=cell, compile=False)
    x = frames()
    noisy = x.clone()
    for i, n in enumerate(LENGTHS.tolist()):
        noisy[i, n:] = float("nan")
    torch.testing.assert_close(model(x, LENGTHS), model(noisy, LENGTHS))


def test_last_pooling_concatenates_forward_last_and_backward_first() -> None:
    model = net("last", bidirectional=True)
    x = frames()
    outputs, _ = model.recurrent(model.embed(x), lengths=LENGTHS)
    pooled = model.pool(outputs, LENGTHS)
    h = model.recurrent.hidden_size
    for i, n in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(pooled[i, :h], outputs[i, n - 1, :h])
        torch.testing.assert_close(pooled[i, h:], outputs[i, 0, h:])


def test_attention_weights_sum_to_one_over_valid_steps_and_zero_on_padding() -> None:
    model = net("attention")
    model(frames(), LENGTHS)
    weights = model.last_attention
    assert weights.shape == (3, 5)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3))
    for i, n in enumerate(LENGTHS.tolist()):
        assert (weights[i, n:] == 0).all() and (weights[i, :n] > 0).all()


def test_token_ids_use_an_embedding_with_padding_index_zero() -> None:
    torch.manual_seed(0)
    model = SequenceClassifierNet(2, vocab_size=10, embedding_dim=4, hidden_size=6).eval()
    assert model.embedding.padding_idx == 0 and (model.embedding.weight[0] == 0).all()
    ids = torch.tensor([[3, 4, 5], [6, 0, 0]])
    other = torch.tensor([[3, 4, 5], [6, 9, 7]])  # padding holding real ids changes nothing
    lengths = torch.tensor([3, 1])
    torch.testing.assert_close(model(ids, lengths), model(other, lengths))
    assert model(ids, lengths).shape == (2, 2)


def test_frames_without_projection_feed_the_recurrent_layer_directly() -> None:
    model = net(embedding_dim=None)
    assert model.input_proj is None and model.recurrent.input_size == 4
    assert model(frames()).shape == (3, 3)


def test_bad_settings_and_inputs_raise_clear_errors() -> None:
    with pytest.raises(ConfigError, match="exactly one of them"):
        SequenceClassifierNet(2, vocab_size=10, input_size=3)
    with pytest.raises(ConfigError, match="pooling"):
        SequenceClassifierNet(2, input_size=3, pooling="max")
    with pytest.raises(ShapeError, match="frame input"):
        net()(torch.zeros(2, 3, 5))
    with pytest.raises(ShapeError, match="token input"):
        SequenceClassifierNet(2, vocab_size=5)(torch.zeros(2, 3))
    with pytest.raises(ShapeError, match="lengths"):
        net()(frames(), torch.tensor([1, 2]))
