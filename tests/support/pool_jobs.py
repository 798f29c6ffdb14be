"""Jobs for tests/unit/extract/test_workers.py: importable by the pool's spawned workers."""

from __future__ import annotations

import os
import time

NOT_CALLABLE = 42


def square(x: int) -> int:
    return x * x


def slow_square(x: int, seconds: float) -> int:
    time.sleep(seconds)
    return x * x


def crash(after: float = 0.0) -> None:
    """Kill the worker process (as a segfault in an extractor would)."""
    if after:
        time.sleep(after)
    os._exit(13)


def hang(seconds: float) -> None:
    time.sleep(seconds)


def pid() -> int:
    return os.getpid()


def fail(message: str) -> None:
    raise RuntimeError(message)


def dispatch(job: str, *args):
    """Run the job named *job*: one pool function that can crash, hang or compute."""
    return globals()[job](*args)


def imported(module: str) -> bool:
    """Whether this worker has imported *module* (a warm-up test)."""
    import sys

    return module in sys.modules
