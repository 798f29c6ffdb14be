"""Downloader middlewares: address guard, robots.txt, back-off retries, compressed bodies.

Thin adapters: the work is in crawler.netguard and crawler.backoff. A refused request
(address guard, robots.txt) carries its reason in ``request.meta[META_BLOCKED]``, which
the spider turns into outcome ``blocked``. WARC capture is in crawler.warc_capture, the
Internet Archive flow in crawler.wayback_flow.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares import cookies as scrapy_cookies
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from tldextract import TLDExtract
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.task import deferLater

from crawler.access import BLOCKING, FULL, PageFacts, rules_for
from crawler.backoff import backoff_delay, parse_retry_after
from crawler.contracts import META_ACCESS, META_ACCESS_RETRIES, META_BLOCKED, META_PAGE
from crawler.netguard import BlockedAddressError, check_address, parse_ip
from crawler.outcomes import ROBOTS_TXT, describe_exception
from crawler.quality import page_words

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# Scrapy's CookiesMiddleware splits cookie domains with a TLDExtract that downloads the
# public-suffix list over HTTP on first use: network I/O outside Scrapy (no robots, no
# WARC, no throttling) and a stall on machines without internet. Use the snapshot
# bundled with tldextract instead.
scrapy_cookies._split_domain = TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)


async def reactor_sleep(seconds: float) -> None:
    """Wait *seconds* without blocking the reactor."""
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
    """Scrapy's RobotsTxtMiddleware, with every waiter getting the parsed robots.txt, and
    a robots.txt that cannot be fetched said in one line.

    Scrapy 2.19 lets all requests that arrive while robots.txt is downloading await the
    same Deferred; only the first gets the parser, the others get None and go through
    unchecked (disallowed pages fetched). Once that Deferred has fired, the parser
    (or None when robots.txt could not be fetched) is in ``_parsers``: read it there.
    Scrapy logs an unreachable robots.txt as an ERROR with a traceback; here it is one
    WARNING per host (stat ``robotstxt/unreachable``): the host's pages then fail, or
    not, on their own. A forbidden request gets ``request.meta[META_BLOCKED]``.
    In a distributed job, a robots.txt another worker fetched is read from Redis
    (crawler.hostrate.SharedRobots, stat ``robotstxt/shared``) instead of fetched again.
    """

    _shared: Any = False  # not looked up yet

    def shared_robots(self) -> Any:
        """The job's shared robots.txt answers (None outside distributed jobs)."""
        if self._shared is False:
            from crawler.extensions import ArchiveExtension  # imports this module
            from crawler.hostrate import SharedRobots

            extension = self.crawler.get_extension(ArchiveExtension)
            frontier = extension.frontier if extension is not None else None
            self._shared = SharedRobots(frontier.redis, frontier.key) if frontier else None
        return self._shared

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            await self._fetch_robots_txt(request, netloc)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            await maybe_deferred_to_future(parser)  # fires once robots.txt is in,
            parser = self._parsers[netloc]  # and every waiter reads the result here
        return parser

    async def _fetch_robots_txt(self, request: Request, netloc: str) -> None:
        scheme = urlparse_cached(request).scheme
        robots = Request(
            f"{scheme}://{netloc}/robots.txt", priority=self.DOWNLOAD_PRIORITY,
            meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK,
        )  # fmt: skip
        shared = self.shared_robots()
        answer = self._shared_answer(shared, netloc)
        if answer is not None:  # another worker of the job asked the site already
            self._stats.inc_value("robotstxt/shared")
            status, body = answer
            await self._parse_robots(Response(robots.url, status, body=body), netloc, request)
            return
        try:
            response = await self.crawler.engine.download_async(robots)
            await self._parse_robots(response, netloc, request)
        except Exception as exc:
            if not isinstance(exc, IgnoreRequest):
                self._stats.inc_value("robotstxt/unreachable")
                logger.warning(
                    "robots.txt of %s could not be fetched (%s): its pages are tried as if "
                    "it allowed them", netloc, describe_exception(exc),
                )  # fmt: skip
            self._robots_error(exc, netloc)
        else:
            if shared is not None:
                try:
                    shared.put(netloc, response.status, response.body)
                except Exception as exc:  # redis-py's errors: this worker has its answer
                    logger.warning("robots.txt of %s not shared: %s", netloc, exc)
        self._stats.inc_value("robotstxt/request_count")

    def _shared_answer(self, shared: Any, netloc: str) -> tuple[int, bytes] | None:
        """The job's shared answer for *netloc*; None (fetch it) when there is none or
        Redis cannot give it (a lost answer must not turn robots.txt off)."""
        if shared is None:
            return None
        try:
            return shared.get(netloc)
        except Exception as exc:  # redis-py's errors, a damaged value
            logger.warning("shared robots.txt of %s unreadable (%s): fetching it", netloc, exc)
            return None

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
            await reactor_sleep(delay)
        return result

    async def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await reactor_sleep(self._wait_for(result))
        return result


