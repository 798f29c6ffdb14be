"""Challenge and rate-limit pages retried later, and hosts that keep sending them paused
(rules: crawler.extract.access)."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached

from crawler.core.keys import META_ACCESS, META_ACCESS_RETRIES, META_BLOCKED, META_PAGE
from crawler.extract.access import BLOCKING, FULL, PageFacts, rules_for
from crawler.extract.soft404 import page_words
from crawler.fetch.backoff import backoff_delay

logger = logging.getLogger(__name__)


class AccessRetryMiddleware:
    """Challenges and rate-limit pages (crawler.extract.access rules labelled ``challenge`` or
    ``rate_limited``, on responses of at most ``ACCESS_SNIFF_MAX_BYTES``: a page that
    lacks an article and says so, never one that merely carries a challenge script or a
    "too many requests" string in its code) are retried later, ``ACCESS_RETRY_TIMES``
    times, after ``ACCESS_RETRY_DELAY`` s doubling each time; a page still answered that
    way passes on with its label in ``request.meta[META_ACCESS]`` (outcome ``error`` with
    the evidence). A host that has answered ``ACCESS_HOST_PAUSE_AFTER`` such pages is
    paused for the rest of the run: its pages are refused (outcome ``blocked``, the reason
    says why) and the run record lists it (stat ``access/paused_hosts``). Stats
    ``access/seen/<label>``, ``access/retries``. Sits at 540, under
    BackoffRetryMiddleware: a 429 or 503 gets that one's quick Retry-After retries first.
    """

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        extra = settings.get("ACCESS_EXTRA_RULES") or ""
        # The rules that block, and the user's `full` rules that overrule them (a site
        # whose pages a built-in rule mistakes for challenges is neither retried nor paused).
        self.rules = rules_for(extra).only((*BLOCKING, FULL))
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
            await sleep(backoff_delay(retries + 1, self.delay, 3600.0))
            again = request.replace(dont_filter=True)
            again.meta[META_ACCESS_RETRIES] = retries + 1
            return again
        request.meta[META_ACCESS] = access
        return response
