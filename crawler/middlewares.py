"""Downloader middlewares: address guard, robots.txt, back-off retries, WARC capture.

Thin adapters: the work is in crawler.netguard, crawler.backoff and crawler.warc. A
refused request (address guard, robots.txt) carries its reason in
``request.meta[META_BLOCKED]``, which the spider turns into outcome ``blocked``.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING, Any

import scrapy
import trafilatura
from scrapy import signals
from scrapy.downloadermiddlewares import cookies as scrapy_cookies
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from tldextract import TLDExtract
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.task import deferLater

from crawler import __version__ as PROJECT_VERSION
from crawler.backoff import backoff_delay, parse_retry_after
from crawler.contracts import (
    META_BLOCKED,
    META_EARLIER,
    META_FETCHED_AT,
    META_WARC,
    STAT_WARC_FILES,
    STAT_WARC_RECORDS,
    STAT_WARC_WRITE_ERRORS,
)
from crawler.extensions import archive_of
from crawler.netguard import BlockedAddressError, check_address, parse_ip
from crawler.outcomes import ROBOTS_TXT
from crawler.warc import (
    HttpExchange,
    WarcOptionError,
    WarcWriteError,
    WarcWriter,
    init_process_writer,
    process_close,
    process_write,
)
from crawler.workers import start_worker, worker_context

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http.headers import Headers

logger = logging.getLogger(__name__)

# Scrapy's CookiesMiddleware splits cookie domains with a TLDExtract that downloads the
# public-suffix list over HTTP on first use: network I/O outside Scrapy (no robots, no
# WARC, no throttling) and a stall on machines without internet. Use the snapshot
# bundled with tldextract instead.
scrapy_cookies._split_domain = TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)


def iso_utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _sleep(seconds: float) -> None:
    if seconds > 0:
        await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


class AddressGuardMiddleware:
    """Refuses requests to non-public addresses unless ``ALLOW_PRIVATE_ADDRESSES``.

    Reads the request URL (every hop: redirects come back through here) and the peer
    address of the response. Writes ``request.meta[META_BLOCKED]`` and the stat
    ``netguard/blocked``, then raises IgnoreRequest (the spider's outcome ``blocked``).
    The host is resolved with the crawler's caching resolver, the one the connection
    then uses, so the checked address is the address connected to.
    """

    def __init__(self, crawler: Crawler) -> None:
        if crawler.settings.getbool("ALLOW_PRIVATE_ADDRESSES"):
            raise NotConfigured
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler)

    def _block(self, request: Request, reason: str) -> IgnoreRequest:
        request.meta[META_BLOCKED] = reason
        self.stats.inc_value("netguard/blocked")
        logger.warning("Blocked %s: %s", request.url, reason)
        return IgnoreRequest(reason)

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            raise self._block(request, f"unsupported scheme {parts.scheme!r}")
        host = parts.hostname or ""
        address = parse_ip(host)
        if address is None:
            try:
                address = await maybe_deferred_to_future(reactor.resolve(host))
            except DNSLookupError:
                return  # the download fails with the DNS error: outcome `error`
        try:
            check_address(host, address)
        except BlockedAddressError as exc:
            raise self._block(request, str(exc)) from None

    def process_response(self, request: Request, response: Response) -> Response:
        # Second line of defence: the peer actually connected to.
        if response.ip_address is not None:
            try:
                check_address(urlparse_cached(request).hostname or "", response.ip_address)
            except BlockedAddressError as exc:
                raise self._block(request, str(exc)) from None
        return response


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, with every waiter getting the parsed robots.txt.

    Scrapy 2.19 lets all requests that arrive while robots.txt is downloading await the
    same Deferred; only the first gets the parser, the others get None and go through
    unchecked (disallowed pages fetched). Once that Deferred has fired, the parser
    (or None when robots.txt could not be fetched) is in ``_parsers``: read it there.
    A forbidden request gets ``request.meta[META_BLOCKED] = "robots.txt"``.
    """

    async def robot_parser(self, request: Request) -> Any:
        parser = await super().robot_parser(request)
        cached = self._parsers.get(urlparse_cached(request).netloc)
        return parser if isinstance(cached, Deferred) else cached

    def process_request_2(self, rp: Any, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            request.meta[META_BLOCKED] = ROBOTS_TXT
            raise


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, waiting before each retry.

    Waits ``RETRY_BACKOFF_BASE * 2**(n-1)`` seconds (at most ``RETRY_BACKOFF_MAX``)
    before retry n; on 429/503 with ``Retry-After`` waits what the server asked for, and
    gives up at once (stat ``retry/retry_after_too_long``) when that exceeds
    ``RETRY_AFTER_MAX``. The wait holds only this request, not the crawl.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX")
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.retry_after_max < 0:
            raise ValueError("RETRY_BACKOFF_BASE, RETRY_BACKOFF_MAX, RETRY_AFTER_MAX must be >= 0")

    def _wait_for(self, request: Request) -> float:
        attempt = request.meta.get("retry_times", 0)  # already incremented on the copy
        return backoff_delay(attempt, self.backoff_base, self.backoff_max)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        asked = None
        if response.status in (429, 503) and not request.meta.get("dont_retry"):
            asked = parse_retry_after(response.headers.get(b"Retry-After"))
            if asked is not None and asked > self.retry_after_max:
                self.crawler.stats.inc_value("retry/retry_after_too_long")
                logger.warning(
                    "Not retrying %s: Retry-After %.0fs exceeds RETRY_AFTER_MAX", request, asked
                )
                return response
        result = super().process_response(request, response)
        if isinstance(result, Request):
            delay = max(asked or 0.0, self._wait_for(result))
            if asked is not None:
                self.crawler.stats.inc_value("retry/retry_after_honoured")
            await _sleep(delay)
        return result

    async def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await _sleep(self._wait_for(result))
        return result


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
    response (and ``META_EARLIER``: with the same payload as that earlier capture, a
    ``revisit`` record is written instead of a full response); writes WARC records
    under the archive's ``warc/`` through :class:`crawler.warc.WarcWriter`, in a
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
        if earlier is not None and (earlier.uri != request.url or response.status != 200):
            earlier = None  # a redirect hop or an error page: never a revisit
        try:
            if self.pool is not None:
                future = self.pool.submit(process_write, exchange, earlier)
                pointer = await asyncio.wrap_future(future)
            else:
                assert self.writer is not None
                pointer = self.writer.write_exchange(exchange, earlier)
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


def warcinfo(settings: Any) -> dict[str, str]:
    """The warcinfo record's fields: software and versions, operator, robots policy."""
    info = {
        "software": (
            f"newsarchiver/{PROJECT_VERSION} scrapy/{scrapy.__version__} "
            f"warcio/{dist_version('warcio')} trafilatura/{trafilatura.__version__}"
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
