"""Joining a distributed job: N workers, one Redis, one crawl (``-s JOB=NAME -s REDIS_URL=...``).

:func:`job_frontier` builds a job's frontier from settings (every entry point: a worker,
``scrapy enqueue``, ``job``, ``merge``); :func:`open_job` makes this process one worker
of the job: its name claimed, its :class:`Job` (the frontier, the state store in Redis,
the shared robots.txt answers and per-host rate). The archive extension opens it (the
worker's outputs go to ``ARCHIVE_DIR/workers/<REDIS_WORKER>/``); the Redis scheduler,
the download handler and the robots.txt middleware reach it through that extension.

Reads settings ``JOB``, ``REDIS_*`` (any object with Scrapy's typed getters). No Scrapy.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass
from typing import Any

from crawler.distributed.frontier import FrontierError, RedisFrontier, connect
from crawler.distributed.politeness import HostRate, SharedRobots
from crawler.distributed.state import RedisStateStore

# A worker's name is a directory name (ARCHIVE_DIR/workers/<name>) and a consumer name.
_WORKER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


# Workers one machine may start under its host name: host, host-2, ... host-64.
MAX_WORKERS_PER_HOST = 64


def worker_name(settings: Any) -> str | None:
    """``REDIS_WORKER`` (a fixed name), checked; None when not set."""
    name = settings.get("REDIS_WORKER") or None
    if name is not None and not _WORKER_NAME.fullmatch(name):
        raise FrontierError(f"invalid REDIS_WORKER {name!r}: letters, digits, '.', '_', '-'")
    return name


def host_names(host: str | None = None) -> list[str]:
    """The names a worker takes by default, first free one first: the host name, then
    the host name and a number (two workers started alike on one machine)."""
    base = re.sub(r"[^A-Za-z0-9._-]", "-", host or socket.gethostname()).lstrip("._-")[:60]
    base = base or "worker"
    return [base, *(f"{base}-{n}" for n in range(2, MAX_WORKERS_PER_HOST + 1))]


def job_frontier(
    settings: Any,
    job: str,
    url: str | None = None,
    worker: str | None = None,
    client: Any = None,
) -> RedisFrontier:
    """The frontier of *job* at *url* (default ``REDIS_URL``), as *worker* if given.
    Raises FrontierError without a URL, for a bad job name, or without redis-py."""
    url = url or settings.get("REDIS_URL")
    if client is None and not url:
        raise FrontierError("JOB needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    return RedisFrontier(
        client or connect(url), job, worker or "",
        prefix=settings.get("REDIS_PREFIX"),
        lease=settings.getfloat("REDIS_LEASE"),
        max_deliveries=settings.getint("REDIS_MAX_DELIVERIES"),
    )  # fmt: skip


@dataclass(frozen=True)
class Job:
    """What a worker shares with the others of its job."""

    frontier: RedisFrontier
    state: RedisStateStore
    robots: SharedRobots

    @property
    def worker(self) -> str:
        return str(self.frontier.worker)

    def host_rate(self, per_second: float, burst: float) -> HostRate | None:
        """The job's per-host token buckets (None when *per_second* is 0: off)."""
        if per_second <= 0:
            return None
        return HostRate(self.frontier.redis, self.frontier.key, per_second, burst)


def open_job(settings: Any) -> Job:
    """This process as a worker of ``JOB``: under ``REDIS_WORKER`` when set (waiting up to
    one lease for a dead predecessor's claim on it to lapse, as a restarted worker does),
    else under the first free name of :func:`host_names`, claimed atomically in Redis.
    FrontierError, in one line, when no name can be had."""
    fixed = worker_name(settings)
    frontier = job_frontier(settings, settings.get("JOB"), worker=fixed)
    if fixed is not None:
        _claim_waiting(frontier)
    else:
        frontier = _claim_free(settings, frontier)
    return Job(
        frontier,
        RedisStateStore(frontier.redis, frontier.key, frontier.worker),
        SharedRobots(frontier.redis, frontier.key),
    )


def _claim_waiting(frontier: RedisFrontier) -> None:
    deadline = time.monotonic() + frontier.lease + 1.0
    while True:
        try:
            frontier.claim_name()
            return
        except FrontierError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _claim_free(settings: Any, frontier: RedisFrontier) -> RedisFrontier:
    for name in host_names():
        candidate = job_frontier(settings, frontier.job, worker=name, client=frontier.redis)
        try:
            candidate.claim_name()
            return candidate
        except FrontierError:
            continue  # a live worker has it: the next one
    raise FrontierError(
        f"all {MAX_WORKERS_PER_HOST} worker names of this host are in use in job "
        f"{frontier.job!r}: set REDIS_WORKER"
    )
