"""Downloader middlewares: address guard, robots.txt, back-off retries, compressed bodies.

Thin adapters: the work is in crawler.fetch.netguard and crawler.fetch.backoff. A refused request
(address guard, robots.txt) carries its reason in ``request.meta[META_BLOCKED]``, which
the spider turns into outcome ``blocked``. WARC capture is in
crawler.downloadermiddlewares.warc, the
Internet Archive flow in crawler.downloadermiddlewares.wayback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep

from crawler.fetch.backoff import backoff_delay, parse_retry_after

if TYPE_CHECKING:
    pass


logger = logging.getLogger(__name__)


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
            if delay > 0:
                await sleep(delay)
        return result

    async def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request) and (delay := self._wait_for(result)) > 0:
            await sleep(delay)
        return result
