"""Keep freed memory in the process: glibc's thresholds raised for CPU training.

glibc hands large freed blocks (a training step's activations) back to the OS and faults
them in again on the next step; on a 2-core VM that cost a third of an `nn.LSTM` training
step (README, "Speed"). Raising its mmap and trim thresholds keeps those blocks in the
heap. `mallopt` changes them in a running process, the same as setting
MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ before start; peak memory is unchanged,
but memory freed after training is not returned to the OS until the process ends.
"""

from __future__ import annotations

import ctypes
import os
import sys

THRESHOLD_BYTES = 1_000_000_000
OPT_OUT_VARIABLE = "LSTMKIT_MALLOC_TUNING"
_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3

_applied = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True when they are raised.

    Does nothing (False) off Linux/glibc or when LSTMKIT_MALLOC_TUNING=0.
    """
    global _applied
    if _applied:
        return True
    if os.environ.get(OPT_OUT_VARIABLE, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):  # a C library without mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, THRESHOLD_BYTES)
                    and mallopt(_M_TRIM_THRESHOLD, THRESHOLD_BYTES))
    return _applied
