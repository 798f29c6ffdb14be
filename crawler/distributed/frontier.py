"""A crawl job's frontier in Redis: a stream with a consumer group, shared by N workers.

Each URL of a job is one stream entry (JSON, never pickle: a worker must not execute
what another wrote). Workers read entries through the consumer group ``workers``
(``XREADGROUP``): an entry delivered to a worker stays *pending* until that worker
acknowledges it, which it does only once the URL's outcome is durable (manifest line
flushed, WARC records written). A worker renews the lease on what it holds; entries
idle longer than the lease (their worker died) are taken over by a live worker
(``XAUTOCLAIM``). An entry delivered more than ``max_deliveries`` times (a page that
kills its worker) is dead-lettered instead of retried forever. Acknowledged entries
are deleted from the stream, so the job is over when the stream is empty.

Enqueueing is idempotent: a Lua script adds an entry only if its key is new to the
job's "ever queued" set, in one atomic step with the ``XADD``, so the same list
enqueued twice, or a URL discovered by two workers, is queued once. Taking an entry
over never goes through that set, so it cannot be dropped as "seen".

Keys, for job J under prefix P: ``P:J:queue`` (stream), ``P:J:queued`` (set),
``P:J:dead`` (hash: entry key -> JSON), ``P:J:done`` (counter), ``P:J:worker:NAME``
(a live worker's name claim), ``P:J:host:HOST`` (token buckets, crawler.distributed.politeness).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from crawler.core.items import PageRef
from crawler.sources.entries import EntryClassifier
from crawler.sources.urllists import read_url_list

GROUP = "workers"

# KEYS: stream, queued set. ARGV: key1, data1, key2, data2, ... Returns entries added.
_ENQUEUE = """
local added = 0
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[2], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[1], '*', 'key', ARGV[i], 'data', ARGV[i + 1])
    added = added + 1
  end
