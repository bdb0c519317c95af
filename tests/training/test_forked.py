"""run_forked: independent runs in forked workers hand back their weights and results."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from lstmkit.errors import ConfigError, LstmkitError
from lstmkit.training import forked
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


def test_a_failing_run_is_raised_as_its_own_error_class_naming_the_run() -> None:
    def fail():
        raise ConfigError("lr must be positive, got -1")

    ok = lambda: ({"w": torch.zeros(1)}, {})  # noqa: E731
    with pytest.raises(ConfigError, match=r"member 1 failed in its worker process \(exit code "
                                          r"1\): lr must be positive, got -1"):
        run_forked([ok, fail, ok], jobs=2, what="member")


def test_other_errors_keep_their_type_name_and_not_their_traceback() -> None:
    def fail():
        return {"w": torch.zeros(1)}, {"bad": object()}  # not JSON: a TypeError

    with pytest.raises(LstmkitError) as caught:
        run_forked([fail], jobs=1)
    assert type(caught.value) is LstmkitError
    assert "training run 0 failed" in str(caught.value) and "TypeError" in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_worker_that_dies_reports_its_exit_code() -> None:
    def die():
        os._exit(3)

    with pytest.raises(LstmkitError, match=r"training run 0 failed .*exit code 3.*wrote no error"):
        run_forked([die], jobs=1)


def test_one_job_is_always_allowed_and_more_are_refused_where_forking_is_unsafe(
        monkeypatch) -> None:
    cpu = torch.device("cpu")
    check_forkable(1, torch.device("meta"))
    check_forkable(2, cpu)  # Linux CPU, no process group: forking is safe here
    with pytest.raises(ConfigError, match="n_jobs=2 trains in forked CPU processes; on device "
                                          "'cuda' use n_jobs=1"):
        check_forkable(2, torch.device("cuda"))
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2",
                        "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="cannot fork inside a torchrun process group"):
        check_forkable(2, cpu)
    monkeypatch.setattr(forked.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with pytest.raises(ConfigError, match="this platform does not have; use n_jobs=1"):
        check_forkable(3, cpu)


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


def test_a_failure_stops_the_workers_still_training(tmp_path) -> None:
    pid_file = tmp_path / "pid"

    def slow():
        pid_file.write_text(str(os.getpid()))
        time.sleep(60)
        return {"w": torch.zeros(1)}, {}

    def fail():
        while not pid_file.exists():
            time.sleep(0.01)
        raise ConfigError("stop")

    began = time.perf_counter()
    with pytest.raises(ConfigError, match="stop"):
        run_forked([slow, fail], jobs=2)
    assert time.perf_counter() - began < 30
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # terminated and reaped
