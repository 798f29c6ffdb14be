"""WARC capture: every HTTP exchange the downloader completes, written with warcio."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached

from crawler import __version__ as PROJECT_VERSION
from crawler.core.items import WarcPointer
from crawler.core.keys import (
    META_EARLIER,
    META_FETCHED_AT,
    META_WARC,
    META_WARC_SKIP,
    STAT_CPU_WARC,
    STAT_WARC_FILES,
    STAT_WARC_RECORDS,
    STAT_WARC_WRITE_ERRORS,
)
from crawler.core.timefmt import iso_utc
from crawler.extensions.archive import archive_of
from crawler.extract.workers import start_worker, timed_call, worker_context
from crawler.warc.process import (
    init_process_writer,
    process_close,
    process_copy,
    process_write,
    process_write_resource,
)
from crawler.warc.writer import (
    HttpExchange,
    WarcOptionError,
    WarcWriteError,
    WarcWriter,
    target_uri,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http.headers import Headers

    from crawler.core.items import WarcPointer


logger = logging.getLogger(__name__)


def _flatten(headers: Headers) -> list[tuple[bytes, bytes]]:
    """Every (name, value) pair, repeated headers included."""
    return [(bytes(k), bytes(v)) for k, values in headers.items() for v in values]


# The setting behind each WarcWriter option, for error messages.
_WARC_SETTING = {
    "max_size": "WARC_MAX_SIZE", "warc_version": "WARC_VERSION", "gzip_level": "WARC_GZIP_LEVEL"
}  # fmt: skip


class WarcCaptureMiddleware:
    """Archives every HTTP exchange the downloader completes.

    Sits at 960, below the downloader: sees each redirect hop and retry, robots.txt
    fetches, and bodies still Content-Encoding compressed. Reads the request and the
    response (and ``META_EARLIER``: with the same payload as that earlier capture, or a
    304 answering a conditional GET, a ``revisit`` record is written instead of a full
    response); writes WARC records
    under the archive's ``warc/`` through :class:`crawler.warc.writer.WarcWriter`, in a
    process of its own unless ``WARC_WRITER_PROCESS = False``, and ``META_WARC`` (a
    WarcPointer to the response record) and ``META_FETCHED_AT`` into meta; stats
    ``warc/*``. Failed exchanges (timeouts, refused connections) have no response and
    leave no record. A write error closes the spider (``warc_write_failed``): a crawl
    that cannot archive must not go on. Files are closed at ``spider_closed``.
    """

    def __init__(self, crawler: Crawler, writer_options: dict[str, Any], process: bool) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.writer: WarcWriter | None = None
        self.pool: ProcessPoolExecutor | None = None
        self.cpu_seconds = 0.0  # the WARC writer's, in its process or inline
        if process:
            self.pool = ProcessPoolExecutor(
                1,
                mp_context=worker_context(),
                initializer=start_worker,
                initargs=(init_process_writer, writer_options),
            )
        else:
            self.writer = WarcWriter(**writer_options)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        settings = crawler.settings
        if not settings.getbool("WARC_ENABLED"):
            raise NotConfigured
        options = {
            "directory": archive_of(crawler).warc_dir,
            "prefix": settings.get("WARC_PREFIX"),
            "max_size": settings.getint("WARC_MAX_SIZE"),
            "info": warcinfo(settings),
            "warc_version": str(settings.get("WARC_VERSION")),
            "gzip_level": settings.getint("WARC_GZIP_LEVEL"),
        }
        try:
            WarcWriter(**options)  # validates the options: invalid values fail at start
        except WarcOptionError as exc:
            raise ValueError(f"{_WARC_SETTING[exc.option]} {exc.message}") from None
        return cls(crawler, options, settings.getbool("WARC_WRITER_PROCESS"))

    async def process_response(self, request: Request, response: Response) -> Response:
        if "cached" in response.flags or urlparse_cached(request).scheme not in ("http", "https"):
            return response
        if request.meta.get(META_WARC_SKIP):  # a source archive's bytes: records copied instead
            self.stats.inc_value("warc/skipped_source_ranges")
            return response
        now = datetime.now(UTC)
        exchange = HttpExchange(
            url=request.url,
            method=request.method,
            request_headers=_flatten(request.headers),
            response_headers=_flatten(response.headers),
            status=response.status,
            body=response.body,
            protocol=response.protocol or "HTTP/1.1",
            request_body=request.body,
            ip_address=str(response.ip_address) if response.ip_address else None,
            date=now,
        )
        earlier = request.meta.get(META_EARLIER)
        if earlier is not None and (
            target_uri(earlier.uri) != exchange.target_uri or response.status not in (200, 304)
        ):
            earlier = None  # a redirect hop or an error page: never a revisit
        try:
            if self.pool is not None:
                future = self.pool.submit(timed_call, process_write, exchange, earlier)
                pointer, cpu = await asyncio.wrap_future(future)
            else:
                assert self.writer is not None
                pointer, cpu = timed_call(self.writer.write_exchange, exchange, earlier)
            self.cpu_seconds += cpu  # building, compressing, hashing, writing the records
        except (WarcWriteError, BrokenProcessPool) as exc:
            self.stats.inc_value(STAT_WARC_WRITE_ERRORS)
            logger.error("WARC write failed, closing the crawl: %s", exc)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="warc_write_failed"))
            raise IgnoreRequest(f"WARC write failed: {exc}") from exc
        self.stats.inc_value("warc/exchanges")
        if pointer.revisit:
            self.stats.inc_value("warc/revisits")
        request.meta[META_WARC] = pointer
        request.meta[META_FETCHED_AT] = iso_utc(now)
        return response

    async def copy_capture(
        self, members: list[bytes], response: int, provenance: dict[str, str]
    ) -> WarcPointer:
        """Copy another archive's records of one capture into this archive's WARC (the
        writer's :meth:`~crawler.warc.writer.WarcWriter.copy_capture`, in its process);
        a write error closes the spider, as for an exchange, and is raised."""
        try:
            if self.pool is not None:
                future = self.pool.submit(timed_call, process_copy, members, response, provenance)
                pointer, cpu = await asyncio.wrap_future(future)
            else:
                assert self.writer is not None
                pointer, cpu = timed_call(self.writer.copy_capture, members, response, provenance)
            self.cpu_seconds += cpu
        except (WarcWriteError, BrokenProcessPool) as exc:
            self.stats.inc_value(STAT_WARC_WRITE_ERRORS)
            logger.error("WARC write failed, closing the crawl: %s", exc)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="warc_write_failed"))
            raise WarcWriteError(f"WARC write failed: {exc}") from exc
        self.stats.inc_value("warc/copied_captures")
        return pointer

    async def write_resource(
        self, uri: str, content_type: str, payload: bytes, concurrent_to: str | None = None
    ) -> WarcPointer:
        """A ``resource`` record (CAPTURE=browser: a page's screenshot, its DOM) in the
        crawl's WARC files, after the records already written (WarcWriteError on failure)."""
        now = datetime.now(UTC)
        args = (uri, content_type, payload, now, concurrent_to)
        try:
            if self.pool is not None:
                future = self.pool.submit(timed_call, process_write_resource, *args)
                pointer, cpu = await asyncio.wrap_future(future)
            else:
                assert self.writer is not None
                pointer, cpu = timed_call(self.writer.write_resource, *args)
        except BrokenProcessPool as exc:
            raise WarcWriteError(f"WARC writer process failed: {exc}") from exc
        self.cpu_seconds += cpu
        self.stats.inc_value("warc/resources")
        return pointer

    def spider_closed(self) -> None:
        files: list[str] = []
        records = 0
        try:
            if self.pool is not None:
                files, records = self.pool.submit(process_close).result()
                self.pool.shutdown(wait=True)
            else:
                assert self.writer is not None
                self.writer.close()
                files, records = list(self.writer.files_written), self.writer.records_written
        except (WarcWriteError, BrokenProcessPool) as exc:
            self.stats.inc_value(STAT_WARC_WRITE_ERRORS)
            logger.error("WARC writer failed at close: %s", exc)
        self.stats.set_value(STAT_WARC_FILES, files)
        self.stats.set_value(STAT_WARC_RECORDS, records)
        self.stats.set_value(STAT_CPU_WARC, round(self.cpu_seconds, 3))


def warcinfo(settings: Any) -> dict[str, str]:
    """The warcinfo record's fields: software and versions, operator, robots policy."""
    info = {
        "software": (
            f"newsarchiver/{PROJECT_VERSION} scrapy/{scrapy.__version__} "
            f"warcio/{dist_version('warcio')} trafilatura/{dist_version('trafilatura')}"
        ),
        "http-header-user-agent": settings.get("USER_AGENT"),
        "operator": settings.get("CRAWLER_CONTACT") or None,
        "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        "isPartOf": settings.get("BOT_NAME"),
        "description": (
            "Responses stored as received: Content-Encoding kept, chunked transfer "
            "coding removed (Content-Length set to the stored length)."
        ),
        "crawl-settings": (
            f"autothrottle={settings.getbool('AUTOTHROTTLE_ENABLED')} "
            f"concurrent_per_domain={settings.getint('CONCURRENT_REQUESTS_PER_DOMAIN')} "
            f"download_maxsize={settings.getint('DOWNLOAD_MAXSIZE')} "
            f"download_timeout={settings.getfloat('DOWNLOAD_TIMEOUT')} "
            f"retry_times={settings.getint('RETRY_TIMES')}"
        ),
    }
    return {k: v for k, v in info.items() if v}
