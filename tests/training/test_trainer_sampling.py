"""How the Trainer draws each epoch's items: a permutation per epoch, or at random with
replacement (`sampling="random"`)."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lstmkit.training import Trainer
from lstmkit.training.distributed import DistributedContext, EpochShardSampler, loader_order

ITEMS = 64


class Recorder(nn.Module):
    """A linear model that notes the item numbers it is trained on (the first input column)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.seen: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen += x[:, 0].long().tolist()
        return self.linear(x)


def items_seen(sampling: str, epochs: int = 3, seed: int = 0) -> list[int]:
    x = torch.arange(ITEMS, dtype=torch.float32)[:, None]
    model = Recorder()
    Trainer(max_epochs=epochs, batch_size=8, seed=seed, sampling=sampling,
            progress=False).fit(model, TensorDataset(x, 2 * x))
    return model.seen


def test_epochs_visit_every_item_once_per_epoch_in_a_new_order() -> None:
    seen = items_seen("epochs")
    epochs = [seen[k * ITEMS:(k + 1) * ITEMS] for k in range(3)]
    assert len(seen) == 3 * ITEMS
    assert all(sorted(e) == list(range(ITEMS)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]


def test_random_sampling_draws_with_replacement_as_many_items_per_epoch() -> None:
    seen = items_seen("random")
    assert len(seen) == 3 * ITEMS  # the same number of batches, 8 items each
    epoch = Counter(seen[:ITEMS])
    assert max(epoch.values()) > 1  # repeats: P(no repeat in 64 draws of 64) ~ 1e-27
    assert len(epoch) < ITEMS
    assert len(set(seen)) > ITEMS // 2  # spread over the items, not stuck on a few
    assert seen == items_seen("random")  # seeded: the same draws again
    assert seen != items_seen("random", seed=1)


def test_random_sampling_is_sharded_like_the_single_process_batches() -> None:
    """Data-parallel ranks split the single-process draws of each global batch between them."""
    trainer = Trainer(batch_size=8, seed=3, sampling="random", progress=False)
    single = [b.tolist() for b in trainer._loader(range(ITEMS), shuffle=True, epoch=2)]
    assert len({i for b in single for i in b}) < ITEMS
    shards = []
    for rank in range(2):
        sampler = EpochShardSampler(
            range(ITEMS), DistributedContext(rank=rank, world_size=2, local_rank=rank),
            lambda epoch: loader_order(trainer._loader(range(ITEMS), True, epoch)))
        sampler.set_epoch(2)
        shards.append(list(sampler))
    for k, batch in enumerate(single):
        assert sorted(shards[0][4 * k:4 * k + 4] + shards[1][4 * k:4 * k + 4]) == sorted(batch)


@pytest.mark.parametrize("sampling", ["epochs", "random"])
def test_evaluation_order_is_the_file_order_whatever_the_sampling(sampling: str) -> None:
    x = torch.arange(ITEMS, dtype=torch.float32)[:, None]
    trainer = Trainer(batch_size=8, sampling=sampling, progress=False)
    out = trainer.predict(nn.Identity(), TensorDataset(x, x))
    assert torch.equal(out, x)
