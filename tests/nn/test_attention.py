"""Attention: weights are a distribution over the valid steps, padding never leaks in."""

import math

import pytest
import torch

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn.attention import AdditiveAttention, DotProductAttention, SelfAttentionPooling

B, T, D = 4, 7, 6
LENGTHS = torch.tensor([7, 3, 1, 5])


def make(kind: str) -> torch.nn.Module:
    if kind == "additive":
        return AdditiveAttention(D, D, attention_size=5)
    if kind == "dot":
        return DotProductAttention(D)
    if kind == "general":
        return DotProductAttention(D, D, general=True)
    return SelfAttentionPooling(D)


def call(module, keys, values=None, **kw):
    if isinstance(module, SelfAttentionPooling):
        return module(keys, **kw)
    query = torch.randn(keys.shape[0], D, generator=torch.Generator().manual_seed(1))
    return module(query, keys, values, **kw)


KINDS = ["additive", "dot", "general", "pooling"]


@pytest.mark.parametrize("kind", KINDS)
def test_weights_sum_to_one_and_shapes(kind):
    torch.manual_seed(0)
    module, keys = make(kind), torch.randn(B, T, D)
    context, weights = call(module, keys)
    assert context.shape == (B, D) and weights.shape == (B, T)
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(B))


@pytest.mark.parametrize("kind", KINDS)
def test_masked_weights_are_exactly_zero_and_padding_does_not_matter(kind):
    torch.manual_seed(0)
    module, keys = make(kind), torch.randn(B, T, D)
    valid = torch.arange(T)[None, :] < LENGTHS[:, None]
    context, weights = call(module, keys, lengths=LENGTHS)
    assert (weights[~valid] == 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(B))

    garbage = torch.where(valid[..., None], keys, 1e4 * torch.randn(B, T, D))
    garbage[1, 5] = float("nan")  # even NaN in the padding stays out
    context2, weights2 = call(module, garbage, lengths=LENGTHS)
    torch.testing.assert_close(context2, context)
    torch.testing.assert_close(weights2, weights)

    context3, weights3 = call(module, keys, mask=valid)  # mask and lengths agree
    torch.testing.assert_close(context3, context)
    torch.testing.assert_close(weights3, weights)


def test_non_prefix_mask_is_honoured():
    torch.manual_seed(0)
    keys = torch.randn(2, 5, D)
    mask = torch.tensor([[True, False, True, False, True], [False, False, False, True, False]])
    _, weights = DotProductAttention(D)(torch.randn(2, D), keys, mask=mask)
    assert (weights[~mask] == 0).all()
    torch.testing.assert_close(weights[1, 3], torch.tensor(1.0))


@pytest.mark.parametrize("scaled", [True, False])
def test_dot_product_by_hand(scaled):
    torch.manual_seed(0)
    query, keys, values = torch.randn(2, 3), torch.randn(2, 4, 3), torch.randn(2, 4, 5)
    context, weights = DotProductAttention(3, scaled=scaled)(query, keys, values)
    for b in range(2):
        scores = [sum(query[b, j] * keys[b, t, j] for j in range(3)) for t in range(4)]
        scores = torch.stack(scores) / (math.sqrt(3) if scaled else 1.0)
        expected_w = scores.exp() / scores.exp().sum()
        torch.testing.assert_close(weights[b], expected_w)
        torch.testing.assert_close(context[b], (expected_w[:, None] * values[b]).sum(0))


def test_general_dot_product_uses_the_projection():
    torch.manual_seed(0)
    attn = DotProductAttention(3, 5, scaled=False, general=True)
    query, keys = torch.randn(2, 3), torch.randn(2, 4, 5)
    _, weights = attn(query, keys)
    scores = torch.einsum("btk,kq,bq->bt", keys, attn.query_proj.weight, query)
    torch.testing.assert_close(weights, torch.softmax(scores, dim=1))


def test_additive_by_hand():
    torch.manual_seed(0)
    attn = AdditiveAttention(3, 2, attention_size=4)
    query, keys = torch.randn(1, 3), torch.randn(1, 5, 2)
    _, weights = attn(query, keys)
    wq, wk, b, v = attn.query_proj.weight, attn.key_proj.weight, attn.key_proj.bias, attn.v.weight
    scores = torch.stack([v[0] @ torch.tanh(wq @ query[0] + wk @ keys[0, t] + b) for t in range(5)])
    torch.testing.assert_close(weights[0], torch.softmax(scores, dim=0))


def test_gradients_flow_to_every_parameter():
    torch.manual_seed(0)
    for kind in ["additive", "general", "pooling"]:  # plain dot has no parameters
        module = make(kind)
        context, _ = call(module, torch.randn(B, T, D), lengths=LENGTHS)
        context.sum().backward()
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, (kind, name)


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        ((torch.randn(B, D, 1), torch.randn(B, T, D)), {}, r"query must be a 2-D tensor"),
        ((torch.randn(B, D), torch.randn(B, D)), {}, r"keys must be a 3-D tensor"),
        ((torch.randn(B, D + 1), torch.randn(B, T, D)), {}, r"query has 7 features"),
        ((torch.randn(B, D), torch.randn(B, T, D + 1)), {}, r"keys has 7 features"),
        ((torch.randn(B + 1, D), torch.randn(B, T, D)), {}, r"batch size 5 but keys have 4"),
        ((torch.randn(B, D), torch.randn(B, 0, D)), {}, r"0 time steps"),
        ((torch.randn(B, D), torch.randn(B, T, D), torch.randn(B, T + 1, 2)), {}, r"same steps"),
        ((torch.randn(B, D), torch.randint(0, 2, (B, T, D))), {}, r"floating-point"),
        ((torch.randn(B, D), torch.randn(B, T, D)), {"mask": torch.ones(B, T + 1)}, r"mask must"),
        ((torch.randn(B, D), torch.randn(B, T, D)), {"lengths": torch.tensor([1, 2])}, r"(4,)"),
        ((torch.randn(B, D), torch.randn(B, T, D)), {"lengths": torch.tensor([1, 8, 2, 2])},
         r"sequence 1 has length 8"),
        ((torch.randn(B, D), torch.randn(B, T, D)), {"lengths": torch.tensor([1, 0, 2, 2])},
         r"sequence 1 has length 0"),
        ((torch.randn(B, D), torch.randn(B, T, D)), {"lengths": torch.ones(B)}, r"integer"),
        ((torch.randn(B, D), torch.randn(B, T, D)),
         {"lengths": LENGTHS, "mask": torch.ones(B, T, dtype=torch.bool)}, r"not both"),
    ],
)
def test_bad_inputs_raise_clear_errors(args, kwargs, match):
    with pytest.raises(ShapeError, match=match):
        DotProductAttention(D)(*args, **kwargs)


def test_all_masked_row_raises():
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[2] = False
    with pytest.raises(ShapeError, match=r"mask rows \[2\] have no valid step"):
        AdditiveAttention(D, D)(torch.randn(B, D), torch.randn(B, T, D), mask=mask)
    with pytest.raises(ShapeError, match=r"mask rows \[2\]"):
        SelfAttentionPooling(D)(torch.randn(B, T, D), mask=mask)


def test_bad_config_raises():
    with pytest.raises(ConfigError, match="general=True"):
        DotProductAttention(3, 4)
    with pytest.raises(ConfigError, match="attention_size"):
        AdditiveAttention(3, 4, attention_size=-1)
    with pytest.raises(ConfigError, match="query_size"):
        AdditiveAttention(0, 4)
