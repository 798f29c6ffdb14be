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
import importlib
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any


class WorkerTimeoutError(Exception):
    """A job ran longer than the pool's time limit."""


class WorkerCrashedError(Exception):
    """A job's worker process died (twice)."""


def load_function(path: str) -> Callable[..., Any]:
    """``package.module.function`` -> the function (it must be importable in workers too)."""
    module, _, name = path.rpartition(".")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot import {path!r}: {exc}") from None
    if not callable(function):
        raise ValueError(f"{path!r} is not callable")
    return function


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
        # forkserver: workers fork from a clean process with the job's module preloaded,
        # not from the crawler (threads, sockets) and not re-importing everything.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([function.__module__])
        self._pool = self._new_pool()
        self._places: asyncio.Semaphore | None = None
        self._quarantine: asyncio.Lock | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=self._context, initializer=self.initializer
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
        future = asyncio.get_running_loop().run_in_executor(executor, self.function, *args)
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise WorkerTimeoutError(f"took longer than {self.timeout:g} s") from None

    async def _isolated(self, args: tuple[Any, ...]) -> Any:
        if self._quarantine is None:
            self._quarantine = asyncio.Lock()
        async with self._quarantine:
            executor = ProcessPoolExecutor(
                1, mp_context=self._context, initializer=self.initializer
            )
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

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
