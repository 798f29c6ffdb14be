"""A process pool for CPU-bound work (extraction), usable from asyncio code.

Keeps the reactor thread free: jobs run in worker processes, at most ``max_in_flight``
at a time (callers wait for a place: the backpressure that pauses downloads when
extraction lags). A job that runs past ``timeout`` is abandoned and the pool is
replaced (its workers killed). When a worker dies, every job that was in flight is
retried alone in a fresh one-worker pool: only the job that kills that one too fails
(WorkerCrashedError).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import importlib.util
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, runtime_checkable

from crawler.core.renamed import renamed_message


class WorkerTimeoutError(Exception):
    """A job ran longer than the pool's time limit."""


class WorkerCrashedError(Exception):
    """A job's worker process died (twice)."""


def parent_death_signal(signum: int) -> None:
    """Linux: the kernel sends *signum* to this process when its parent dies, even by
    SIGKILL (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signum)  # PR_SET_PDEATHSIG


def die_with_parent() -> None:
    """Make this worker process end when the process that started it does.

    Pool workers otherwise outlive a crawl killed with SIGKILL (they hold their own
    queue's pipe, so they never see EOF). Linux: the kernel sends SIGKILL on the
    parent's death; elsewhere a thread watches the parent pid.
    """
    parent = os.getppid()
    parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def worker_context() -> multiprocessing.context.BaseContext:
    """spawn: workers are fresh interpreters and children of the crawler itself (so they
    can die with it), not forks of a process with threads and sockets."""
    return multiprocessing.get_context("spawn")


def start_worker(initializer: Callable[..., None] | None, *args: Any) -> None:
    die_with_parent()
    if initializer is not None:
        initializer(*args)


def timed_call(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """*function*(*args) and the CPU seconds it took (in the worker that ran it)."""
    started = time.process_time()
    result = function(*args)
    return result, time.process_time() - started


class FunctionLoadError(ValueError):
    """An import path does not name a callable."""


def load_function(path: str) -> Callable[..., Any]:
    """``package.module.function`` -> the function (it must be importable in workers too)."""
    if message := renamed_message("EXTRACT_FUNCTION", path):
        raise FunctionLoadError(message)
    module, _, name = path.rpartition(".")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise FunctionLoadError(f"cannot import {path!r}: {exc}") from None
    if not callable(function):
        raise FunctionLoadError(f"{path!r} is not callable")
    return function


@dataclass(frozen=True)
class FunctionRef:
    """A function named by its import path, imported where it is first called.

    What a pool's jobs run: it pickles as its path, so the worker imports the function's
    module (trafilatura, for the extractor) and the process that submits the jobs never
    has to (half a second of a short crawl's start-up). The module must exist (checked
    here, without importing it); a missing name fails each call with FunctionLoadError.
    """

    path: str

    def __post_init__(self) -> None:
        if message := renamed_message("EXTRACT_FUNCTION", self.path):
            raise FunctionLoadError(message)
        module, _, name = self.path.rpartition(".")
        try:
            found = bool(module and name) and importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise FunctionLoadError(f"cannot import {self.path!r}: no such module")

    def load(self) -> Callable[..., Any]:
        return _loaded(self.path)

    def __call__(self, *args: Any) -> Any:
        return _loaded(self.path)(*args)


@cache
def _loaded(path: str) -> Callable[..., Any]:
    return load_function(path)


@runtime_checkable
class Loadable(Protocol):
    """A job function that imports what it needs on first use (a :class:`FunctionRef`,
    or a wrapper of one)."""

    def load(self) -> Any: ...


def warm(function: Callable[..., Any]) -> None:
    """Import what a job of *function* needs (a pool's first job; see WorkerPool.warm_up)."""
    if isinstance(function, Loadable):
        function.load()


class WorkerPool:
    def __init__(
        self,
        function: Callable[..., Any],
        workers: int,
        *,
        timeout: float,
        max_in_flight: int,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        if workers < 1 or max_in_flight < 1 or timeout <= 0:
            raise ValueError("workers and max_in_flight must be >= 1, timeout > 0")
        self.function = function
        self.workers = workers
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self.initializer = initializer
        self.in_flight = 0
        self.most_in_flight = 0
        self.restarts = 0
        self.cpu_seconds = 0.0  # CPU the jobs took in the workers
        self._context = worker_context()
        self._pool = self._new_pool()
        self._places: asyncio.Semaphore | None = None
        self._quarantine: asyncio.Lock | None = None

    def _new_pool(self, workers: int | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            workers or self.workers,
            mp_context=self._context,
            initializer=start_worker,
            initargs=(self.initializer,),
        )

    def _replace(self, broken: ProcessPoolExecutor, kill: bool) -> None:
        if broken is not self._pool:
            return  # another job already replaced it
        self.restarts += 1
        self._pool = self._new_pool()
        if kill:
            # A hung job never returns: kill its worker (and the others of that pool,
            # whose jobs are then retried on the new one).
            for process in list(getattr(broken, "_processes", {}).values()):
                process.kill()
        broken.shutdown(wait=False, cancel_futures=True)

    async def run(self, *args: Any) -> Any:
        if self._places is None:
            self._places = asyncio.Semaphore(self.max_in_flight)
        async with self._places:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                return await self._run(args)
            finally:
                self.in_flight -= 1

    async def _run(self, args: tuple[Any, ...]) -> Any:
        pool = self._pool
        try:
            return await self._call(pool, args)
        except BrokenProcessPool:
            # Some job in that pool killed its worker; every job in flight sees this.
            # Each retries alone on a fresh one-worker pool, so only the culprit fails.
            self._replace(pool, kill=False)
            return await self._isolated(args)
        except WorkerTimeoutError:
            self._replace(pool, kill=True)
            raise

    async def _call(self, executor: ProcessPoolExecutor, args: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(executor, timed_call, self.function, *args)
        try:
            result, cpu = await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise WorkerTimeoutError(f"took longer than {self.timeout:g} s") from None
        self.cpu_seconds += cpu
        return result

    async def _isolated(self, args: tuple[Any, ...]) -> Any:
        if self._quarantine is None:
            self._quarantine = asyncio.Lock()
        async with self._quarantine:
            executor = self._new_pool(1)
            try:
                return await self._call(executor, args)
            except BrokenProcessPool:
                raise WorkerCrashedError("the worker process died on this page") from None
            except WorkerTimeoutError:
                for process in list(getattr(executor, "_processes", {}).values()):
                    process.kill()
                raise
            finally:
                executor.shutdown(wait=False, cancel_futures=True)

    def warm_up(self) -> None:
        """Start every worker and import the job's function there, without waiting: the
        workers get ready while the first pages download, not before the crawl starts.
        (The executor starts a spawn-context worker per job submitted while none is idle.)
        """
        for _ in range(self.workers):
            self._pool.submit(warm, self.function)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
