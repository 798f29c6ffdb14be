"""What every spider of this project shares: turning a response or a failure into a page.

Reads ``request.meta["page"]`` (the input URL's id/seq/url, set when the request is
made) and what the downloader middlewares left in meta (``warc``, ``fetched_at``,
``blocked_reason``). Yields :class:`~crawler.items.FetchedPage` items; the pipelines
decide the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Spider, signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    IgnoreRequest,
)
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from crawler.identity import url_id
from crawler.items import BLOCKED, ERROR, UNCHANGED, FetchedPage
from crawler.state import SqliteStateStore, UrlState, parse_duration
from crawler.storage import remove_stale_temp_files
from crawler.warc import EarlierCapture, recover_open_files
from crawler.wayback import (
    WaybackError,
    cdx_query,
    closest_capture,
    looks_like_soft_404,
    memento_url,
    normalize_timestamp,
    now_timestamp,
    parse_cdx,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

META_PAGE = "page"
WAYBACK_SLOT = "wayback"
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


def response_fields(response: Response) -> dict[str, Any]:
    """The FetchedPage fields a response fills in."""
    content_type = response.headers.get(b"Content-Type")
    return {
        "final_url": response.url,
        "status": response.status,
        "content_type": content_type.decode("latin-1") if content_type else None,
        "body": response.body,
    }


def parse_http_date(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class WaybackPolicy:
    """How this run uses the Internet Archive (settings WAYBACK_*, -a as_of, live_fallback)."""

    enabled: bool = False
    endpoint: str = ""
    as_of: str | None = None  # archive first, capture closest to this 14-digit timestamp
    live_fallback: bool = False  # in as_of mode, go live when the archive has nothing
    timeout: float = 60.0
    cdx_limit: int = 5

    @property
    def archive_first(self) -> bool:
        return self.enabled and self.as_of is not None


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
    # Spiders whose inputs are article URLs look dead links up in the Internet Archive.
    wayback_on_failure = False

    def __init__(
        self,
        *args: Any,
        refresh: str | None = None,
        as_of: str | None = None,
        live_fallback: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.refresh = _truthy(refresh)
        self.scheduled: set[int] = set()  # ids (as ints) of discovered URLs requested this run
        self.fixed_delay_hosts: set[str] = set()  # hosts whose delay AutoThrottle must not touch
        try:
            self.as_of = normalize_timestamp(as_of)
        except WaybackError as exc:
            raise ValueError(f"as_of: {exc}") from None
        self.live_fallback = _truthy(live_fallback)
        # Set when the archive cannot be reached at all (no DNS, refused): the rest of the
        # run stops asking it, instead of paying its timeouts for every dead link.
        self.archive_unreachable: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.recrawl_after = parse_duration(crawler.settings.get("RECRAWL_AFTER"))
        settings = crawler.settings
        enabled = settings.getbool("WAYBACK_ENABLED") and spider.wayback_on_failure
        if spider.as_of and not enabled:
            raise ValueError(f"as_of needs WAYBACK_ENABLED and a spider that uses it ({cls.name})")
        endpoint = settings.get("WAYBACK_ENDPOINT") or ""
        if enabled and not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"WAYBACK_ENDPOINT must be an http(s) URL, got {endpoint!r}")
        spider.wayback = WaybackPolicy(
            enabled=enabled,
            endpoint=endpoint,
            as_of=spider.as_of,
            live_fallback=spider.live_fallback,
            timeout=settings.getfloat("WAYBACK_TIMEOUT"),
            cdx_limit=settings.getint("WAYBACK_CDX_LIMIT"),
        )
        root = Path(crawler.settings["ARCHIVE_DIR"])
        spider.archive_state = SqliteStateStore(root).open()
        text_dir = root / "text"
        spider.recovery = {
            "warc_files_closed": len(recover_open_files(root / "warc")),
            "temp_files_removed": remove_stale_temp_files(text_dir) if text_dir.is_dir() else 0,
            "manifest_lines_recorded": spider.archive_state.catch_up(root / "manifest.jsonl"),
        }
        crawler.signals.connect(spider.report_recovery, signal=signals.spider_opened)
        crawler.signals.connect(spider.open_wayback_slot, signal=signals.spider_opened)
        return spider

    def open_wayback_slot(self) -> None:
        """The archive rate-limits hard: its own slot, low concurrency, a fixed delay."""
        if self.wayback.enabled:
            slots = self.crawler.engine.downloader.per_slot_settings
            slots[WAYBACK_SLOT] = {
                "concurrency": self.settings.getint("WAYBACK_CONCURRENCY"),
                "delay": self.settings.getfloat("WAYBACK_DELAY"),
            }

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

    def entry_date(self, text: str | None, where: object) -> str | None:
        """A per-URL date (CSV/JSONL ``date``, seed front matter) as a Wayback timestamp."""
        if not text:
            return None
        try:
            return normalize_timestamp(text)
        except WaybackError:
            self.crawler.stats.inc_value("input/unreadable_dates")
            logger.warning("Ignoring unreadable date %r (%s)", text, where)
            return None

    def discovered_request(
        self, url: str, *, via: str, depth: int = 1, date: str | None = None
    ) -> Request | None:
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
        if date:
            page["date"] = date
        return self.page_request(page, state, depth=depth)

    def page_request(
        self, page: dict[str, Any], state: UrlState | None = None, **meta: Any
    ) -> Request:
        """The request for an input or discovered URL: live, or archive-first with as_of."""
        if self.wayback.archive_first:
            return self.wayback_lookup(page, live_error=None, depth=meta.get("depth", 0))
        if (earlier := self.earlier_capture(state)) is not None:
            meta[META_EARLIER] = earlier
            page["text_file"] = state.text_file if state else None
        if urlsplit(page["url"]).hostname in self.fixed_delay_hosts:
            meta["autothrottle_dont_adjust_delay"] = True
        return self.page_request_live(page, **meta)

    @staticmethod
    def page_item(page: dict[str, Any], meta: dict[str, Any], **fields: Any) -> FetchedPage:
        """A FetchedPage for *page* with what the downloader left in *meta*."""
        fields.setdefault("warc", meta.get("warc"))
        fields.setdefault("depth", meta.get("depth", 0))
        return FetchedPage(
            url=page["url"], id=page["id"], seq=page["seq"], via=page.get("via"), **fields
        )

    def parse_page(self, response: Response) -> Any:
        meta = response.meta
        page = meta[META_PAGE]
        warc = meta.get("warc")
        fetched_at = meta.get("fetched_at") or _now()
        if warc is not None and warc.revisit:
            # Same payload as the last capture: a revisit record, no new dump.
            self.crawler.stats.inc_value("pages/unchanged")
            yield self.page_item(
                page, meta, final_url=response.url, status=response.status,
                fetched_at=fetched_at, outcome=UNCHANGED, text_file=page.get("text_file"),
            )  # fmt: skip
            return
        error = http_error(response.status)
        if error is None and response.status == 200 and looks_like_soft_404(response.body):
            error = "soft 404: a 200 page titled as an error page"
        if error and (why := meta.get("wayback_error") or self.archive_gone()):
            error = f"live: {error}; wayback: {why}"  # the archive had nothing either
        elif error and self.wayback_fallback(response.status):
            yield self.wayback_lookup(page, live_error=error, depth=meta.get("depth", 0))
            return
        yield self.page_item(
            page,
            meta,
            **response_fields(response),
            fetched_at=fetched_at,
            outcome=ERROR if http_error(response.status) else None,
            error=error if http_error(response.status) else None,
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
        if outcome == ERROR and (why := meta.get("wayback_error") or self.archive_gone()):
            error = f"live: {error}; wayback: {why}"  # the archive had nothing either
        elif outcome == ERROR and self.wayback_fallback(None):
            yield self.wayback_lookup(page, live_error=error, depth=meta.get("depth", 0))
            return
        yield self.page_item(
            page,
            meta,
            final_url=request.url if request.url != page["url"] else None,
            status=response.status if response is not None else None,
            fetched_at=meta.get("fetched_at"),
            outcome=outcome,
            error=error,
        )

    # -- the Internet Archive ----------------------------------------------------------------
    def archive_gone(self) -> str | None:
        """Why the archive is not asked any more this run (unreachable), if it would be."""
        if self.archive_unreachable and self.wayback.enabled and self.wayback_on_failure:
            return f"archive unreachable: {self.archive_unreachable}"
        return None

    def wayback_fallback(self, status: int | None) -> bool:
        """Whether a live failure goes to the archive: a network error (status None),
        404, 410, 5xx after retries, or a soft 404 (status 200)."""
        if not (self.wayback.enabled and self.wayback_on_failure) or self.archive_unreachable:
            return False
        return status is None or status in (404, 410) or status >= 500 or status == 200

    def _wayback_meta(self, page: dict[str, Any], depth: int, **extra: Any) -> dict[str, Any]:
        return {
            META_PAGE: page,
            "depth": depth,
            # its own slot: low concurrency, a fixed delay, never holding up the live crawl
            "download_slot": WAYBACK_SLOT,
            "autothrottle_dont_adjust_delay": True,
            "download_timeout": self.wayback.timeout,
            "max_retry_times": 1,
            **extra,
        }

    def wayback_lookup(
        self,
        page: dict[str, Any],
        *,
        live_error: str | None,
        depth: int = 0,
    ) -> Request:
        """Ask the CDX API for the capture of the page's URL closest to its target date."""
        if self.archive_unreachable and self.wayback.live_fallback:
            return self.page_request_live(page, depth=depth)
        self.crawler.stats.inc_value("wayback/lookups")
        target = page.get("date") or self.wayback.as_of or now_timestamp()
        page = {**page, "live_error": live_error, "target": target}
        return Request(
            cdx_query(self.wayback.endpoint, page["url"], target, self.wayback.cdx_limit),
            callback=self.parse_cdx,
            errback=self.wayback_failed,
            dont_filter=True,
            meta=self._wayback_meta(page, depth),
        )

    def _no_capture(self, page: dict[str, Any], meta: dict[str, Any], reason: str) -> Any:
        """No usable capture: live fallback in as_of mode, else an error with both reasons."""
        if (
            self.wayback.archive_first
            and self.wayback.live_fallback
            and page.get("live_error") is None
        ):
            self.crawler.stats.inc_value("wayback/live_fallbacks")
            page = {k: v for k, v in page.items() if k not in ("live_error", "target")}
            request = self.page_request_live(page, depth=meta.get("depth", 0))
            request.meta["wayback_error"] = reason
            return request
        self.crawler.stats.inc_value("wayback/not_found")
        live = page.get("live_error") or "not fetched (as_of)"
        return self.page_item(
            page, {"depth": meta.get("depth", 0)}, outcome=ERROR,
            error=f"live: {live}; wayback: {reason}",
        )  # fmt: skip

    def page_request_live(self, page: dict[str, Any], **meta: Any) -> Request:
        """The live request for *page*: parse_page or page_failed decide its outcome."""
        meta[META_PAGE] = page
        # dont_filter: inputs are deduplicated before this point; Scrapy's dupefilter
        # would otherwise drop a second URL redirecting to the same place, silently.
        return Request(
            page["url"], callback=self.parse_page, errback=self.page_failed,
            dont_filter=True, meta=meta,
        )  # fmt: skip

    def parse_cdx(self, response: Response) -> Any:
        meta = response.meta
        page = meta[META_PAGE]
        if response.status != 200:
            yield self._no_capture(page, meta, f"CDX lookup failed: HTTP {response.status}")
            return
        try:
            capture = closest_capture(parse_cdx(response.body), page["target"])
        except WaybackError as exc:
            yield self._no_capture(page, meta, str(exc))
            return
        if capture is None:
            yield self._no_capture(page, meta, f"no capture of {page['url']}")
            return
        yield Request(
            memento_url(self.wayback.endpoint, capture),
            callback=self.parse_memento,
            errback=self.wayback_failed,
            dont_filter=True,
            meta=self._wayback_meta(page, meta.get("depth", 0), capture=capture),
        )

    def parse_memento(self, response: Response) -> Any:
        meta = response.meta
        page = meta[META_PAGE]
        if response.status != 200:
            yield self._no_capture(page, meta, f"capture answered HTTP {response.status}")
            return
        self.crawler.stats.inc_value("wayback/recovered")
        capture = meta["capture"]
        declared = response.headers.get(b"Memento-Datetime")
        when = parse_http_date(declared.decode("latin-1")) if declared else None
        memento_datetime = (when or capture.datetime).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield self.page_item(
            page,
            meta,
            **response_fields(response),
            fetched_at=meta.get("fetched_at") or _now(),
            error=page.get("live_error"),
            source="wayback",
            memento_url=response.url,
            memento_datetime=memento_datetime,
        )

    def wayback_failed(self, failure: Failure) -> Any:
        request: Request = failure.request  # type: ignore[attr-defined]
        reason = describe_exception(failure.value)
        if request.meta.get("blocked_reason"):
            reason = request.meta["blocked_reason"]
        elif failure.check(CannotResolveHostError, DNSLookupError, DownloadConnectionRefusedError):
            if not self.archive_unreachable:
                logger.error("The archive at %s is unreachable (%s): no more lookups this run",
                             self.wayback.endpoint, reason)  # fmt: skip
            self.archive_unreachable = reason
            self.crawler.stats.set_value("wayback/unreachable", True)
        yield self._no_capture(request.meta[META_PAGE], request.meta, reason)
