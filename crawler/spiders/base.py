"""What every spider shares: page requests, and pages out of responses and failures.

Writes ``META_PAGE``, ``META_EARLIER`` and ``META_WAYBACK`` on page requests; reads what
the downloader middlewares and the wayback flow left in meta; yields one
:class:`~crawler.core.items.FetchedPage` per page. The pipelines decide the rest.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import Spider
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from crawler.archive.directory import Archive
from crawler.archive.state import UrlState
from crawler.core.items import FetchedPage, LiveAttempt, PageRef, WaybackPlan
from crawler.core.keys import (
    META_ACCESS,
    META_BLOCKED,
    META_CAPTURE,
    META_EARLIER,
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
from crawler.core.outcomes import BLOCKED, ERROR, UNCHANGED, describe_exception, http_error
from crawler.core.timefmt import iso_utc, normalize_timestamp
from crawler.extensions.archive import archive_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class ArchiveSpider(Spider):
    """Base spider. ``-a refresh=1`` fetches URLs the archive already holds again;
    ``-a as_of=YYYYMMDD[hhmmss]`` (with ``-a live_fallback=1``) takes pages from the
    Internet Archive first, in spiders whose inputs are articles."""

    # Spiders whose inputs are article URLs look dead links up in the Internet Archive.
    uses_wayback = False

    def __init__(
        self,
        *args: Any,
        refresh: str | None = None,
        as_of: str | None = None,
        live_fallback: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.refresh = truthy(refresh)
        try:
            self.as_of = normalize_timestamp(as_of)
        except ValueError as exc:
            raise ValueError(f"as_of: {exc}") from None
        self.live_fallback = truthy(live_fallback)
        self.wayback_plan: WaybackPlan | None = None  # set when the archive is used

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if cls.uses_wayback and crawler.settings.getbool("WAYBACK_ENABLED"):
            spider.wayback_plan = WaybackPlan(spider.as_of, spider.live_fallback)
        elif spider.as_of:
            raise ValueError(f"as_of needs WAYBACK_ENABLED and a spider that uses it ({cls.name})")
        return spider

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        contact = settings.get("CRAWLER_CONTACT")
        user_agent = settings.get("USER_AGENT") or ""
        if contact and contact not in user_agent:
            # Operators must be reachable: sites block anonymous crawlers, rightly.
            settings.set("USER_AGENT", f"{user_agent.rstrip(')')}; {contact})", priority="spider")

    @property
    def archive(self) -> Archive:  # the crawl's open archive
        return archive_of(self.crawler)

    def run_arguments(self) -> dict[str, Any]:
        """The arguments this run was given (as the spider read them), for the run record."""
        return {"refresh": self.refresh, "as_of": self.as_of, "live_fallback": self.live_fallback}

    def entry_date(self, text: str | None, where: object) -> str | None:
        """A per-URL date (CSV/JSONL ``date``, seed front matter) as a Wayback timestamp."""
        if not text:
            return None
        try:
            return normalize_timestamp(text)
        except ValueError:
            self.unreadable_date(text, where)
            return None

    def unreadable_date(self, text: str | None, where: object) -> None:
        self.crawler.stats.inc_value("input/unreadable_dates")
        logger.warning("Ignoring unreadable date %r (%s)", text, where)

    def page_request(
        self, page: PageRef, state: UrlState | None = None, capture: str | None = None
    ) -> Request:
        """The request for an input or discovered URL (*capture*: its site's own capture
        mode); parse_page or page_failed decide."""
        meta: dict[str, Any] = {META_PAGE: page}
        if capture is not None:
            meta[META_CAPTURE] = capture
        if self.wayback_plan is not None:
            meta[META_WAYBACK] = self.wayback_plan
        if state is not None and (earlier := state.earlier_capture()) is not None:
            meta[META_EARLIER] = earlier
        # dont_filter: inputs are deduplicated before this point; Scrapy's dupefilter
        # would otherwise drop a second URL redirecting to the same place, silently.
        return Request(
            page.url, callback=self.parse_page, errback=self.page_failed,
            dont_filter=True, meta=meta,
        )  # fmt: skip

    def parse_page(self, response: Response) -> Any:
        meta = response.meta
        warc = meta.get(META_WARC)
        fields = {
            "page": meta[META_PAGE],
            "final_url": response.url,
            "status": response.status,
            "fetched_at": meta.get(META_FETCHED_AT) or iso_utc(),
            "warc": warc,
            "capture": meta.get(META_CAPTURE),
        }
        content_type = response.headers.get(b"Content-Type")
        fields["content_type"] = content_type.decode("latin-1") if content_type else None
        fields["body"] = response.body  # (an unchanged page's: its requisites are in it)
        if warc is not None and warc.revisit:
            # Same payload as the last capture: a revisit record, no new dump.
            self.crawler.stats.inc_value("pages/unchanged")
            earlier = meta[META_EARLIER]
            yield FetchedPage(**fields, outcome=UNCHANGED, text_file=earlier.text_file)
            return
        if (memento := meta.get(META_MEMENTO)) is not None:
            yield FetchedPage(**fields, source="wayback", memento=memento, error=memento.live_error)
            return
        fields["access"] = meta.get(META_ACCESS)  # a challenge or rate limit, retried
        error = http_error(response.status)
        yield FetchedPage(**fields, outcome=ERROR if error else None, error=error)

    def page_failed(self, failure: Failure) -> Any:
        request: Request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        page: PageRef = meta[META_PAGE]
        if (miss := meta.get(META_WAYBACK_MISS)) is not None:
            live = miss.live or LiveAttempt(miss.error)  # the live attempt's evidence stays
            yield FetchedPage(
                page, final_url=live.final_url, status=live.status, fetched_at=live.fetched_at,
                warc=live.warc, outcome=ERROR, error=miss.error,
            )  # fmt: skip
            return
        exc, step = failure.value, meta.get(META_WAYBACK_STEP)
        asks_archive = step is not None and step.asks_archive  # a request of the wayback flow
        if not asks_archive:
            self.crawler.stats.inc_value(STAT_PAGES_FAILED_PREFIX + type(exc).__name__)
        if (blocked := meta.get(META_BLOCKED)) and not asks_archive:
            outcome, error = BLOCKED, blocked
        else:
            limit = meta.get("download_maxsize", self.settings.getint("DOWNLOAD_MAXSIZE"))
            cut_off = isinstance(exc, DownloadCancelledError)
            outcome, error = ERROR, describe_exception(exc, size_limit=limit if cut_off else None)
            if META_WAYBACK in meta and META_WAYBACK_HANDOFF not in meta:
                # Raised on the way back above the wayback flow (a redirect limit, a body
                # too large once decompressed): it never saw it. Hand it back to decide.
                yield request.replace(meta={**meta, META_WAYBACK_HANDOFF: error}, dont_filter=True)
                return
        final_url = request.url if request.url != page.url else None
        yield FetchedPage(
            page, final_url=final_url, fetched_at=meta.get(META_FETCHED_AT),
            warc=meta.get(META_WARC), outcome=outcome, error=error,
        )  # fmt: skip