class CompressedBodyMiddleware:
    """Hands HttpCompressionMiddleware a compressed body as a plain ``Response``.

    Scrapy 2.19 types a gzip-encoded ``/page.html`` as an ``HtmlResponse`` from its URL;
    decompressing it, HttpCompressionMiddleware copies that response's attributes,
    ``encoding`` among them, which sniffs the charset of the *compressed* bytes: no
    declaration is found in gzip data, so charset-normalizer runs over it (a quarter of
    the crawler process's CPU on real pages) for an answer nobody uses. A plain
    ``Response`` has no encoding to sniff; the decompressed one gets its type as usual.
    Sits at 595, just before HttpCompressionMiddleware (590) on the way back. Reads the
    response's Content-Encoding; changes nothing else.
    """

    def process_response(self, request: Request, response: Response) -> Response:
        if type(response) is Response or b"Content-Encoding" not in response.headers:
            return response
        return Response(**{name: getattr(response, name) for name in Response.attributes})


class AccessRetryMiddleware:
    """Challenges and rate-limit pages (crawler.access rules labelled ``challenge`` or
    ``rate_limited``, on responses of at most ``ACCESS_SNIFF_MAX_BYTES``) are retried
    later, ``ACCESS_RETRY_TIMES`` times, after ``ACCESS_RETRY_DELAY`` s doubling each
    time; a page still answered that way passes on with its label in
    ``request.meta[META_ACCESS]`` (outcome ``error`` with the evidence). A host that has
    answered ``ACCESS_HOST_PAUSE_AFTER`` such pages is paused for the rest of the run:
    its pages are refused (outcome ``blocked``, the reason says why) and the run record
    lists it (stat ``access/paused_hosts``). Stats ``access/seen/<label>``,
    ``access/retries``. Sits at 540, under BackoffRetryMiddleware: a 429 or 503 gets that
    one's quick Retry-After retries first.
    """

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        extra = settings.get("ACCESS_EXTRA_RULES") or ""
        self.rules = rules_for(extra).only(BLOCKING)
        self.times = settings.getint("ACCESS_RETRY_TIMES")
        self.delay = settings.getfloat("ACCESS_RETRY_DELAY")
        self.pause_after = settings.getint("ACCESS_HOST_PAUSE_AFTER")
        self.max_bytes = settings.getint("ACCESS_SNIFF_MAX_BYTES")
        # Statuses the back-off retries already fetched again (429, 503, ...): labelled
        # here, not retried a second way.
        self.retried_statuses = (
            frozenset(int(c) for c in settings.getlist("RETRY_HTTP_CODES"))
            if settings.getbool("RETRY_ENABLED") else frozenset()
        )  # fmt: skip
        self.per_host: dict[str, int] = {}
        self.paused: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> AccessRetryMiddleware:
        if not crawler.settings.getbool("ACCESS_ENABLED"):
            raise NotConfigured
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        if host in self.paused and META_PAGE in request.meta:
            reason = f"host paused: {self.paused[host]}"
            request.meta[META_BLOCKED] = reason
            raise IgnoreRequest(reason)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if META_PAGE not in request.meta or len(response.body) > self.max_bytes:
            return response
        ctype = response.headers.get(b"Content-Type", b"text/html").lower()
        if b"html" not in ctype and b"text" not in ctype:
            return response
        body = response.body
        facts = PageFacts(body.decode("utf-8", "replace"), status=response.status,
                          body=body, count_words=lambda: page_words(body))  # fmt: skip
        access = self.rules.classify(facts)
        if access.label == FULL:
            return response
        host = urlparse_cached(request).hostname or ""
        self.stats.inc_value(f"access/seen/{access.label}")
        seen = self.per_host[host] = self.per_host.get(host, 0) + 1
        if seen >= self.pause_after and host not in self.paused:
            self.paused[host] = f"{seen} challenge or rate-limit pages, the last: {access.evidence}"
            self.stats.set_value("access/paused_hosts", sorted(self.paused))
            logger.warning("Pausing %s for the rest of the run: %s", host, self.paused[host])
        retries = request.meta.get(META_ACCESS_RETRIES, 0)
        retried = response.status in self.retried_statuses
        if retries < self.times and host not in self.paused and not retried:
            self.stats.inc_value("access/retries")
            await reactor_sleep(backoff_delay(retries + 1, self.delay, 3600.0))
            again = request.replace(dont_filter=True)
            again.meta[META_ACCESS_RETRIES] = retries + 1
            return again
        request.meta[META_ACCESS] = access
        return response
