"""The Scrapy side of a distributed job (``-s JOB=NAME -s REDIS_URL=...``; the job itself
is crawler.distributed.job's, opened by the archive extension).

:class:`RedisScheduler` (``SCHEDULER``) replaces Scrapy's scheduler: page requests go
into the job's stream as JSON and come out as this worker's share; an entry is
acknowledged when its page's item has left the pipelines (manifest line flushed, WARC
records written before it), never when it is taken. Retries, redirects and Internet
Archive steps of an entry stay in a local queue: the entry is still this worker's.
:class:`HostRateDownloadHandler` spaces requests to each host across all workers.

Reads: settings ``JOB``, ``REDIS_*``; the ``item_scraped``, ``item_error``,
``item_dropped`` and ``spider_idle`` signals. Writes: the job's Redis keys
(crawler.distributed.frontier), manifest lines for entries that end without a fetch
(invalid or duplicate list entries, poison pages), stats ``job/*``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached

from crawler.core.items import FetchedPage, PageRef, SourceDone
from crawler.core.keys import (
    META_FRONTIER_ENTRY,
    META_PAGE,
    STAT_INPUT_COMPLETE,
    STAT_INPUT_ENTRIES,
    STAT_INPUT_SKIPPED,
    STAT_MANIFEST_LINES,
    outcome_stat,
)
from crawler.core.manifest import manifest_record
from crawler.core.outcomes import ERROR
from crawler.distributed.frontier import (
    Entry,
    RedisFrontier,
    entry_data,
    page_of,
)
from crawler.distributed.politeness import HostRate
from crawler.extensions.archive import archive_of, job_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

    from crawler.archive.directory import Archive


logger = logging.getLogger(__name__)
MAX_REQUEUES = 3  # times a request woken late for its host slot queues again


class RedisScheduler:
    """Scrapy's scheduler for a distributed job (``SCHEDULER``; needs ``JOB``)."""

    def __init__(self, crawler: Crawler) -> None:
        job = job_of(crawler)
        if job is None:
            raise NotConfigured("crawler.scheduler.RedisScheduler needs -s JOB=... ")
        self.crawler = crawler
        self.stats = crawler.stats
        self.frontier: RedisFrontier = job.frontier
        self.archive: Archive = archive_of(crawler)
        settings = crawler.settings
        self.batch = max(1, settings.getint("REDIS_BATCH"))
        # Entries taken but not finished, at most: enough to keep every download slot busy.
        # (REDIS_MAX_HELD, when set: entries that are whole source files, read a few at once)
        self.max_held = settings.getint("REDIS_MAX_HELD") or max(
            self.batch, 2 * settings.getint("CONCURRENT_REQUESTS")
        )
        self.local: deque[Request] = deque()  # follow-ups of entries held here
        self.buffer: deque[Entry] = deque()  # taken, not yet handed to the engine
        self.held: dict[str, str] = {}  # page id -> stream id, handed to the engine
        self.poll_interval = settings.getfloat("REDIS_POLL_INTERVAL")
        self.spider: Any = None
        self._renewing: Any = None
        self._polling: Any = None
        crawler.signals.connect(self._scraped, signal=signals.item_scraped)
        crawler.signals.connect(self._released, signal=signals.item_error)
        crawler.signals.connect(self._released, signal=signals.item_dropped)
        crawler.signals.connect(self._idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisScheduler:
        return cls(crawler)

    def open(self, spider: Any) -> None:
        from twisted.internet import task

        self.spider = spider
        self._renewing = task.LoopingCall(self._renew)
        self._renewing.start(self.frontier.lease / 3, now=False)

    def close(self, reason: str) -> None:
        for loop in (self._renewing, self._polling):
            if loop is not None and loop.running:
                loop.stop()
        try:
            status = self.frontier.status()
            self.stats.set_value("job/done", status.done)
            self.stats.set_value("job/dead_lettered", status.dead)
            self.frontier.release_name()
        except Exception as exc:  # Redis away: the name claim lapses by itself
            logger.error("Could not read job %s at close: %s", self.frontier.job, exc)
        if self.held or self.buffer:
            # Interrupted: what this worker held is taken over once its lease lapses.
            logger.warning("Leaving %d entries of job %s to other workers",
                           len(self.held) + len(self.buffer), self.frontier.job)  # fmt: skip

    def has_pending_requests(self) -> bool:
        return bool(self.local or self.buffer)

    def enqueue_request(self, request: Request) -> bool:
        if META_FRONTIER_ENTRY in request.meta:
            self.local.append(request)  # a retry, redirect or archive step of a held entry
            return True
        page = request.meta.get(META_PAGE)
        if isinstance(page, PageRef):  # a URL to crawl: the job's, whoever found it
            added = self.frontier.enqueue([(page.id, entry_data(page))])
            self.stats.inc_value("job/enqueued" if added else "job/already_queued")
            return True
        self.local.append(request)  # this worker's own requests (feeds, sitemaps)
        return True

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.popleft()
        while True:
            if not self.buffer and len(self.held) < self.max_held:
                self.buffer.extend(self.frontier.take(self.batch))
            if not self.buffer:
                return None
            request = self._request_for(self.buffer.popleft())
            if request is not None:
                return request

    # -- one entry ------------------------------------------------------------------------
    def _request_for(self, entry: Entry) -> Request | None:
        """The request for *entry*, or None when it ends here (recorded and resolved)."""
        try:
            page = page_of(entry.data)
        except (KeyError, TypeError, ValueError) as exc:
            logger.error("Dead-lettered malformed entry %s: %r", entry.entry_id, exc)
            self.frontier.dead_letter(entry, f"malformed entry: {exc!r}")
            return None
        if entry.deliveries > self.frontier.max_deliveries:
            # Delivered that often, it killed (or hung) every worker that took it.
            error = (f"poison: taken {entry.deliveries} times without an outcome (each "
                     f"worker that took it died or stalled); REDIS_MAX_DELIVERIES="
                     f"{self.frontier.max_deliveries}")  # fmt: skip
            logger.error("Dead-lettered %s: %s", page.url, error)
            self.stats.inc_value("job/poison")
            self._record(FetchedPage(page, outcome=ERROR, error=error))
            self.frontier.dead_letter(entry, error)
            self.stats.inc_value(STAT_INPUT_ENTRIES)
            return None
        if entry.deliveries > 1:
            self.stats.inc_value("job/taken_over")
        if outcome := entry.data.get("outcome"):
            # Decided when the list was enqueued (an invalid or duplicate entry): its line.
            self._record(FetchedPage(page, outcome=outcome, error=entry.data.get("error")))
            self._resolve(entry.entry_id)
            return None
        state = self.archive.previous(page.id)
        if self.archive.is_done(state, refresh=getattr(self.spider, "refresh", False)):
            self.stats.inc_value(STAT_INPUT_SKIPPED)  # its earlier manifest line stands
            self._resolve(entry.entry_id)
            return None
        request = self.spider.page_request(page, state)
        request.meta[META_FRONTIER_ENTRY] = entry.entry_id
        self.held[page.id] = entry.entry_id
        return request

    def _record(self, item: FetchedPage) -> None:
        self.archive.record(manifest_record(item), None)
        self.stats.inc_value(STAT_MANIFEST_LINES)
        self.stats.inc_value(outcome_stat(item.outcome or ERROR))

    def _resolve(self, entry_id: str) -> None:
        self.frontier.ack([entry_id])
        self.stats.inc_value(STAT_INPUT_ENTRIES)

    # -- signals --------------------------------------------------------------------------
    def _scraped(self, item: Any) -> None:
        """The page's manifest line is written and flushed: its entry is done. A source
        file's entry (SourceDone: its pages recorded) is acknowledged without being counted
        as an input entry: its pages are, each with its line."""
        if isinstance(item, SourceDone) and (entry_id := self.held.pop(item.id, None)):
            self.frontier.ack([entry_id])
        elif isinstance(item, FetchedPage) and (entry_id := self.held.pop(item.id, None)):
            self._resolve(entry_id)

    def _released(self, item: Any) -> None:
        """A page failed in a pipeline (no manifest line): let its lease lapse, so that
        the entry is taken again (and dead-lettered if it keeps failing)."""
        if isinstance(item, FetchedPage) and self.held.pop(item.id, None):
            self.stats.inc_value("job/released")

    def _renew(self) -> None:
        try:
            self.frontier.renew(list(self.held.values()) + [e.entry_id for e in self.buffer])
        except Exception as exc:  # Redis away for longer than the client retries
            logger.error("Could not renew the leases of job %s: %s", self.frontier.job, exc)

    def _idle(self) -> None:
        """Nothing in flight here. Entries still held produced no item (a spider bug):
        released, as above. The worker stays while the job has entries queued or pending
        anywhere (a dead worker's are taken over when their lease lapses)."""
        if self.held:
            logger.error("Released %d entries that produced no manifest line", len(self.held))
            self.stats.inc_value("job/released", len(self.held))
            self.held.clear()
        if not self.frontier.finished():
            self._start_polling()
            raise DontCloseSpider
        self.stats.set_value(STAT_INPUT_COMPLETE, True)

    def _start_polling(self) -> None:
        """While idle, look at the job every REDIS_POLL_INTERVAL s (the engine itself
        looks again only at its 5 s heartbeat: a worker would notice work taken over, or
        the job's end, seconds late)."""
        from twisted.internet import task

        if self._polling is None or not self._polling.running:
            self._polling = task.LoopingCall(self._poll)
            self._polling.start(self.poll_interval, now=False)

    def _poll(self) -> None:
        if self.local or self.buffer or self.held:
            self._polling.stop()  # busy again: the engine asks for requests itself
            return
        try:
            request = self.next_request()
            finished = request is None and self.frontier.finished()
        except Exception as exc:  # Redis away for longer than the client retries
            logger.error("Could not read job %s: %s", self.frontier.job, exc)
            return
        if request is not None:
            self._polling.stop()
            self.crawler.engine.crawl(request)  # queued here again, and the engine woken
        elif finished:
            self._polling.stop()
            self.stats.set_value(STAT_INPUT_COMPLETE, True)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="finished"))


class HostRateDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP handler, spacing the requests of a distributed job to each host across
    every worker: at most ``REDIS_HOST_RATE`` requests a second per host (bursts of
    ``REDIS_HOST_BURST``), a token bucket per host in Redis (crawler.distributed.politeness), so N
    workers do not hit a site N times as hard. Outside jobs, or with ``REDIS_HOST_RATE =
    0``, it is Scrapy's handler unchanged. Stat ``job/host_waits``.

    Why a download handler and not a downloader middleware: a middleware runs before the
    request waits in Scrapy's per-host slot queue, so requests spaced there can leave the
    queue together when connections free up; the handler takes its slot from the bucket
    when the request is actually sent."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        # Extensions are built before the engine: the job (if any) is open by now, and a
        # bad REDIS_HOST_RATE/BURST fails the start, not every page.
        job = job_of(crawler)
        settings = crawler.settings
        rate, burst = settings.getfloat("REDIS_HOST_RATE"), settings.getfloat("REDIS_HOST_BURST")
        self._rate = job.host_rate(rate, burst) if job else None

    async def download_request(self, request: Request) -> Response:
        if self._rate is not None:
            await self._take_slot(self._rate, urlparse_cached(request).hostname or "")
        return await super().download_request(request)

    async def _take_slot(self, rate: HostRate, host: str) -> None:
        """Wait for this request's slot in *host*'s schedule. Woken late (a reactor kept
        busy, a CPU shared with other workers), it would go out together with the slots
        after its own: the slot is given up and the request queues again (``job/host_late``),
        a few times at most, so a worker on a starved CPU still makes progress."""
        stats = self._crawler.stats
        for _ in range(MAX_REQUEUES + 1):
            wait = rate.reserve(host)
            if wait <= 0:
                return
            stats.inc_value("job/host_waits")
            started = time.monotonic()
            await sleep(wait)
            if time.monotonic() - started - wait <= rate.tolerance:
                return
            stats.inc_value("job/host_late")
