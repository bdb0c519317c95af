"""Independent training runs in forked worker processes, `jobs` at a time.

Small recurrent networks do not use many cores well (at hidden size 64 and batch 32 one
thread trains nearly as fast as two), so independent runs — the members of an ensemble —
finish sooner side by side, one thread each. A worker is a `fork` of the caller: it inherits
the prepared data and networks without pickling (no interpreter or torch start-up), trains,
and hands back its weights as a safetensors file and its result as JSON; nothing else
crosses over. Each worker runs on one thread because the OpenMP runtime torch's CPU wheels
use (GNU libgomp) hangs in a forked child that starts a thread pool of its own once the
parent has used one.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from lstmkit import errors
from lstmkit.errors import ConfigError, LstmkitError
from lstmkit.training.distributed import launched_by_torchrun

logger = logging.getLogger(__name__)

Run = Callable[[], tuple[dict[str, torch.Tensor], dict[str, Any]]]


def check_forkable(jobs: int, device: torch.device, option: str = "n_jobs") -> None:
    """Refuse `jobs` > 1 where forked workers cannot train safely; errors name `option`."""
    if jobs == 1:
        return
    if device.type != "cpu":
        raise ConfigError(f"{option}={jobs} trains in forked CPU processes; on device "
                          f"{device.type!r} use {option}=1 (or device='cpu'; "
                          "CUDA_VISIBLE_DEVICES= hides a GPU that device='auto' finds)")
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ConfigError(f"{option}={jobs} trains in forked processes, which this platform "
                          f"does not have; use {option}=1")
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        raise ConfigError(f"{option}={jobs} forks worker processes, which cannot use CUDA "
                          f"once this process has; use {option}=1")
    if launched_by_torchrun():
        raise ConfigError(f"{option}={jobs} cannot fork inside a torchrun process group; "
                          f"use {option}=1 (the ranks already train in parallel)")


def run_forked(runs: Sequence[Run], jobs: int, what: str = "training run",
               names: Sequence[str] | None = None,
               ) -> list[tuple[dict[str, torch.Tensor], dict[str, Any]]]:
    """Each run's (weights, JSON-able result), computed in forked workers of one thread
    each, at most `jobs` at once. A failing run stops the others and is raised as the
    lstmkit error it raised (else an LstmkitError), named by `names[index]` (default:
    `what` and its index)."""
    names = list(names) if names is not None else [f"{what} {i}" for i in range(len(runs))]
    jobs = max(1, min(jobs, len(runs)))
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="lstmkit-forked-") as tmp:
        folder = Path(tmp)
        pending = list(range(len(runs)))
        running: dict[int, tuple[int, Any]] = {}
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    index = pending.pop(0)
                    worker = context.Process(target=_work, args=(runs[index], folder, index),
                                             daemon=True)
                    worker.start()
                    running[worker.sentinel] = (index, worker)
                for sentinel in wait(list(running)):
                    index, worker = running.pop(sentinel)
                    worker.join()
                    if worker.exitcode != 0:
                        raise _failure(folder, index, worker.exitcode, names[index])
        finally:  # a failure, or an interrupt in the parent: no worker outlives the call
            for _, worker in running.values():
                worker.terminate()
                worker.join()
        return [(load_file(folder / f"{i}.safetensors"),
                 json.loads((folder / f"{i}.json").read_text())) for i in range(len(runs))]


def _work(run: Run, folder: Path, index: int) -> None:
    """Worker body: train, write the weights and result, exit without the parent's atexit."""
    code = 0
    try:
        torch.set_num_threads(1)  # see the module docstring: more would hang in libgomp
        weights, result = run()
        save_file({k: v.detach().clone().contiguous() for k, v in weights.items()},
                  folder / f"{index}.safetensors")
        (folder / f"{index}.json").write_text(json.dumps(result))
    except BaseException as err:  # noqa: BLE001 - reported to the parent in the error file
        (folder / f"{index}.error").write_text(json.dumps({
            "type": type(err).__name__, "message": str(err),
            "traceback": traceback.format_exc()}))
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _failure(folder: Path, index: int, exitcode: int | None, name: str) -> LstmkitError:
    """The error to raise for failed worker `index` (`name` in messages): its own lstmkit
    error class and message, or an LstmkitError with the last line of its traceback (the
    whole one is logged)."""
    path = folder / f"{index}.error"
    prefix = f"{name} failed in its worker process (exit code {exitcode})"
    if not path.exists():
        return LstmkitError(f"{prefix}: it wrote no error (killed, or out of memory?)")
    report = json.loads(path.read_text())
    kind = getattr(errors, report["type"], None)
    if isinstance(kind, type) and issubclass(kind, LstmkitError):
        return kind(f"{prefix}: {report['message']}")
    logger.debug("%s traceback:\n%s", name, report["traceback"])
    return LstmkitError(f"{prefix}: {report['type']}: {report['message']}")