end
return added
"""


def entry_data(page: PageRef, **extra: Any) -> dict[str, Any]:
    """A page as a stream entry: plain JSON, no callbacks, nothing to execute."""
    data = {"url": page.url, "id": page.id, "seq": page.seq, "via": page.via,
            "date": page.date, "depth": page.depth, **extra}  # fmt: skip
    return {k: v for k, v in data.items() if v is not None}


def page_of(data: dict[str, Any]) -> PageRef:
    return PageRef(
        str(data["url"]), str(data["id"]), str(data["seq"]), via=data.get("via"),
        date=data.get("date"), depth=int(data.get("depth") or 0),
    )  # fmt: skip


def list_entries(path: str, max_length: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """A URL list as job entries, exactly as ``scrapy crawl urls`` reads it
    (crawler.sources.entries): seq from the list position, the URL's id as key; an
    invalid entry or a repeat keeps its line as an entry keyed by its seq, with the
    outcome decided here (the worker that takes it writes the line). Unreadable dates
    are dropped, as the crawl does."""
    classifier = EntryClassifier()
    with closing(read_url_list(path, max_length)) as entries:
        for entry in entries:
            listed = classifier.classify(entry)
            if listed.outcome is not None:
                data = entry_data(listed.page, outcome=listed.outcome, error=listed.error)
                yield f"seq:{listed.page.seq}", data
            else:
                yield listed.page.id, entry_data(listed.page)


class FrontierError(Exception):
    """Redis cannot serve the job (unreachable, a worker name in use, a malformed entry)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One delivered stream entry: its stream id, its job-wide key, its data and how
    many times it has been delivered (1 the first time)."""

    entry_id: str
    key: str
    data: dict[str, Any]
    deliveries: int = 1


@dataclass(frozen=True, slots=True)
class JobStatus:
    queued: int  # in the stream and not yet delivered
    pending: dict[str, int] = field(default_factory=dict)  # delivered, not acked, per worker
    done: int = 0  # acknowledged
    dead: int = 0  # dead-lettered
    ever_queued: int = 0

    @property
    def finished(self) -> bool:
        return self.queued == 0 and not any(self.pending.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "queued": self.queued, "pending": dict(self.pending), "done": self.done,
            "dead_lettered": self.dead, "ever_queued": self.ever_queued,
            "finished": self.finished,
        }  # fmt: skip


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def connect(url: str) -> Any:
    """A redis-py client for *url* that retries through a short outage (a Redis restart)
    instead of failing the crawl: up to ~30 s of reconnecting with back-off."""
    try:
        import redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry
    except ImportError as exc:  # pragma: no cover - the distributed extra is not installed
        raise FrontierError("distributed jobs need redis-py: pip install 'redis>=5'") from exc
    return redis.Redis.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 20),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
    )


class RedisFrontier:
    """The frontier of *job* as worker *worker* sees it (a plain class over redis-py)."""

    def __init__(
        self,
        client: Any,
        job: str,
        worker: str = "",
        *,
        prefix: str = "newsarchiver",
        lease: float = 60.0,
        max_deliveries: int = 3,
    ) -> None:
        if not job or any(c in job for c in " :{}"):
            raise FrontierError(f"invalid job name {job!r} (no spaces, ':' or braces)")
        if lease <= 0 or max_deliveries < 1:
            raise FrontierError("the lease must be > 0 s and max_deliveries >= 1")
        self.redis = client
        self.job = job
        self.worker = worker
        self.lease = lease
        self.max_deliveries = max_deliveries
        base = f"{prefix}:{job}"
        self.base = base
        self.stream, self.queued_set = f"{base}:queue", f"{base}:queued"
        self.dead_hash, self.done_key = f"{base}:dead", f"{base}:done"
        self._enqueue = client.register_script(_ENQUEUE)
        self._group_ready = False

    def key(self, name: str) -> str:
        """A job-scoped key for other shared state (state store, host buckets)."""
        return f"{self.base}:{name}"

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        import redis

        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    # -- workers -------------------------------------------------------------------------
    def claim_name(self) -> None:
        """Register this worker's name for a lease; FrontierError if a live worker has it."""
        if not self.redis.set(self.key(f"worker:{self.worker}"), str(time.time()), nx=True,
                              px=int(self.lease * 1000)):  # fmt: skip
            raise FrontierError(
                f"worker name {self.worker!r} is in use in job {self.job!r} (a live worker "
                f"renews it; a dead one's lapses within {self.lease:g} s): set another "
                f"REDIS_WORKER, or none to take a free name"
            )

    def release_name(self) -> None:
        self.redis.delete(self.key(f"worker:{self.worker}"))

    # -- queueing ------------------------------------------------------------------------
    def enqueue(self, entries: list[tuple[str, dict[str, Any]]], batch: int = 500) -> int:
        """Queue (key, data) pairs whose key the job has never queued; returns how many."""
        self._ensure_group()
        added = 0
        for start in range(0, len(entries), batch):
            args: list[str] = []
            for key, data in entries[start : start + batch]:
                # ASCII JSON: an undecodable byte of a bad entry travels as \\udcXX
                args += [key, json.dumps(data, separators=(",", ":"))]
            added += int(self._enqueue(keys=[self.stream, self.queued_set], args=args))
        return added

    def take(self, count: int) -> list[Entry]:
        """Up to *count* entries for this worker: first any whose lease lapsed (their
        worker died), then new ones. Never blocks."""
        self._ensure_group()
        entries: list[Entry] = []
        _, claimed, *_ = self.redis.xautoclaim(
            self.stream, GROUP, self.worker, min_idle_time=int(self.lease * 1000),
            start_id="0-0", count=count,
        )  # fmt: skip
        if claimed:
            counts = self._deliveries([_text(i) for i, f in claimed if f])
            entries += [self._entry(i, f, counts.get(_text(i), 2)) for i, f in claimed if f]
        if len(entries) < count:
            read = self.redis.xreadgroup(
                GROUP, self.worker, {self.stream: ">"}, count=count - len(entries)
            )
            for _, messages in read or []:
                entries += [self._entry(i, f, 1) for i, f in messages if f]
        return entries

    def _deliveries(self, ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry_id in ids:
            for row in self.redis.xpending_range(self.stream, GROUP, entry_id, entry_id, 1):
                counts[_text(row["message_id"])] = int(row["times_delivered"])
        return counts

    @staticmethod
    def _entry(entry_id: Any, fields: dict, deliveries: int) -> Entry:
        data = {_text(k): _text(v) for k, v in fields.items()}
        try:
            payload = json.loads(data["data"])
        except (KeyError, ValueError) as exc:
            raise FrontierError(f"malformed stream entry {_text(entry_id)}: {exc}") from None
        return Entry(_text(entry_id), data.get("key", ""), payload, deliveries)

    def renew(self, entry_ids: list[str]) -> None:
        """Reset the idle time of entries this worker still holds (and its name claim):
        a slow page is not a dead worker."""
        self.redis.set(self.key(f"worker:{self.worker}"), str(time.time()),
                       px=int(self.lease * 1000))  # fmt: skip
        if entry_ids:
            self.redis.xclaim(self.stream, GROUP, self.worker, 0, entry_ids, justid=True)

    def ack(self, entry_ids: list[str]) -> None:
        """The entries' outcomes are durable: acknowledge and delete them."""
        if not entry_ids:
            return
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(self.stream, GROUP, *entry_ids)
        pipe.xdel(self.stream, *entry_ids)
        pipe.incrby(self.done_key, len(entry_ids))
        pipe.execute()

    def dead_letter(self, entry: Entry, reason: str) -> None:
        record = {"key": entry.key, "data": entry.data, "deliveries": entry.deliveries,
                  "reason": reason, "worker": self.worker}  # fmt: skip
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.dead_hash, entry.key, json.dumps(record, ensure_ascii=False))
        pipe.xack(self.stream, GROUP, entry.entry_id)
        pipe.xdel(self.stream, entry.entry_id)
        pipe.execute()

    # -- the job as a whole --------------------------------------------------------------
    def status(self) -> JobStatus:
        self._ensure_group()
        total = int(self.redis.xlen(self.stream))  # undelivered + pending (acked are deleted)
        summary = self.redis.xpending(self.stream, GROUP)
        pending = {_text(c["name"]): int(c["pending"]) for c in summary.get("consumers") or []}
        return JobStatus(
            queued=total - int(summary.get("pending") or 0),
            pending=pending,
            done=int(self.redis.get(self.done_key) or 0),
            dead=int(self.redis.hlen(self.dead_hash)),
            ever_queued=int(self.redis.scard(self.queued_set)),
        )

    def finished(self) -> bool:
        """Nothing queued, nothing pending: every entry acknowledged or dead-lettered."""
        self._ensure_group()
        return int(self.redis.xlen(self.stream)) == 0

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(v) for v in self.redis.hvals(self.dead_hash)]
