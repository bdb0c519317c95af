"""glibc's thresholds raised in a running process: freed blocks stay, opt-out leaves them be."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

PROBE = """
import os
from lstmkit.allocator import keep_freed_memory

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

applied = keep_freed_memory()
assert keep_freed_memory() == applied  # idempotent
before = rss_mb()
block = bytearray(200 * 2**20)  # zero-filled: every page touched
del block
print(applied, round(rss_mb() - before))
"""


def _freed_block_kept(tuning: str) -> tuple[str, int]:
    env = {**os.environ, "LSTMKIT_MALLOC_TUNING": tuning}
    for key in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        env.pop(key, None)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0], int(out[1])


def test_raised_thresholds_keep_a_freed_block_in_the_process() -> None:
    applied, kept_mb = _freed_block_kept("1")
    assert applied == "True"
    assert kept_mb >= 190


def test_opt_out_leaves_glibc_returning_the_block() -> None:
    applied, kept_mb = _freed_block_kept("0")
    assert applied == "False"
    assert kept_mb < 20


def test_training_raises_the_thresholds(monkeypatch) -> None:
    import torch

    from lstmkit import allocator
    from lstmkit.training import Trainer

    monkeypatch.setattr(allocator, "_applied", False)
    monkeypatch.delenv("LSTMKIT_MALLOC_TUNING", raising=False)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    Trainer(max_epochs=1, batch_size=4, progress=False).fit(torch.nn.Linear(3, 1), (x, y))
    assert allocator._applied
