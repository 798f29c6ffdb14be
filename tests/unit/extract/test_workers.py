"""WorkerPool: a spawned process pool with a time limit, crash isolation and backpressure.

The jobs live in tests/support/pool_jobs.py so that spawned workers can import them.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from crawler.extract.workers import (
    FunctionLoadError,
    FunctionRef,
    WorkerCrashedError,
    WorkerPool,
    WorkerTimeoutError,
    load_function,
)
from tests.support import pool_jobs
from tests.support.paths import ROOT

# Jobs that should finish get a limit far above their run time (spawning a worker is
# part of it); jobs that hang get a short one, which the test then waits out.
ROOMY = 10.0
SHORT = 1.0


def process_ended(pid: int, within: float = 5.0) -> bool:
    """Whether process *pid* is gone or a zombie, polling /proc for at most *within* s."""
    deadline = time.monotonic() + within
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):  # gone before, or while, reading
            return True
        if stat.rpartition(")")[2].split()[0] in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def make_pool(function, workers=2, *, timeout=ROOMY, max_in_flight=4) -> WorkerPool:
    return WorkerPool(function, workers, timeout=timeout, max_in_flight=max_in_flight)


def test_results_come_back_in_order():
    async def main():
        pool = make_pool(pool_jobs.square)
        try:
            return await asyncio.gather(*(pool.run(x) for x in range(10))), pool
        finally:
            pool.close()

    results, pool = asyncio.run(main())
    assert results == [x * x for x in range(10)]
    assert pool.in_flight == 0
    assert pool.restarts == 0


def test_jobs_run_in_a_worker_process_that_is_reused():
    async def main():
        pool = make_pool(pool_jobs.pid, workers=1)
        try:
            return [await pool.run() for _ in range(3)]
        finally:
            pool.close()

    pids = asyncio.run(main())
    assert len(set(pids)) == 1
    assert os.getpid() not in pids


def test_an_exception_in_a_job_reaches_the_caller_and_keeps_the_pool():
    async def main():
        pool = make_pool(pool_jobs.dispatch, workers=1)
        try:
            before = await pool.run("pid")
            with pytest.raises(RuntimeError, match="bad page"):
                await pool.run("fail", "bad page")
            return before, await pool.run("pid"), pool
        finally:
            pool.close()

    before, after, pool = asyncio.run(main())
    assert before == after  # same worker: an exception is not a crash
    assert pool.restarts == 0


def test_max_in_flight_bounds_concurrent_jobs():
    async def main():
        pool = make_pool(pool_jobs.slow_square, workers=3, max_in_flight=2)
        try:
            return await asyncio.gather(*(pool.run(x, 0.05) for x in range(8))), pool
        finally:
            pool.close()

    results, pool = asyncio.run(main())
    assert results == [x * x for x in range(8)]
    # all eight were submitted at once: two ran, the others waited for a place
    assert pool.most_in_flight == 2
    assert pool.in_flight == 0


def test_max_in_flight_of_one_runs_jobs_one_at_a_time():
    async def main():
        pool = make_pool(pool_jobs.slow_square, workers=2, max_in_flight=1)
        try:
            return await asyncio.gather(*(pool.run(x, 0.01) for x in range(4))), pool
        finally:
            pool.close()

    results, pool = asyncio.run(main())
    assert results == [0, 1, 4, 9]
    assert pool.most_in_flight == 1


def test_a_job_past_the_timeout_fails_and_the_pool_keeps_working():
    async def main():
        pool = make_pool(pool_jobs.dispatch, workers=1, timeout=SHORT)
        try:
            first = await pool.run("pid")
            with pytest.raises(WorkerTimeoutError, match="longer than 1 s"):
                await pool.run("hang", 60)
            restarts = pool.restarts
            # killed at once, not left sleeping out its 60 s
            assert process_ended(first)
            # a new worker takes the next jobs
            return first, await pool.run("pid"), await pool.run("square", 6), restarts, pool
        finally:
            pool.close()

    first, second, squared, restarts, pool = asyncio.run(main())
    assert restarts == 1
    assert second != first  # the hung worker was replaced
    assert squared == 36
    assert pool.restarts == 1
    assert pool.in_flight == 0


def test_a_job_that_kills_its_worker_raises_worker_crashed():
    async def main():
        pool = make_pool(pool_jobs.dispatch, workers=1, max_in_flight=1)
        try:
            with pytest.raises(WorkerCrashedError, match="died"):
                await pool.run("crash")
            return await pool.run("square", 7), pool
        finally:
            pool.close()

    squared, pool = asyncio.run(main())
    assert squared == 49  # the pool was replaced and takes work again
    assert pool.restarts == 1
    assert pool.in_flight == 0


def test_a_crash_does_not_fail_jobs_in_flight_beside_it():
    async def main():
        pool = make_pool(pool_jobs.dispatch, workers=2, max_in_flight=4)
        try:
            results = await asyncio.gather(
                # dies while the slow ones are still running in the same pool
                pool.run("crash", 0.2),
                pool.run("slow_square", 2, 0.5),
                pool.run("slow_square", 3, 0.5),
                pool.run("slow_square", 4, 0.0),
                return_exceptions=True,
            )
            return results, await pool.run("square", 5), pool
        finally:
            pool.close()

    results, after, pool = asyncio.run(main())
    assert isinstance(results[0], WorkerCrashedError)
    assert results[1:] == [4, 9, 16]
    assert after == 25
    assert pool.restarts == 1  # every job of the broken pool saw it; it was replaced once
    assert pool.in_flight == 0


def test_load_function_imports_a_dotted_path():
    assert load_function("tests.support.pool_jobs.square") is pool_jobs.square
    assert load_function("os.path.join") is os.path.join


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.support.pool_jobs.no_such_function", "cannot import"),
        ("tests.no_such_module.square", "cannot import"),
        ("square", "cannot import"),
        ("", "cannot import"),
        ("tests.support.pool_jobs.", "cannot import"),
        ("tests.support.pool_jobs.NOT_CALLABLE", "is not callable"),
    ],
)
def test_load_function_rejects_bad_paths(path, message):
    with pytest.raises(ValueError, match=message) as info:
        load_function(path)
    assert repr(path) in str(info.value)


def test_function_ref_runs_where_it_is_called_and_pickles_as_its_path():
    import pickle

    ref = FunctionRef("tests.support.pool_jobs.square")
    assert ref(7) == 49 and ref.load() is pool_jobs.square
    assert pickle.loads(pickle.dumps(ref)) == ref
    assert b"tests.support.pool_jobs.square" in pickle.dumps(ref)
    with pytest.raises(FunctionLoadError, match="no such module"):
        FunctionRef("tests.no_such_module.square")  # caught where the crawl starts
    missing = FunctionRef("tests.support.pool_jobs.no_such_function")  # caught per call
    with pytest.raises(FunctionLoadError, match="cannot import"):
        missing(1)


def test_a_function_ref_pool_imports_its_module_in_the_workers_only():
    """The submitting process never imports the job's module; warm_up starts every
    worker and imports it there before the first job arrives."""
    import subprocess
    import sys

    script = """
import asyncio, sys
from crawler.extract.workers import FunctionRef, WorkerPool

async def main():
    pool = WorkerPool(FunctionRef("tests.support.pool_jobs.imported"), 2, timeout=30,
                      max_in_flight=2)
    pool.warm_up()
    started = len(pool._pool._processes)
    results = await asyncio.gather(*(pool.run("tests.support.pool_jobs") for _ in range(4)))
    pool.close()
    print(started, all(results), "tests.support.pool_jobs" in sys.modules)

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        cwd=ROOT, timeout=60,
    ).stdout.split()  # fmt: skip
    assert out == ["2", "True", "False"]


@pytest.mark.parametrize(
    ("workers", "timeout", "max_in_flight"),
    [(0, 1.0, 1), (-1, 1.0, 1), (1, 1.0, 0), (1, 0, 1), (1, -1.0, 1)],
)
def test_constructor_rejects_bad_limits(workers, timeout, max_in_flight):
    with pytest.raises(ValueError, match="must be >= 1"):
        WorkerPool(pool_jobs.square, workers, timeout=timeout, max_in_flight=max_in_flight)
