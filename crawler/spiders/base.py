"""What every spider of this project shares: turning a response or a failure into a page.

Reads ``request.meta["page"]`` (the input URL's id/seq/url, set when the request is
made) and what the downloader middlewares left in meta (``warc``, ``fetched_at``,
``blocked_reason``). Yields :class:`~crawler.items.FetchedPage` items; the pipelines
decide the rest.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from scrapy import Spider
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.items import BLOCKED, ERROR, FetchedPage

logger = logging.getLogger(__name__)

META_PAGE = "page"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_error(status: int) -> str | None:
    """The manifest error for a final status, or None when the page is usable (2xx)."""
    if 200 <= status < 300:
        return None
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "unknown status"
    return f"HTTP {status} {phrase}"


def describe_exception(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class ArchiveSpider(Spider):
    """Base spider: per-request page identity in meta, a callback and an errback."""

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        contact = settings.get("CRAWLER_CONTACT")
        user_agent = settings.get("USER_AGENT") or ""
        if contact and contact not in user_agent:
            # Operators must be reachable: sites block anonymous crawlers, rightly.
            settings.set("USER_AGENT", f"{user_agent.rstrip(')')}; {contact})", priority="spider")

    def page_request(self, url: str, page: dict[str, Any]) -> Request:
        # dont_filter: inputs are deduplicated before this point; Scrapy's dupefilter
        # would otherwise drop a second URL redirecting to the same place, silently.
        return Request(
            url,
            callback=self.parse_page,
            errback=self.page_failed,
            dont_filter=True,
            meta={META_PAGE: page},
        )

    def parse_page(self, response: Response) -> Any:
        meta = response.meta
        page = meta[META_PAGE]
        content_type = response.headers.get(b"Content-Type")
        yield FetchedPage(
            url=page["url"],
            id=page["id"],
            seq=page["seq"],
            via=page.get("via"),
            final_url=response.url,
            status=response.status,
            content_type=content_type.decode("latin-1") if content_type else None,
            body=response.body,
            fetched_at=meta.get("fetched_at") or _now(),
            warc=meta.get("warc"),
            outcome=ERROR if http_error(response.status) else None,
            error=http_error(response.status),
        )

    def page_failed(self, failure: Failure) -> Any:
        request: Request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        page = meta[META_PAGE]
        exc = failure.value
        response = getattr(exc, "response", None) if isinstance(exc, HttpError) else None
        if meta.get("blocked_reason"):
            outcome, error = BLOCKED, meta["blocked_reason"]
        elif isinstance(exc, IgnoreRequest) and "robots.txt" in str(exc):
            outcome, error = BLOCKED, "robots.txt"
        elif isinstance(exc, DownloadCancelledError) and not str(exc):
            # Scrapy cancels a streamed body past DOWNLOAD_MAXSIZE without a message.
            limit = meta.get("download_maxsize", self.settings.getint("DOWNLOAD_MAXSIZE"))
            outcome = ERROR
            error = f"DownloadCancelledError: body larger than download max size ({limit} bytes)"
        else:
            outcome, error = ERROR, describe_exception(exc)
        self.crawler.stats.inc_value(f"pages/failed/{type(exc).__name__}")
        yield FetchedPage(
            url=page["url"],
            id=page["id"],
            seq=page["seq"],
            via=page.get("via"),
            final_url=request.url if request.url != page["url"] else None,
            status=response.status if response is not None else None,
            fetched_at=meta.get("fetched_at"),
            warc=meta.get("warc"),
            outcome=outcome,
            error=error,
        )
