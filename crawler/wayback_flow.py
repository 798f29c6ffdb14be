"""The Internet Archive flow: a page that failed live comes back as a capture or a final failure.

:class:`WaybackMiddleware` is a downloader middleware at 40: the first on a request's
way out and the last on a response's way back, so it sees a page's final live answer,
after redirects and retries. It acts only on page requests that carry
``META_WAYBACK`` (a WaybackPlan, set by the urls and seeds spiders, whose inputs are
articles):

- a live failure worth a lookup (network error, 404, 410, 5xx after retries, or a soft
  404: a 200 page titled as an error page) becomes a CDX lookup for the ``200`` capture
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
from dataclasses import dataclass
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

from crawler.contracts import (
    META_BLOCKED,
    META_EARLIER,
    META_FETCHED_AT,
    META_MEMENTO,
    META_PAGE,
    META_WARC,
    META_WAYBACK,
    META_WAYBACK_MISS,
    META_WAYBACK_STEP,
)
from crawler.items import LiveAttempt, Memento, WaybackMiss
from crawler.outcomes import describe_exception, http_error
from crawler.wayback import (
    Capture,
    WaybackError,
    cdx_query,
    closest_capture,
    looks_like_soft_404,
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
CDX, MEMENTO, LIVE = "cdx", "memento", "live"
# The archive cannot be reached at all: asking it again would only cost timeouts.
UNREACHABLE = (CannotResolveHostError, DNSLookupError, DownloadConnectionRefusedError)
# What a page request keeps through the flow: the page, its plan, its earlier capture.
CARRIED = (META_PAGE, META_WAYBACK, META_EARLIER)
SOFT_404 = "soft 404: a 200 page titled as an error page"


@dataclass(frozen=True, slots=True)
class Step:
    """Where a page is in the flow (``request.meta[META_WAYBACK_STEP]``)."""

    kind: str  # cdx | memento | live (fetched live because the archive had nothing)
    live: LiveAttempt | None = None  # the live failure that sent the page to the archive
    target: str = ""  # the 14-digit timestamp the capture should be closest to
    capture: Capture | None = None  # memento: the capture being fetched
    reason: str | None = None  # live: why the archive had nothing


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
        plan = request.meta.get(META_WAYBACK)
        if plan is None or plan.as_of is None or META_WAYBACK_STEP in request.meta:
            return None
        if self.unreachable:  # archive first, but the archive cannot be asked
            return self._no_capture(request, Step(CDX), f"archive unreachable: {self.unreachable}")
        return self._lookup(request, live=None)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if META_WAYBACK not in request.meta:
            return response
        step: Step | None = request.meta.get(META_WAYBACK_STEP)
        if step is not None and step.kind == CDX:
            return self._on_cdx(request, response, step)
        if step is not None and step.kind == MEMENTO:
            return self._on_memento(request, response, step)
        error = http_error(response.status)
        if response.status == 200 and looks_like_soft_404(response.body):
            error = SOFT_404
        if error is None:
            return response
        meta = request.meta
        live = LiveAttempt(
            error, response.status, response.url, meta.get(META_FETCHED_AT), meta.get(META_WARC)
        )
        if step is not None:  # fetched live after the archive had nothing: no second try
            raise self._miss(request, live, step.reason or "")
        if not worth_a_lookup(response.status):
            return response  # a 403, a 401: the spider records the live error
        return self._after_live_failure(request, live)

    def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if META_WAYBACK not in request.meta:
            return None
        step: Step | None = request.meta.get(META_WAYBACK_STEP)
        if step is None or step.kind == LIVE:
            if isinstance(exception, IgnoreRequest):
                return None  # blocked (robots.txt, address guard): an outcome of its own
            limit = self.size_limit if isinstance(exception, DownloadCancelledError) else None
            page = request.meta[META_PAGE]
            live = LiveAttempt(
                describe_exception(exception, size_limit=limit),
                final_url=request.url if request.url != page.url else None,
            )
            if step is not None:
                raise self._miss(request, live, step.reason or "")
            return self._after_live_failure(request, live)
        reason = request.meta.get(META_BLOCKED) or describe_exception(exception)
        if isinstance(exception, UNREACHABLE):
            if not self.unreachable:
                logger.error("The archive at %s is unreachable (%s): no more lookups this run",
                             self.endpoint, reason)  # fmt: skip
            self.unreachable = reason
            self.stats.set_value("wayback/unreachable", True)
        return self._no_capture(request, step, reason)

    # -- steps -------------------------------------------------------------------------------
    def _after_live_failure(self, request: Request, live: LiveAttempt) -> Request:
        if self.unreachable:
            raise self._miss(request, live, f"archive unreachable: {self.unreachable}")
        return self._lookup(request, live)

    def _lookup(self, request: Request, live: LiveAttempt | None) -> Request:
        """Ask the CDX API for the capture of the page's URL closest to its target date."""
        page, plan = request.meta[META_PAGE], request.meta[META_WAYBACK]
        target = page.date or plan.as_of or now_timestamp()
        self.stats.inc_value("wayback/lookups")
        query = cdx_query(self.endpoint, page.url, target, self.cdx_limit)
        return self._archive_request(request, query, Step(CDX, live=live, target=target))

    def _on_cdx(self, request: Request, response: Response, step: Step) -> Request:
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

    def _on_memento(self, request: Request, response: Response, step: Step) -> Response:
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

    def _no_capture(self, request: Request, step: Step, reason: str) -> Any:
        """No usable capture: live in as_of mode with live_fallback, else the final failure."""
        if step.live is None and request.meta[META_WAYBACK].live_fallback:
            self.stats.inc_value("wayback/live_fallbacks")
            page = request.meta[META_PAGE]
            meta = {k: request.meta[k] for k in CARRIED if k in request.meta}
            meta[META_WAYBACK_STEP] = Step(LIVE, reason=reason)
            return request.replace(url=page.url, meta=meta, dont_filter=True, headers={})
        self.stats.inc_value("wayback/not_found")
        raise self._miss(request, step.live, reason)

    def _archive_request(self, request: Request, url: str, step: Step) -> Request:
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
