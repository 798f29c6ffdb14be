"""The Internet Archive flow: a page that failed live comes back as a capture or a final failure.

:class:`WaybackMiddleware` is a downloader middleware at 40: the first on a request's
way out and the last on a response's way back, so it sees a page's final live answer,
after redirects and retries. (A failure raised on the way back by a middleware above it
-- a redirect limit, a body too large once decompressed -- never passes here: the
spider's errback hands it back with ``META_WAYBACK_HANDOFF``.) It acts only on page
requests that carry ``META_WAYBACK`` (a WaybackPlan, set by the urls and seeds spiders,
whose inputs are articles):

- a live failure worth a lookup (network error, 404, 410, 5xx after retries, or a soft
  404: a 200 page titled as an error page with next to no text, see
  :mod:`crawler.extract.soft404`) becomes a CDX lookup for the ``200`` capture
  closest to the page's own date (else ``as_of``, else now), then a fetch of that raw
  capture (``/web/<timestamp>id_/<url>``); the spider's callback gets the capture's
  response, with ``META_MEMENTO`` in its meta;
- with ``as_of`` the archive is asked first, and the live web only with
  ``live_fallback`` when the archive has nothing;
- when nothing can be had, the request fails with IgnoreRequest and
  ``META_WAYBACK_MISS`` (the live failure with its evidence, and why the archive had
  nothing) for the spider's errback.

Lookups and captures go through Scrapy like any request (robots.txt, the WARC), in a
download slot of their own (``WAYBACK_CONCURRENCY``, ``WAYBACK_DELAY``, which
AutoThrottle leaves alone), with ``WAYBACK_TIMEOUT`` and one retry. Once the archive
cannot be reached at all (no DNS, refused), the rest of the run stops asking it.
Stats: ``wayback/*``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    IgnoreRequest,
    NotConfigured,
)
from scrapy.http import Request, Response
from twisted.internet.error import DNSLookupError

from crawler.core.items import CDX, LIVE, MEMENTO, LiveAttempt, Memento, WaybackMiss, WaybackStep
from crawler.core.keys import (
    META_BLOCKED,
    META_FETCHED_AT,
    META_MEMENTO,
    META_PAGE,
    META_WARC,
    META_WAYBACK,
    META_WAYBACK_HANDOFF,
    META_WAYBACK_MISS,
    META_WAYBACK_STEP,
    STAT_PAGES_FAILED_PREFIX,
)
from crawler.core.outcomes import describe_exception, http_error
from crawler.extract.soft404 import soft_404_evidence
from crawler.fetch.wayback import (
    WaybackError,
    cdx_query,
    closest_capture,
    memento_datetime,
    memento_url,
    now_timestamp,
    parse_cdx,
    worth_a_lookup,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)
SLOT = "wayback"  # the archive's download slot

# The archive cannot be reached at all: asking it again would only cost timeouts.
UNREACHABLE = (CannotResolveHostError, DNSLookupError, DownloadConnectionRefusedError)

# What a page request keeps through the flow: the page and its plan. Not its earlier
# capture: a capture from the archive is never a revisit of a live page.
CARRIED = (META_PAGE, META_WAYBACK)


class WaybackMiddleware:
    def __init__(self, crawler: Crawler, endpoint: str) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.endpoint = endpoint
        self.timeout = settings.getfloat("WAYBACK_TIMEOUT")
        self.cdx_limit = settings.getint("WAYBACK_CDX_LIMIT")
        self.slot = {
            "concurrency": settings.getint("WAYBACK_CONCURRENCY"),
            "delay": settings.getfloat("WAYBACK_DELAY"),
        }
        self.size_limit = settings.getint("DOWNLOAD_MAXSIZE")
        self.unreachable: str | None = None  # why the archive cannot be reached, once known
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WaybackMiddleware:
        if not crawler.settings.getbool("WAYBACK_ENABLED"):
            raise NotConfigured
        endpoint = crawler.settings.get("WAYBACK_ENDPOINT") or ""
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"WAYBACK_ENDPOINT must be an http(s) URL, got {endpoint!r}")
        return cls(crawler, endpoint)

    def spider_opened(self) -> None:
        # The archive rate-limits hard: its own slot, low concurrency, a fixed delay.
        self.crawler.engine.downloader.per_slot_settings[SLOT] = dict(self.slot)

    # -- the flow ----------------------------------------------------------------------------
    def process_request(self, request: Request) -> Request | None:
        meta = request.meta
        plan = meta.get(META_WAYBACK)
        if plan is None:
            return None
        if (handed_back := meta.get(META_WAYBACK_HANDOFF)) is not None:
            return self._failed(request, handed_back)
        if plan.as_of is None or META_WAYBACK_STEP in meta:
            return None
        if self.unreachable:  # archive first, but the archive cannot be asked
            return self._no_capture(
                request, WaybackStep(CDX), f"archive unreachable: {self.unreachable}"
            )
        return self._lookup(request, live=None)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if META_WAYBACK not in request.meta:
            return response
        step: WaybackStep | None = request.meta.get(META_WAYBACK_STEP)
        if step is not None and step.kind == CDX:
            return self._on_cdx(request, response, step)
        if step is not None and step.kind == MEMENTO:
            return self._on_memento(request, response, step)
        error = http_error(response.status)
        soft = None
        if error is None and response.status == 200:
            soft = soft_404_evidence(response.body)
        if error is None and not soft:
            return response
        if soft and (step is not None or self.unreachable):
            # A soft 404 is only a reason to ask the archive; when it cannot help, the
            # page is what the live web has: the spider extracts it like any other.
            return response
        if step is None and not worth_a_lookup(response.status):
            return response  # a 403, a 401: the spider records the live error
        meta = request.meta
        live = LiveAttempt(
            error or f"soft 404: {soft}", response.status, response.url,
            meta.get(META_FETCHED_AT), meta.get(META_WARC),
        )  # fmt: skip
        return self._after_live_failure(request, live, step)

    def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if META_WAYBACK not in request.meta or META_WAYBACK_MISS in request.meta:
            return None  # not a page of the flow, or the flow's own final failure
        step: WaybackStep | None = request.meta.get(META_WAYBACK_STEP)
        if isinstance(exception, IgnoreRequest) and not (step and step.asks_archive):
            return None  # a page blocked (robots.txt, address guard): an outcome of its own
        limit = request.meta.get("download_maxsize", self.size_limit)
        cut_off = isinstance(exception, DownloadCancelledError)
        error = describe_exception(exception, size_limit=limit if cut_off else None)
        if isinstance(exception, UNREACHABLE) and step and step.asks_archive:
            self._give_up_on_the_archive(error)
        return self._failed(request, error, type(exception).__name__)

    def _failed(self, request: Request, error: str, kind: str | None = None) -> Request:
        """A download that failed with *error*: a live page goes to the archive, an archive
        request means no capture."""
        meta = request.meta
        step: WaybackStep | None = meta.get(META_WAYBACK_STEP)
        if step is None or step.kind == LIVE:
            if kind is not None:
                self.stats.inc_value(STAT_PAGES_FAILED_PREFIX + kind)
            page = meta[META_PAGE]
            live = LiveAttempt(
                error,
                final_url=request.url if request.url != page.url else None,
                fetched_at=meta.get(META_FETCHED_AT),  # of the last hop, when one came back
                warc=meta.get(META_WARC),
            )
            return self._after_live_failure(request, live, step)
        return self._no_capture(request, step, meta.get(META_BLOCKED) or error)

    def _give_up_on_the_archive(self, reason: str) -> None:
        if not self.unreachable:
            logger.error("The archive at %s is unreachable (%s): no more lookups this run",
                         self.endpoint, reason)  # fmt: skip
        self.unreachable = reason
        self.stats.set_value("wayback/unreachable", True)

    # -- steps -------------------------------------------------------------------------------
    def _after_live_failure(
        self, request: Request, live: LiveAttempt, step: WaybackStep | None
    ) -> Request:
        if step is not None:  # fetched live after the archive had nothing: no second try
            raise self._miss(request, live, step.reason or "")
        if self.unreachable:
            raise self._miss(request, live, f"archive unreachable: {self.unreachable}")
        return self._lookup(request, live)

    def _lookup(self, request: Request, live: LiveAttempt | None) -> Request:
        """Ask the CDX API for the capture of the page's URL closest to its target date."""
        page, plan = request.meta[META_PAGE], request.meta[META_WAYBACK]
        target = page.date or plan.as_of or now_timestamp()
        self.stats.inc_value("wayback/lookups")
        query = cdx_query(self.endpoint, page.url, target, self.cdx_limit)
        return self._archive_request(request, query, WaybackStep(CDX, live=live, target=target))

    def _on_cdx(self, request: Request, response: Response, step: WaybackStep) -> Request:
        if response.status != 200:
            return self._no_capture(request, step, f"CDX lookup failed: HTTP {response.status}")
        try:
            capture = closest_capture(parse_cdx(response.body), step.target)
        except WaybackError as exc:
            return self._no_capture(request, step, str(exc))
        if capture is None:
            return self._no_capture(request, step, f"no capture of {request.meta[META_PAGE].url}")
        step = dataclasses.replace(step, kind=MEMENTO, capture=capture)
        return self._archive_request(request, memento_url(self.endpoint, capture), step)

    def _on_memento(
        self, request: Request, response: Response, step: WaybackStep
    ) -> Request | Response:
        if response.status != 200:
            return self._no_capture(request, step, f"capture answered HTTP {response.status}")
        assert step.capture is not None
        self.stats.inc_value("wayback/recovered")
        declared = response.headers.get(b"Memento-Datetime")
        request.meta[META_MEMENTO] = Memento(
            url=response.url,
            datetime=memento_datetime(
                declared.decode("latin-1") if declared else None, step.capture
            ),
            live_error=step.live.error if step.live else None,
        )
        return response

    def _no_capture(self, request: Request, step: WaybackStep, reason: str) -> Any:
        """No usable capture: live in as_of mode with live_fallback, else the final failure."""
        if step.live is None and request.meta[META_WAYBACK].live_fallback:
            self.stats.inc_value("wayback/live_fallbacks")
            page = request.meta[META_PAGE]
            meta = {k: request.meta[k] for k in CARRIED if k in request.meta}
            meta[META_WAYBACK_STEP] = WaybackStep(LIVE, reason=reason)
            return request.replace(url=page.url, meta=meta, dont_filter=True, headers={})
        self.stats.inc_value("wayback/not_found")
        raise self._miss(request, step.live, reason)

    def _archive_request(self, request: Request, url: str, step: WaybackStep) -> Request:
        meta = {k: request.meta[k] for k in CARRIED if k in request.meta}
        meta.update({
            META_WAYBACK_STEP: step,
            # its own slot: low concurrency, a fixed delay, never holding up the live crawl
            "download_slot": SLOT,
            "autothrottle_dont_adjust_delay": True,
            "download_timeout": self.timeout,
            "max_retry_times": 1,
        })  # fmt: skip
        return request.replace(url=url, meta=meta, dont_filter=True, headers={})

    @staticmethod
    def _miss(request: Request, live: LiveAttempt | None, reason: str) -> IgnoreRequest:
        miss = WaybackMiss(live, reason)
        request.meta[META_WAYBACK_MISS] = miss
        return IgnoreRequest(miss.error)
