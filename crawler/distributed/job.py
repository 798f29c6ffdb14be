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


def worker_name(settings: Any) -> str:
    """``REDIS_WORKER``, or this host's name: stable across restarts, so a restarted
    worker is the same consumer (set it per process when one machine runs several)."""
    name = settings.get("REDIS_WORKER") or socket.gethostname()
    if not _WORKER_NAME.fullmatch(name):
        raise FrontierError(f"invalid REDIS_WORKER {name!r}: letters, digits, '.', '_', '-'")
    return name


def job_frontier(
    settings: Any, job: str, url: str | None = None, worker: str | None = None
) -> RedisFrontier:
    """The frontier of *job* at *url* (default ``REDIS_URL``), as *worker* if given.
    Raises FrontierError without a URL, for a bad job name, or without redis-py."""
    url = url or settings.get("REDIS_URL")
    if not url:
        raise FrontierError("JOB needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    return RedisFrontier(
        connect(url), job, worker or "",
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
    """This process as a worker of ``JOB``, its name claimed (waiting up to one lease
    for a dead predecessor's claim under the same name to lapse)."""
    frontier = job_frontier(settings, settings.get("JOB"), worker=worker_name(settings))
    deadline = time.monotonic() + frontier.lease + 1.0
    while True:
        try:
            frontier.claim_name()
            break
        except FrontierError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return Job(
        frontier,
        RedisStateStore(frontier.redis, frontier.key, frontier.worker),
        SharedRobots(frontier.redis, frontier.key),
    )
