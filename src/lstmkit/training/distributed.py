"""Data-parallel training on torch.distributed: launch detection, process group, sharding.

A run launched by ``torchrun`` (which sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``) with
more than one process trains with `DistributedDataParallel` (gloo on CPU, nccl on CUDA).
`TrainerConfig.batch_size` stays the *global* batch: each rank takes ``batch_size /
world_size`` windows of it, so a run gives the same global batches as a single process:

- `EpochShardSampler` is a `DistributedSampler` whose epoch order is the permutation the
  single-process `DataLoader` draws for that (seed, epoch); rank r takes positions
  r, r + W, r + 2W, ... of it, so the k-th batches of all ranks together are exactly the k-th
  single-process batch. When the number of windows n is not a multiple of W, the sampler
  pads the epoch with its first ``W - n % W`` windows (as `DistributedSampler` does, so
  every rank runs the same number of steps); the Trainer drops that padding from the last
  batch (`last_batch_share`) and scales each rank's loss there by its share of the global
  batch.
- Gradients are averaged over ranks, which equals the mean over the global batch for losses
  that are plain means over samples.
- Random numbers drawn during training (dropout) cannot match a single process (each rank
  draws masks for its own part of the batch): in distributed mode the torch generator of
  each rank is reseeded from (seed, epoch, rank) at the start of every epoch, which keeps runs
  reproducible and a resumed run exact.
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.nn.utils.rnn import PackedSequence
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from lstmkit.errors import ConfigError

_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK")
EXIT_GRACE_S = 0.05  # see `_destroy`


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in a torchrun job."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        """True on global rank 0, the only rank that logs, shows progress and writes."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when torchrun (or another env:// launcher) started this process."""
    return all(name in os.environ for name in _ENV)


def detect(setting: bool | None) -> DistributedContext | None:
    """The context for `TrainerConfig.distributed`: None (auto) uses torchrun's environment
    when it names more than one process, False never, True requires it."""
    if setting is False:
        return None
    if not launched_by_torchrun():
        if setting:
            raise ConfigError(
                "distributed=True needs a torchrun launch (WORLD_SIZE, RANK and LOCAL_RANK "
                "are not set): run `torchrun --nproc-per-node N ...`, or leave distributed "
                "unset")
        return None
    try:
        ctx = DistributedContext(rank=int(os.environ["RANK"]),
                                 world_size=int(os.environ["WORLD_SIZE"]),
                                 local_rank=int(os.environ["LOCAL_RANK"]))
    except ValueError as err:
        raise ConfigError(f"torchrun's {'/'.join(_ENV)} must be integers: {err}") from None
    return ctx if ctx.world_size > 1 else None


def rank_device(device: torch.device, ctx: DistributedContext | None) -> torch.device:
    """One GPU per local rank (cuda -> cuda:LOCAL_RANK); CPU as given."""
    if ctx is None or device.type != "cuda":
        return device
    return torch.device("cuda", ctx.local_rank)


def init_process_group(device: torch.device) -> None:
    """Join torchrun's process group (env:// rendezvous) unless already joined."""
    if dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    atexit.register(_destroy)


def _destroy() -> None:
    """Leave the process group while the interpreter is fully alive.

    A gloo worker thread drops each finished all-reduce (and the tensors it held) under the
    GIL. When the last one finishes just before the process exits, the thread may still be
    waiting for the GIL when interpreter shutdown starts; it cannot take it then, and the
    process aborts ("terminate called without an active exception") after a successful run:
    about one 2-process run in ten ended so. Releasing the GIL for a moment first lets those
    threads finish (no abort in 40 runs).
    """
    if dist.is_initialized():
        time.sleep(EXIT_GRACE_S)
        dist.destroy_process_group()


def check_batch_size(batch_size: int, ctx: DistributedContext) -> int:
    """Per-rank batch size of the global `batch_size`; it must split evenly."""
    if batch_size % ctx.world_size:
        lower = batch_size - batch_size % ctx.world_size or ctx.world_size
        raise ConfigError(
            f"batch_size={batch_size} is the global batch and must be a multiple of the "
            f"{ctx.world_size} processes; use {lower} or {lower + ctx.world_size}")
    return batch_size // ctx.world_size


