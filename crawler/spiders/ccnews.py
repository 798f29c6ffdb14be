"""``scrapy crawl ccnews -a since=2024-01-01 -a until=2024-01-31 -a sites=a.example,b.example``:
pages from Common Crawl's news archive (CC-NEWS), filtered, extracted and archived with
their original records, without fetching the sites again.

The monthly listings (``CCNEWS_BASE/crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz``) name the
period's WARC files (crawler.sources.ccnews); each is read in ranged requests of
``CCNEWS_CHUNK_SIZE`` bytes through the downloader (retries, back-off, the address guard),
one range at a time and ``CCNEWS_FILES_AT_ONCE`` files at once. Each range is cut into
whole captures (crawler.warc.stream: headers read, blocks not kept); the next range starts
at the first capture not whole in it, so a failed or resumed read starts at a whole
record. Responses are kept on their headers (date, site, ``allow``/``deny``, 200, HTML),
then go through the crawl's pipelines as pages (extraction in the worker pool; the
``SourceRecordsPipeline`` drops other ``languages`` and copies the records into this
archive's WARC). ``ARCHIVE_DIR/ccnews.json`` records how far each file is read; a killed
run resumes there, skipping pages the manifest already has.

In a distributed job (``-s JOB``) each file is one entry of the job: every worker lists
the period and queues its files (once each), and takes ``CCNEWS_FILES_AT_ONCE`` at a time.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawler.archive.files import StorageError
from crawler.archive.progress import SourceProgress
from crawler.archive.state import UrlState
from crawler.core.identity import url_id
from crawler.core.items import FetchedPage, Origin, PageRef, SourceDone, SourceRecords
from crawler.core.keys import (
    META_FRONTIER_ENTRY,
    META_PAGE,
    META_SOURCE_READ,
    META_WARC_SKIP,
    STAT_INPUT_COMPLETE,
    STAT_INPUT_ENTRIES,
)
from crawler.core.outcomes import ERROR, describe_exception
from crawler.fetch.ranges import RangeError, range_header, ranged_body
from crawler.sources.ccnews import (
    LISTING,
    Period,
    RecordFilter,
    SourceFile,
    files_in_period,
    parse_listing,
    read_sites,
)
from crawler.sources.feeds import DiscoveryError
from crawler.sources.urllists import InputFormatError
from crawler.spiders.base import ArchiveSpider
from crawler.warc.reader import read_member, record_page, warc_date_seconds
from crawler.warc.stream import Capture, StreamError, scan_chunk

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)
SOURCE = "ccnews"
_OPTIONAL = "ccnews_listing_optional"  # meta (its own): a listing that may be missing


@dataclass(eq=False)
class FileRead:
    """One source file being read in this run."""

    page: PageRef  # the file as an input: its URL, id (seq given if it fails)
    path: str  # under CCNEWS_BASE (the manifest's source_file)
    offset: int  # the next byte to read: the start of a capture
    chunk: int  # bytes asked for per range
    resumed_to: int = 0  # pages before this byte were handed on by an earlier run
    entry: str | None = None  # its job entry (distributed)
    inflight: dict[str, int] = field(default_factory=dict)  # page id -> its capture's offset
    drained: asyncio.Future[None] | None = None

    def durable(self) -> int:
        """Every page before this byte has its manifest line."""
        return min(self.inflight.values(), default=self.offset)


class CcNewsSpider(ArchiveSpider):
    """Pages of CC-NEWS for a period and sites (the module's text says how)."""

    name = "ccnews"

    def __init__(
        self,
        since: str | None = None,
        until: str | None = None,
        sites: str | None = None,
        languages: str | None = None,
        allow: str | None = None,
        deny: str | None = None,
        limit: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.arguments = {"since": since, "until": until, "sites": sites,
                          "languages": languages, "allow": allow, "deny": deny,
                          "limit": limit}  # fmt: skip
        try:
            self.period = Period.parse(since, until)
            patterns = ([allow] if allow else [], [deny] if deny else [])
            self.filter = RecordFilter(self.period, read_sites(sites), *patterns)
        except (ValueError, DiscoveryError, OSError) as exc:
            raise InputFormatError(f"ccnews: {exc}") from None
        self.languages = frozenset(x.strip().lower() for x in (languages or "").split(",")
                                   if x.strip())  # fmt: skip
        if limit is not None and not (limit.isdigit() and int(limit) > 0):
            raise InputFormatError(f"ccnews: limit= must be a positive number, got {limit!r}")
        self.limit = int(limit) if limit else None
        self.handed_on = 0  # pages handed to the pipelines this run
        self.reads: dict[str, FileRead] = {}
        self.queue: deque[SourceFile] = deque()  # files not yet started (one machine)
        self.listings_left = 0
        self.paths: list[str] = []  # of the months' listings
        self._progress: SourceProgress | None = None
        self.seen: set[int] = set()  # ids (as ints) of pages handed on this run

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # One file is one entry of a job: a worker takes only the files it reads at once.
        at_once = max(1, settings.getint("CCNEWS_FILES_AT_ONCE"))
        settings.set("REDIS_BATCH", 1, priority="spider")
        settings.set("REDIS_MAX_HELD", at_once, priority="spider")
        # A range stays in Scrapy's scraper slot until its pages have left the pipelines,
        # and downloads pause while the slot holds more than this: room for each file's
        # range being extracted and its next one, or extraction waits for a download at
        # every range.
        room = (2 * at_once + 1) * settings.getint("CCNEWS_CHUNK_SIZE")
        if room > settings.getint("SCRAPER_SLOT_MAX_ACTIVE_SIZE"):
            settings.set("SCRAPER_SLOT_MAX_ACTIVE_SIZE", room, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CcNewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.base = settings.get("CCNEWS_BASE").rstrip("/") + "/"
        spider.chunk_size = settings.getint("CCNEWS_CHUNK_SIZE")
        spider.at_once = settings.getint("CCNEWS_FILES_AT_ONCE")
        spider.retry_times = settings.getint("CCNEWS_RETRY_TIMES")
        spider.max_chunk = settings.getint("DOWNLOAD_MAXSIZE") or 1 << 30
        if spider.chunk_size < 1024 or spider.at_once < 1 or spider.retry_times < 0:
            raise ValueError("CCNEWS_CHUNK_SIZE must be >= 1024, CCNEWS_FILES_AT_ONCE >= 1 "
                             "and CCNEWS_RETRY_TIMES >= 0")  # fmt: skip
        spider.job = bool(settings.get("JOB"))
        if spider.job and spider.limit is not None:
            raise ValueError("limit= is for a run on one machine, not a distributed job's worker")
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider.page_finished, signal=signal)
        crawler.signals.connect(spider.save_progress, signal=signals.spider_closed)
        return spider

    def run_arguments(self) -> dict[str, Any]:
        return {**self.arguments, **super().run_arguments()}

    @property
    def progress(self) -> SourceProgress:
        """How far each file was read, in this run and before (``ccnews.json``)."""
        if self._progress is None:
            self._progress = self.archive.source_progress(SOURCE)
        return self._progress

    # -- listing the period's files ------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        months = self.period.months()
        self.listings_left = len(months)
        for index, month in enumerate(months):
            # The month before the period only for its last file, which may run into it.
            yield Request(
                self.base + LISTING.format(month=month), callback=self.parse_listing,
                errback=self.listing_failed, dont_filter=True,
                meta={_OPTIONAL: index == 0},
            )  # fmt: skip

    def parse_listing(self, response: Response) -> Iterator[Any]:
        optional = response.meta.get(_OPTIONAL)
        if response.status != 200:
            yield from self.listing_done(response.url, f"HTTP {response.status}", optional,
                                         response.status)  # fmt: skip
            return
        try:
            paths = parse_listing(response.body)
        except ValueError as exc:
            yield from self.listing_done(response.url, str(exc), optional, response.status)
            return
        self.paths.extend(paths)
        yield from self.listing_done(response.url, None, optional)

    def listing_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        optional = request.meta.get(_OPTIONAL)
        yield from self.listing_done(request.url, describe_exception(failure.value), optional)

    def listing_done(
        self, url: str, error: str | None, optional: bool, status: int | None = None
    ) -> Iterator[Any]:
        """One listing read (or not); after the last, the files of the period start."""
        self.listings_left -= 1
        if error is not None and optional:
            logger.info("No listing of the month before the period (%s): %s", url, error)
        elif error is not None:
            yield self.error_line(self.file_page(url), f"cannot read the listing: {error}",
                                  status)  # fmt: skip
        if self.listings_left:
            return
        files = files_in_period(self.paths, self.period)
        self.crawler.stats.set_value("ccnews/files", len(files))
        logger.info("CC-NEWS: %d files in %s .. %s", len(files), self.period.start,
                    self.period.end)  # fmt: skip
        for file in files:
            if self.progress.done(file.path) and not self.refresh:
                self.crawler.stats.inc_value("ccnews/files_already_read")
                continue
            if self.job:  # one entry of the job's frontier (queued once, whoever lists it)
                page = self.file_page(self.base + file.path)
                yield Request(page.url, meta={META_PAGE: page}, dont_filter=True)
            else:
                self.queue.append(file)
        if not self.job:
            for _ in range(self.at_once):
                yield from self.next_file()
            if not self.queue and not self.reads:
                self.crawler.stats.set_value(STAT_INPUT_COMPLETE, True)

    def file_page(self, url: str) -> PageRef:
        return PageRef(url, url_id(url), "")

    # -- reading a file ------------------------------------------------------------------
    def next_file(self) -> Iterator[Request]:
        """The first range of the next file waiting (one machine), if there is one."""
        if self.queue and not self.limit_reached:
            file = self.queue.popleft()
            yield self.page_request(self.file_page(self.base + file.path))
        elif not self.job and not self.reads:
            self.crawler.stats.set_value(STAT_INPUT_COMPLETE, True)

    def page_request(self, page: PageRef, state: UrlState | None = None) -> Request:
        """The first range of a file (called here, and by the Redis scheduler with a job's
        entry): from where an earlier run left it."""
        path = page.url.removeprefix(self.base)
        again = self.refresh and self.progress.done(path)  # refresh=1: from its start
        offset, resumed_to = (0, 0) if again else (self.progress.offset(path),
                                                   self.progress.read(path))  # fmt: skip
        read = FileRead(page, path, offset, self.chunk_size, resumed_to=resumed_to)
        if read.offset:
            self.crawler.stats.inc_value("ccnews/files_resumed")
            logger.info("Resuming %s at byte %d", path, read.offset)
        self.reads[path] = read
        return self.range_request(read)

    def range_request(self, read: FileRead, meta: dict[str, Any] | None = None) -> Request:
        meta = {
            **(meta or {}), META_SOURCE_READ: read, META_WARC_SKIP: True,
            "max_retry_times": self.retry_times,
        }  # fmt: skip
        self.crawler.stats.inc_value("ccnews/ranges")
        return Request(
            read.page.url, callback=self.parse_range, errback=self.range_failed,
            headers={"Range": range_header(read.offset, read.chunk), "Accept-Encoding": "identity"},
            meta=meta, dont_filter=True, priority=1,  # a file under way before a new one
        )  # fmt: skip

    def follow(self, read: FileRead, response: Response) -> Request:
        """The next range of *read* (a job's entry carried along: it stays this worker's)."""
        carried = {}
        if (entry := response.meta.get(META_FRONTIER_ENTRY)) is not None:
            carried[META_FRONTIER_ENTRY] = entry
        return self.range_request(read, carried)

    @property
    def limit_reached(self) -> bool:
        return self.limit is not None and self.handed_on >= self.limit

    async def parse_range(self, response: Response) -> AsyncIterator[Any]:
        read: FileRead = response.meta[META_SOURCE_READ]
        stats = self.crawler.stats
        content_range = (response.headers.get(b"Content-Range") or b"").decode("latin-1")
        try:
            data, final = ranged_body(response.status, content_range or None, response.body,
                                      read.offset, read.chunk)  # fmt: skip
            captures, next_offset = scan_chunk(data, read.offset, final=final)
        except (RangeError, StreamError) as exc:
            async for out in self.file_failed(read, str(exc), response.status):
                yield out
            return
        stats.inc_value("ccnews/bytes", len(data))
        if not captures and not final and read.chunk >= self.max_chunk:
            error = f"a capture larger than DOWNLOAD_MAXSIZE ({self.max_chunk} bytes)"
            async for out in self.file_failed(read, error, response.status):
                yield out
            return
        if not captures and not final:  # one capture larger than a range: ask for more
            read.chunk = min(read.chunk * 2, self.max_chunk)
            stats.inc_value("ccnews/ranges_grown")
            yield self.follow(read, response)
            return
        pages, stopped = [], False
        for capture in captures:
            if self.limit_reached:
                next_offset, stopped = capture.offset, True
                break
            stats.inc_value("ccnews/records", len(capture.records))
            page = self.page_of(read, capture, data)
            if page is not None:
                pages.append(page)
        read.offset = next_offset
        self.save_progress()
        if not final and not stopped:
            yield self.follow(read, response)
        for page in pages:
            yield page
        if final or stopped:
            async for out in self.file_finished(read, done=final and not stopped):
                yield out

    def page_of(self, read: FileRead, capture: Capture, data: bytes) -> FetchedPage | None:
        """The page of a capture to keep (judged on its headers), or None (counted why)."""
        stats = self.crawler.stats
        response = capture.response
        if response is None:
            stats.inc_value("ccnews/skipped/not_response")
            return None
        why = self.filter.skip(response.record_type, response.target_uri, response.date,
                               response.status, response.content_type)  # fmt: skip
        if why is not None:
            stats.inc_value(f"ccnews/skipped/{why}")
            return None
        target = response.target_uri or ""
        id_ = url_id(target)
        if int(id_, 16) in self.seen:
            stats.inc_value("ccnews/skipped/repeated_url")  # a later capture of a page
            return None
        archive = self.archive
        state = archive.previous(id_)
        if capture.offset < read.resumed_to and state is not None and state.outcome:
            stats.inc_value("ccnews/skipped/already_recorded")  # before a kill: its line stands
            return None
        if archive.is_done(state, refresh=self.refresh):
            stats.inc_value("ccnews/skipped/already_archived")
            return None
        self.seen.add(int(id_, 16))
        seq = state.seq if state is not None and state.seq else archive.state.seq_for(id_, target)
        start = read.offset
        members = tuple(data[r.offset - start : r.offset - start + r.length]
                        for r in capture.records)  # fmt: skip
        index = capture.records.index(response)
        fields = {
            "fetched_at": warc_date_seconds(response.date), "source": SOURCE,
            "origin": Origin(read.path, response.offset),
            "records": SourceRecords(members, index, read.page.url),
        }  # fmt: skip
        page_ref = PageRef(target, id_, seq)
        try:
            page = record_page(read_member(members[index]), page_ref, None, **fields)
        except (ValueError, OSError, EOFError, zlib.error) as exc:  # a body warcio cannot decode
            stats.inc_value("ccnews/unreadable_records")
            page = FetchedPage(page_ref, final_url=target, status=response.status,
                               outcome=ERROR, error=f"unreadable record: {exc!r}",
                               **fields)  # fmt: skip
        read.inflight[id_] = capture.offset
        self.handed_on += 1
        stats.inc_value("ccnews/kept")
        return page

    # -- the end of a file ---------------------------------------------------------------
    async def file_finished(self, read: FileRead, *, done: bool) -> AsyncIterator[Any]:
        """Wait for the file's pages to be recorded, then mark it done (or stopped at the
        limit), acknowledge its job entry, and start the next file."""
        if read.inflight:
            read.drained = asyncio.get_running_loop().create_future()
            await read.drained
        self.reads.pop(read.path, None)
        self.progress.advance(read.path, read.durable(), read.offset, done=done)
        self.save_progress()
        if done:
            self.crawler.stats.inc_value("ccnews/files_read")
            yield SourceDone(read.page)  # acknowledges a job's entry
        if self.limit_reached:
            self.crawler.stats.set_value(STAT_INPUT_COMPLETE, True)
        if not self.job:
            for request in self.next_file():
                yield request

    async def file_failed(
        self, read: FileRead, error: str, status: int | None = None
    ) -> AsyncIterator[Any]:
        """A file that cannot be read: an error line naming it (a later run reads it
        again from where it stopped)."""
        self.crawler.stats.inc_value("ccnews/files_failed")
        logger.error("Cannot read %s at byte %d: %s", read.path, read.offset, error)
        yield self.error_line(read.page, f"cannot read {read.path} at byte {read.offset}: "
                              f"{error}", status)  # fmt: skip
        async for out in self.file_finished(read, done=False):
            yield out

    async def range_failed(self, failure: Failure) -> AsyncIterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        read: FileRead = request.meta[META_SOURCE_READ]
        error = describe_exception(failure.value)
        async for out in self.file_failed(read, f"{error} (after {self.retry_times} retries)"):
            yield out

    def error_line(self, page: PageRef, error: str, status: int | None = None) -> FetchedPage:
        seq = self.archive.state.seq_for(page.id, page.url)
        if not self.job:  # (in a job, the entry counts where it is acknowledged)
            self.crawler.stats.inc_value(STAT_INPUT_ENTRIES)
        return FetchedPage(PageRef(page.url, page.id, seq), final_url=page.url, status=status,
                           outcome=ERROR, error=error, source=SOURCE)  # fmt: skip

    # -- progress ------------------------------------------------------------------------
    def page_finished(self, item: Any) -> None:
        """A page left the pipelines (recorded, or dropped): no longer in flight."""
        if not isinstance(item, FetchedPage) or item.origin is None:
            return
        read = self.reads.get(item.origin.file)
        if read is None or read.inflight.pop(item.id, None) is None:
            return
        if not read.inflight and read.drained is not None and not read.drained.done():
            read.drained.set_result(None)

    def save_progress(self) -> None:
        """Each file under way: pages before its durable point are recorded, pages up to
        its read point were handed on."""
        for read in self.reads.values():
            self.progress.advance(read.path, read.durable(), read.offset)
        try:
            self.progress.save()
        except StorageError as exc:  # a later save may succeed; a lost one costs a re-read
            self.crawler.stats.inc_value("ccnews/progress_write_errors")
            logger.error("Cannot record how far the CC-NEWS files were read: %s", exc)
