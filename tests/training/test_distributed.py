"""Data-parallel training under a real torchrun (2 CPU processes, gloo) equals one process.

Tolerance: after 3 epochs the weights of the 2-process run are within 1e-5 relative (L2 per
tensor; measured ~1e-7) and every epoch's losses within 1e-6 relative of a single-process
run with the same global batch and seed; the differences are float reduction order.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open

from lstmkit.errors import ConfigError
from lstmkit.training import CHECKPOINT_FILE, Trainer, TrainerConfig, distributed

WORKER = Path(__file__).with_name("distributed_worker.py")
WEIGHT_RTOL = 1e-5
LOSS_RTOL = 1e-6


def _run(command: list[str]) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        env.pop(name, None)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


def _load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["result"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    single = tmp_path_factory.mktemp("single")
    ddp = tmp_path_factory.mktemp("ddp")
    _run([sys.executable, str(WORKER), str(single)])
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
          str(WORKER), str(ddp)])
    return {"single": _load(single / "rank0.safetensors"), "dir": ddp,
            "ranks": [_load(ddp / f"rank{r}.safetensors") for r in (0, 1)]}


def _losses(meta: dict[str, Any], run: str) -> list[tuple[float, float]]:
    return [(r["train_loss"], r["val_loss"]) for r in meta["history"][run]["records"]]


@pytest.mark.parametrize("run", ["plain", "uneven", "steps"])
def test_two_processes_match_one(runs: dict[str, Any], run: str) -> None:
    weights, meta = runs["single"]
    ddp_weights, ddp_meta = runs["ranks"][0]
    for name, tensor in weights.items():
        if name.startswith(f"{run}."):
            diff = (ddp_weights[name] - tensor).norm() / tensor.norm()
            assert diff < WEIGHT_RTOL, (name, diff.item())
    expected, got = _losses(meta, run), _losses(ddp_meta, run)
    assert len(expected) == len(got) == 3
    for pair, ddp_pair in zip(expected, got, strict=True):
        for a, b in zip(pair, ddp_pair, strict=True):
            assert math.isclose(a, b, rel_tol=LOSS_RTOL), (run, expected, got)


def test_every_rank_ends_with_the_same_model(runs: dict[str, Any]) -> None:
    (w0, m0), (w1, m1) = runs["ranks"]
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert _losses(m0, "plain") == _losses(m1, "plain")


def test_only_rank_zero_writes_checkpoints(runs: dict[str, Any]) -> None:
    (_, m0), (_, m1) = runs["ranks"]
    assert m0["saves"] == 3 + 2 + 1  # plain, then the 2-epoch run and its resumption
    assert m1["saves"] == 0
    assert sorted(p.name for p in (runs["dir"] / "ckpt").iterdir()) == [CHECKPOINT_FILE]


def test_resumed_run_is_identical_on_every_rank(runs: dict[str, Any]) -> None:
    for weights, meta in runs["ranks"]:
        for name, tensor in weights.items():
            if name.startswith("resume."):
                assert torch.equal(tensor, weights["resumed." + name.split(".", 1)[1]]), name
        assert _losses(meta, "resume") == _losses(meta, "resumed")


# ----------------------------------------------------------------- in-process, no torchrun


@pytest.mark.parametrize(("n", "world"), [(96, 2), (97, 2), (101, 3), (2, 3)])
def test_shards_make_up_the_single_process_batches(n: int, world: int) -> None:
    trainer = Trainer(batch_size=12, seed=5, progress=False)
    single = [b.tolist() for b in trainer._loader(range(n), shuffle=True, epoch=4)]
    shards = []
    for rank in range(world):
        ctx = distributed.DistributedContext(rank=rank, world_size=world, local_rank=rank)

        def order(epoch: int) -> list[int]:
            return distributed.loader_order(trainer._loader(range(n), True, epoch))

        sampler = distributed.EpochShardSampler(range(n), ctx, order)
        sampler.set_epoch(4)
        indices = list(sampler)
        local = 12 // world
        batches = [indices[i:i + local] for i in range(0, len(indices), local)]
        real, _ = distributed.last_batch_share(n, 12, ctx)
        batches[-1] = batches[-1][:real]  # what the Trainer keeps of the last batch
        shards.append(batches)
    assert all(len(s) == len(single) for s in shards)
    for k, batch in enumerate(single):
        assert sorted(i for shard in shards for i in shard[k]) == sorted(batch)


@pytest.mark.parametrize(("n", "world"), [(96, 2), (97, 2), (101, 3), (2, 3)])
def test_last_batch_scales_average_to_the_global_mean(n: int, world: int) -> None:
    global_last = n - (math.ceil(n / 12) - 1) * 12
    shares = [distributed.last_batch_share(n, 12, distributed.DistributedContext(r, world, r))
              for r in range(world)]
    assert sum(real for real, _ in shares) == global_last
    for real, scale in shares:  # DDP divides by W: scale / W per rank = real / global_last
        assert math.isclose(scale / world, real / global_last)


def test_launch_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.detect(None) is None
    with pytest.raises(ConfigError, match="torchrun"):
        distributed.detect(True)
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert distributed.detect(None) is None  # one process: the plain path
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.detect(None) == distributed.DistributedContext(3, 4, 1)
    assert distributed.detect(False) is None


def test_global_batch_must_split_evenly() -> None:
    ctx = distributed.DistributedContext(0, 3, 0)
    assert distributed.check_batch_size(12, ctx) == 4
    with pytest.raises(ConfigError, match="batch_size=32 .* use 30 or 33"):
        distributed.check_batch_size(32, ctx)


def test_config_accepts_only_a_bool_or_none() -> None:
    assert TrainerConfig(distributed=False).distributed is False
    with pytest.raises(ConfigError, match="distributed"):
        TrainerConfig(distributed="yes")
