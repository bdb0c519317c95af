"""run_forked: independent runs in forked workers hand back their weights and results."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from lstmkit.errors import ConfigError, LstmkitError
from lstmkit.training.forked import check_forkable, run_forked


def test_each_run_hands_back_its_weights_and_result_in_order() -> None:
    base = torch.arange(6.0).reshape(2, 3)  # inherited by the forked workers

    def run(k: int):
        return lambda: ({"w": base * k, "b": torch.tensor([k])},
                        {"k": k, "pid": os.getpid(), "threads": torch.get_num_threads()})

    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        out = run_forked([run(k) for k in range(5)], jobs=2)
    finally:
        torch.set_num_threads(before)
    assert [result["k"] for _, result in out] == list(range(5))
    for k, (weights, result) in enumerate(out):
        torch.testing.assert_close(weights["w"], base * k)
        assert weights["b"].tolist() == [k]
        assert result["pid"] != os.getpid()
        assert result["threads"] == 1  # libgomp cannot start a pool in a forked child


def test_a_failing_run_names_itself_and_its_error() -> None:
    def fail():
        raise ConfigError("lr must be positive, got -1")

    ok = lambda: ({"w": torch.zeros(1)}, {})  # noqa: E731
    with pytest.raises(LstmkitError, match=r"training run 1 failed .*ConfigError: lr must be "
                                           r"positive, got -1"):
        run_forked([ok, fail, ok], jobs=2)


def test_a_worker_that_dies_reports_its_exit_code() -> None:
    def die():
        os._exit(3)

    with pytest.raises(LstmkitError, match=r"training run 0 failed .*exit code 3.*no traceback"):
        run_forked([die], jobs=1)


def test_one_job_is_always_allowed() -> None:
    check_forkable(1)
    check_forkable(2)  # Linux CPU, no process group: forking is safe here


def test_workers_do_not_hang_after_the_parent_used_its_thread_pool() -> None:
    """torch's OpenMP runtime (libgomp) hangs a forked child that starts a thread pool once
    the parent has used one; workers train on one thread so they finish."""
    code = (
        "import torch\n"
        "from lstmkit.training.forked import run_forked\n"
        "torch.set_num_threads(2)\n"
        "a = torch.randn(1500, 1500); (a @ a).sum()\n"
        "def run():\n"
        "    b = torch.randn(1500, 1500)\n"
        "    return {'c': (b @ b)[:2, :2]}, {'threads': torch.get_num_threads()}\n"
        "print([r['threads'] for _, r in run_forked([run, run], jobs=1)])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 1]"
