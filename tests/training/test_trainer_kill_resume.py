"""A run killed with SIGKILL and resumed ends bit-identical to an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from lstmkit.errors import CheckpointError
from lstmkit.training import CHECKPOINT_FILE, read_checkpoint_meta

WORKER = Path(__file__).with_name("resume_worker.py")
EPOCHS = 8
# 96 windows in batches of 16: 6 steps per epoch; 45 steps end inside the eighth epoch
BUDGETS = {"epochs": (), "steps": ("--max-steps", "45")}


def start(checkpoint_dir: Path, output: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, str(WORKER), str(checkpoint_dir), str(output), *extra]
    return subprocess.Popen(
        [*command, "--epochs", str(EPOCHS)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish(process: subprocess.Popen[bytes]) -> None:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out.decode()


def checkpoint_epoch(path: Path) -> int:
    try:
        return int(read_checkpoint_meta(path)["epoch"])
    except CheckpointError:  # not written yet
        return 0


def load(path: Path) -> tuple[dict[str, torch.Tensor], list[list[object]]]:
    with safe_open(str(path), framework="pt") as f:
        weights = {k: f.get_tensor(k) for k in f.keys()}
        history = json.loads(f.metadata()["history"])
    records = [[r["epoch"], r["train_loss"], r["val_loss"], r["lr"]] for r in history["records"]]
    return weights, records


@pytest.mark.slow
@pytest.mark.parametrize("budget", sorted(BUDGETS))
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path, budget: str) -> None:
    limit = BUDGETS[budget]
    reference = start(tmp_path / "ref", tmp_path / "ref.safetensors", *limit)
    victim = start(tmp_path / "run", tmp_path / "killed.safetensors", *limit, "--sleep", "0.3")
    checkpoint = tmp_path / "run" / CHECKPOINT_FILE
    try:
        deadline = time.monotonic() + 60
        while checkpoint_epoch(checkpoint) < 2:
            assert victim.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint of epoch 2 within 60 s"
            time.sleep(0.02)
        assert victim.poll() is None, "the run ended before it could be killed"
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        victim.kill()
        victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    killed_at = checkpoint_epoch(checkpoint)
    assert 2 <= killed_at < EPOCHS
    assert not (tmp_path / "killed.safetensors").exists()

    finish(start(tmp_path / "run", tmp_path / "resumed.safetensors", *limit, "--resume"))
    finish(reference)

    resumed, resumed_history = load(tmp_path / "resumed.safetensors")
    expected, expected_history = load(tmp_path / "ref.safetensors")
    assert resumed.keys() == expected.keys()
    assert all(torch.equal(resumed[k], expected[k]) for k in expected)
    assert resumed_history == expected_history
    assert len(resumed_history) == EPOCHS