def wrap(model: nn.Module, device: torch.device) -> DistributedDataParallel:
    """`model` in DDP (rank 0's weights are broadcast to every rank here). Every trainable
    parameter must take part in each forward pass (DDP's error names any that do not)."""
    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)


class EpochShardSampler(DistributedSampler):
    """A `DistributedSampler` over the epoch order `order(epoch)` (indices 0..n-1) instead of
    its own permutation; call `set_epoch` before each epoch."""

    def __init__(self, dataset: Dataset, ctx: DistributedContext,
                 order: Callable[[int], list[int]]) -> None:
        super().__init__(dataset, num_replicas=ctx.world_size, rank=ctx.rank, drop_last=False)
        self.order = order

    def __iter__(self) -> Iterator[int]:
        indices = self.order(self.epoch)
        if not indices:
            return iter([])
        repeats = math.ceil(self.total_size / len(indices))
        indices = (indices * repeats)[: self.total_size]  # pad like DistributedSampler
        return iter(indices[self.rank : self.total_size : self.num_replicas])


def eval_shard(n: int, ctx: DistributedContext) -> range:
    """Rank r's share of n evaluation samples (r, r + W, ...): no padding, none twice."""
    return range(ctx.rank, n, ctx.world_size)


def all_sum(values: Sequence[float], device: torch.device) -> list[float]:
    """Element-wise sum over ranks (float64)."""
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when it is True on any rank."""
    return all_sum([float(flag)], device)[0] > 0


def same_on_all_ranks(value: int, device: torch.device) -> bool:
    """Whether every rank holds the same integer."""
    tensor = torch.tensor([value, -value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor[0].item() == -tensor[1].item()


def barrier() -> None:
    """Wait for every rank."""
    dist.barrier()


def loader_order(loader: DataLoader) -> list[int]:
    """The sample indices a map-style `loader` yields, in order (its sampler's order after
    the loader's own draws from its generator)."""
    return [int(i) for batch in loader for i in batch]


def torchrun_command(nproc: int, module: str, args: Sequence[str]) -> list[str]:
    """`python -m torch.distributed.run --standalone --nproc-per-node N -m MODULE ARGS`."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc-per-node={nproc}", "-m", module, *args]


def rank_seed(seed: int, epoch: int, rank: int) -> int:
    """Seed of `rank`'s random numbers (dropout masks) in `epoch`."""
    return ((seed * 1_000_003 + epoch) * 65_537 + rank) % 2**63


def last_batch_share(n: int, batch_size: int, ctx: DistributedContext) -> tuple[int, float]:
    """For n training samples: how many real (not padding) samples this rank's last batch
    holds, and the factor on its loss that makes the DDP average of the ranks' losses the
    mean over the global last batch (1.0 when n is a multiple of the world size)."""
    world = ctx.world_size
    batches = math.ceil(n / batch_size)
    local = math.ceil(n / world) - (batches - 1) * (batch_size // world)
    padded = 1 if n % world and ctx.rank >= n % world else 0  # padding sits at the end
    real = local - padded
    return real, real * world / (n - (batches - 1) * batch_size)


def take_first(batch: Any, count: int) -> Any:
    """The first `count` samples of a collated batch (tensors cut on axis 0)."""
    if isinstance(batch, PackedSequence):
        raise ConfigError(
            "distributed training cannot drop the padding DistributedSampler adds to "
            "PackedSequence batches: give a number of samples that is a multiple of the "
            "process count, or padded tensors")
    if isinstance(batch, torch.Tensor):
        return batch[:count] if batch.dim() > 0 else batch
    if isinstance(batch, tuple | list):
        return type(batch)(take_first(b, count) for b in batch)
    if isinstance(batch, dict):
        return {k: take_first(v, count) for k, v in batch.items()}
    return batch
