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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.identity import url_id
from crawler.items import BLOCKED, ERROR, UNCHANGED, FetchedPage
from crawler.state import SqliteStateStore, UrlState, parse_duration
from crawler.storage import remove_stale_temp_files
from crawler.warc import EarlierCapture, recover_open_files

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

META_PAGE = "page"
META_EARLIER = "earlier"  # EarlierCapture: lets the WARC stage write a revisit record


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


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
    """Base spider: the archive's state store, page identity in meta, callback, errback.

    Opening the spider takes the archive lock (a second crawl into the same
    ARCHIVE_DIR refuses to start), closes WARC files and removes temporary dumps a
    killed run left, and reads manifest lines the state store missed.
    ``-a refresh=1`` fetches archived URLs again (``RECRAWL_AFTER`` does so by age).
    """

    archive_state: SqliteStateStore

    def __init__(self, *args: Any, refresh: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refresh = _truthy(refresh)
        self.scheduled: set[int] = set()  # ids (as ints) of discovered URLs requested this run

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.recrawl_after = parse_duration(crawler.settings.get("RECRAWL_AFTER"))
        root = Path(crawler.settings["ARCHIVE_DIR"])
        spider.archive_state = SqliteStateStore(root).open()
        text_dir = root / "text"
        spider.recovery = {
            "warc_files_closed": len(recover_open_files(root / "warc")),
            "temp_files_removed": remove_stale_temp_files(text_dir) if text_dir.is_dir() else 0,
            "manifest_lines_recorded": spider.archive_state.catch_up(root / "manifest.jsonl"),
        }
        crawler.signals.connect(spider.report_recovery, signal=signals.spider_opened)
        return spider

    def report_recovery(self) -> None:
        for key, count in self.recovery.items():
            if count:
                self.crawler.stats.set_value(f"recovery/{key}", count)
                logger.warning("Recovered from an interrupted run: %s = %d", key, count)

    def closed(self, reason: str) -> None:
        self.archive_state.close()

    def known(self, id_: str) -> UrlState | None:
        """What the state store knows of *id_*, or None."""
        return self.archive_state.lookup(id_)

    def is_done(self, state: UrlState | None) -> bool:
        """Archived earlier, and neither refreshed nor older than RECRAWL_AFTER."""
        if state is None or not state.archived() or self.refresh:
            return False
        return not (self.recrawl_after and state.older_than(self.recrawl_after))

    @staticmethod
    def earlier_capture(state: UrlState | None) -> EarlierCapture | None:
        if state is None or not (state.payload_digest and state.final_url and state.warc_date):
            return None
        return EarlierCapture(
            uri=state.final_url,
            date=state.warc_date,
            record_id=state.record_id,
            payload_digest=state.payload_digest,
        )

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        contact = settings.get("CRAWLER_CONTACT")
        user_agent = settings.get("USER_AGENT") or ""
        if contact and contact not in user_agent:
            # Operators must be reachable: sites block anonymous crawlers, rightly.
            settings.set("USER_AGENT", f"{user_agent.rstrip(')')}; {contact})", priority="spider")

    def discovered_request(self, url: str, *, via: str, depth: int = 1) -> Request | None:
        """A request for a URL found in a document or feed, once per run, unless archived.

        Its seq comes from the state store (the same on every run); ``via`` names the
        seed file or the id of the document that first linked it.
        """
        id_ = url_id(url)
        key = int(id_, 16)
        if key in self.scheduled:
            return None
        self.scheduled.add(key)
        state = self.known(id_)
        if self.is_done(state):
            self.crawler.stats.inc_value("discovered/already_archived")
            return None
        self.crawler.stats.inc_value("input/entries")
        page = {"url": url, "id": id_, "seq": self.archive_state.seq_for(id_, url), "via": via}
        return self.page_request(url, page, state, depth=depth)

    def page_request(
        self, url: str, page: dict[str, Any], state: UrlState | None = None, **meta: Any
    ) -> Request:
        # dont_filter: inputs are deduplicated before this point; Scrapy's dupefilter
        # would otherwise drop a second URL redirecting to the same place, silently.
        meta[META_PAGE] = page
        if (earlier := self.earlier_capture(state)) is not None:
            meta[META_EARLIER] = earlier
            page["text_file"] = state.text_file if state else None
        return Request(
            url,
            callback=self.parse_page,
            errback=self.page_failed,
            dont_filter=True,
            meta=meta,
        )

    def parse_page(self, response: Response) -> Any:
        meta = response.meta
        page = meta[META_PAGE]
        warc = meta.get("warc")
        if warc is not None and warc.revisit:
            # Same payload as the last capture: a revisit record, no new dump.
            self.crawler.stats.inc_value("pages/unchanged")
            yield FetchedPage(
                url=page["url"],
                id=page["id"],
                seq=page["seq"],
                via=page.get("via"),
                final_url=response.url,
                status=response.status,
                fetched_at=meta.get("fetched_at") or _now(),
                warc=warc,
                outcome=UNCHANGED,
                text_file=page.get("text_file"),
                depth=meta.get("depth", 0),
            )
            return
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
            depth=meta.get("depth", 0),
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
