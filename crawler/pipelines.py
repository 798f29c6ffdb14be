"""Item pipelines: extraction -> source records -> links -> text dump -> manifest (+ state).

Each stage takes a :class:`~crawler.core.items.FetchedPage` and returns a new one; the
manifest stage is last and writes exactly one line for every page it receives. The
files are the archive's (:func:`crawler.extensions.archive.archive_of`): a write that fails
stops the crawl (``archive_write_failed``) rather than lose results silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DownloadCancelledError, DropItem, IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro

from crawler.archive.dumps import page_dump
from crawler.archive.files import StorageError
from crawler.core.capture import BROWSER, REQUISITES, CaptureModeError, capture_mode
from crawler.core.identity import text_digest
from crawler.core.items import (
    FetchedPage,
    FoundRequisite,
    LinkRecord,
    RequisiteCapture,
    RequisiteCounts,
)
from crawler.core.keys import (
    META_EARLIER,
    META_REQUISITE,
    META_WARC,
    STAT_ARCHIVE_WRITE_ERRORS,
    STAT_CPU_EXTRACTION,
    STAT_CPU_STORAGE,
    STAT_INPUT_ENTRIES,
    STAT_MANIFEST_LINES,
    STAT_REQUISITES_LINES,
    STAT_TEXT_FILES,
    outcome_stat,
)
from crawler.core.manifest import manifest_record
from crawler.core.outcomes import BLOCKED, ERROR, OK
from crawler.downloadermiddlewares.warc import WarcCaptureMiddleware
from crawler.extensions.archive import archive_of
from crawler.extract.requisites import (
    FRAME,
    ICON,
    IMAGE,
    STYLESHEET,
    css_requisites_bytes,
    html_requisites,
)
from crawler.extract.stage import PageExtractor, blocked_page
from crawler.fetch.browser import REFUSED as BROWSER_REFUSED
from crawler.fetch.browser import (
    Answer,
    AnswerCache,
    BrowserCrashedError,
    BrowserNotFoundError,
    BrowserOptions,
    BrowserPool,
    PausedRequest,
    Rendered,
    find_chromium,
)
from crawler.fetch.requisites import (
    FAILED,
    FETCHED,
    SKIPPED,
    Fetched,
    RequisiteLimits,
    RequisiteWalker,
)
from crawler.warc.writer import WarcWriteError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class StorageClock:
    """The CPU a pipeline's writes take, summed into ``cpu/storage`` when it closes (a
    stats call per write would cost more than some writes)."""

    def __init__(self, stats: Any) -> None:
        self.stats = stats
        self.seconds = 0.0

    @contextmanager
    def timing(self) -> Iterator[None]:
        started = time.process_time()
        try:
            yield
        finally:
            self.seconds += time.process_time() - started

    def close(self) -> None:
        self.stats.inc_value(STAT_CPU_STORAGE, round(self.seconds, 3), start=0.0)


def _fail_run(crawler: Crawler, exc: Exception) -> None:
    """An output cannot be written: stop the crawl rather than lose results silently."""
    crawler.stats.inc_value(STAT_ARCHIVE_WRITE_ERRORS)
    logger.error("Archive write failed, closing the crawl: %s", exc)
    try:
        engine = crawler.engine
    except RuntimeError:  # Scrapy 2.19: no engine before the crawl starts; nothing to close
        return
    if engine is not None and engine.spider is not None:
        deferred_from_coro(engine.close_spider_async(reason="archive_write_failed"))


def capture_setting(settings: Any) -> str:
    """``CAPTURE``, checked: invalid values stop the crawl at start-up."""
    try:
        return capture_mode(settings.get("CAPTURE"))
    except CaptureModeError as exc:
        raise ValueError(f"CAPTURE: {exc}") from None


class ExtractPipeline:
    """Reads ``body``/``content_type``/``final_url``; writes ``article``, ``links``, ``outcome``.

    ``ok`` with an article, ``no_text`` when the page holds none (or is not HTML),
    ``error`` when extraction fails, crashes its worker or runs past
    ``EXTRACT_TIMEOUT`` (:class:`crawler.extract.stage.PageExtractor`). Extraction runs in
    ``EXTRACT_WORKERS`` processes (0: inline, on the reactor thread), at most
    ``EXTRACT_MAX_IN_FLIGHT`` pages at a time: pages waiting for a place hold their
    responses in Scrapy's scraper slot, so downloads pause when extraction lags. Stats:
    ``extract/*``. With ``EXTRACT_ENABLED = False`` pages are archived only (``ok``).
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.enabled = settings.getbool("EXTRACT_ENABLED")
        self.extractor = PageExtractor.from_settings(
            settings, enabled=self.enabled, count=self.stats.inc_value
        )
        default = capture_setting(settings)
        self.capture = lambda item: item.capture or default

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        if self.extractor.pool is not None:
            self.extractor.pool.warm_up()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage) or item.outcome is not None:
            return item
        if not self.enabled:
            return blocked_page(item) or dataclasses.replace(item, outcome=OK)
        item = await self.extractor.extract(item, requisites=self.capture(item) == REQUISITES)
        if self.extractor.pool is not None:
            self.stats.max_value("extract/max_in_flight", self.extractor.most_in_flight)
        return item

    def close_spider(self) -> None:
        if self.extractor.pool is not None:
            self.stats.set_value("extract/worker_restarts", self.extractor.restarts)
        self.stats.set_value(STAT_CPU_EXTRACTION, round(self.extractor.cpu_seconds, 3))
        self.extractor.close()


class SourceRecordsPipeline:
    """Pages read from another archive (the ``ccnews`` spider's, which carry their
    original records): one whose article is in a language not asked for (the spider's
    ``languages``) is dropped without a line (stat ``ccnews/skipped/language``); the
    others count as input entries and get their records copied, byte for byte, into this
    archive's WARC, followed by a ``metadata`` record naming the source file and offset
    (``warc`` then points at the copied response), before their dump and line."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceRecordsPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage) or item.records is None:
            return item
        languages = getattr(self.crawler.spider, "languages", ())
        language = item.article.language if item.article else None
        if languages and language and language not in languages:
            self.stats.inc_value("ccnews/skipped/language")
            raise DropItem(f"{item.url}: language {language}", log_level="DEBUG")
        self.stats.inc_value(STAT_INPUT_ENTRIES)
        records, item = item.records, dataclasses.replace(item, records=None)
        # (the crawl's WARC writer: None when WARC_ENABLED is off)
        capture = self.crawler.get_downloader_middleware(WarcCaptureMiddleware)
        if capture is None:
            return item
        provenance = {"via": records.source_url}
        if item.origin is not None:
            provenance |= {"source-file": item.origin.file,
                           "source-offset": str(item.origin.offset)}  # fmt: skip
        try:
            pointer = await capture.copy_capture(list(records.members), records.response,
                                                 provenance)  # fmt: skip
        except OSError as exc:  # WarcWriteError: the crawl is closing; the line says why
            return dataclasses.replace(item, outcome=ERROR, error=str(exc))
        return dataclasses.replace(item, warc=pointer)


# What a page requests each kind of requisite with (a browser's Accept headers).
_ACCEPT = {
    STYLESHEET: "text/css,*/*;q=0.1",
    IMAGE: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    ICON: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    FRAME: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}
_HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def _media_type(response: Response) -> bytes:
    return (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()


def _charset(response: Response) -> str | None:
    value = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    for part in value.split(";")[1:]:
        name, _, charset = part.strip().partition("=")
        if name.lower() == "charset" and charset:
            return charset.strip("\"' ")
    return None


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class RequisitesPipeline:
    """``CAPTURE=requisites`` (or a site's ``capture``): holds each page until the
    resources it needs are fetched or given up, and sets ``requisites`` (fetched,
    failed, skipped) on it, so its manifest line, written after, says so.

    A page's requisites come from its extraction (the workers list them) or, for a page
    not extracted (``unchanged``, extraction off), from its body here. Each is fetched
    through Scrapy's downloader (``engine.download_async``: the address guard,
    robots.txt, politeness, retries and WARC capture see it; no scheduler, so pages
    waiting here never hold back their requisites), once per crawl
    (:class:`crawler.fetch.requisites.RequisiteWalker`), within the
    ``CAPTURE_REQUISITES_MAX*`` limits per page. A requisite captured by an earlier run
    is asked for with a conditional GET: a 304 (or the same payload) becomes a revisit
    record. Stats ``requisites/*``. Pages from the Internet Archive get none.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.default = capture_setting(settings)
        limits = RequisiteLimits(
            settings.getint("CAPTURE_REQUISITES_MAX"),
            settings.getint("CAPTURE_REQUISITES_MAX_BYTES"),
            settings.getint("CAPTURE_REQUISITES_MAX_DEPTH"),
        )
        self.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        self.state = archive_of(crawler).state
        self.walker = RequisiteWalker(self.download, limits, self.stats.inc_value)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RequisitesPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage) or (item.capture or self.default) != REQUISITES:
            return item
        if not _has_requisites(item):
            return item
        url = item.final_url or item.url
        found = item.found_requisites
        if found is None:  # not extracted: read here, off the reactor thread
            assert item.body is not None
            found = await asyncio.to_thread(html_requisites, item.body, url, item.encoding)
        counts = await self.walker.walk(url, found)
        self.stats.inc_value("requisites/pages")
        return dataclasses.replace(item, requisites=counts, found_requisites=None)

    async def download(self, requisite: FoundRequisite, referer: str, max_bytes: int) -> Fetched:
        """One requisite through the downloader (never raises for a failed fetch)."""
        earlier = self.state.requisite(requisite.url)
        headers = {"Referer": referer}
        if (accept := _ACCEPT.get(requisite.kind)) is not None:
            headers["Accept"] = accept
        meta: dict[str, Any] = {
            META_REQUISITE: requisite, "download_maxsize": min(max_bytes, self.max_size)
        }  # fmt: skip
        if earlier is not None:
            meta[META_EARLIER] = earlier.earlier
            if earlier.etag:
                headers["If-None-Match"] = earlier.etag
            if earlier.last_modified:
                headers["If-Modified-Since"] = earlier.last_modified
        request = Request(requisite.url, headers=headers, meta=meta, dont_filter=True)
        try:
            response = await self.crawler.engine.download_async(request)
        except IgnoreRequest:  # refused: robots.txt, the address guard (counted there)
            return Fetched(SKIPPED, "refused")
        except DownloadCancelledError:
            return Fetched(SKIPPED, "bytes")
        except Exception as exc:  # DNS, connection, timeout: its type names it
            return Fetched(FAILED, type(exc).__name__)
        size = len(response.body)
        if response.status == 304 and earlier is not None:
            self.stats.inc_value("requisites/revalidated")
            return Fetched(FETCHED, size=0, children=earlier.children)
        if not 200 <= response.status < 300:
            return Fetched(FAILED, f"http_{response.status}")
        children = await asyncio.to_thread(_children, requisite, response)
        if remember_capture(self.state, requisite.url, response, earlier, children):
            self.stats.inc_value("requisites/unchanged")
        return Fetched(FETCHED, size=size, children=children)


def remember_capture(
    state: Any,
    url: str,
    response: Response,
    earlier: RequisiteCapture | None,
    children: tuple[FoundRequisite, ...] = (),
) -> bool:
    """Note a requisite's full capture in the state store, for a later run's revisits
    (an unchanged payload keeps pointing at its original); True when it was unchanged."""
    pointer = response.meta.get(META_WARC)
    if pointer is None:
        return False
    etag, modified = _header(response, b"ETag"), _header(response, b"Last-Modified")
    unchanged = pointer.revisit and earlier is not None
    if unchanged:
        assert earlier is not None
        capture = dataclasses.replace(earlier, etag=etag, last_modified=modified, children=children)
    else:
        capture = RequisiteCapture(
            response.url, pointer.date, pointer.record_id, pointer.payload_digest,
            etag, modified, children,
        )  # fmt: skip
    state.set_requisite(url, capture)
    return unchanged


def _has_requisites(item: FetchedPage) -> bool:
    """A live HTML page that was fetched (2xx), unchanged or not."""
    if item.outcome in (ERROR, BLOCKED) or item.source != "live" or not item.body:
        return False
    if item.status is None or not 200 <= item.status < 300:
        return False
    media = (item.content_type or "text/html").split(";")[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml")


def _children(requisite: FoundRequisite, response: Response) -> tuple[FoundRequisite, ...]:
    """What a fetched stylesheet or frame references in turn."""
    media = _media_type(response)
    if media == b"text/css" or (requisite.kind == STYLESHEET and media in (b"", b"text/plain")):
        return css_requisites_bytes(response.body, response.url, _charset(response))
    if requisite.kind == FRAME and media in _HTML_TYPES:
        return html_requisites(response.body, response.url, _charset(response))
    return ()


# A browser's request headers the crawler sends on (the rest are its own: User-Agent,
# Accept-Encoding, cookies).
_BROWSER_HEADERS = {"accept", "referer", "content-type", "origin", "x-requested-with", "range"}
# CDP resource types -> requisite kinds (stats)
_BROWSER_KINDS = {"Stylesheet": STYLESHEET, "Image": IMAGE, "Font": "font", "Script": "script",
                  "Document": FRAME, "Media": "media"}  # fmt: skip


class BrowserPipeline:
    """``CAPTURE=browser`` (or a site's ``capture``): each fetched HTML page is loaded in
    headless Chromium (:class:`crawler.fetch.browser.BrowserPool`, ``CAPTURE_BROWSER_*``)
    before extraction, and the article is extracted from the rendered DOM
    (``rendered: true``).

    Every request the browser makes is answered through Scrapy's downloader
    (``engine.download_async``: the address guard, robots.txt, politeness, retries and
    WARC capture see it; redirects are handed to the browser to follow), or from what
    this crawl already captured; refused requests fail in the browser. The page's
    screenshot (PNG, ``urn:view:<url>``) and its DOM (``urn:dom:<url>``, what
    ``reextract`` reads; ``CAPTURE_BROWSER_DOM``) become WARC ``resource`` records
    concurrent to the page's response. The page's ``requisites`` count the browser's
    requests. A browser that crashes or hangs twice on a page makes it ``error``. Stats
    ``browser/*``.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.default = capture_setting(settings)
        self.pool: BrowserPool | None = None
        self.options: BrowserOptions | None = None
        if self.default == BROWSER or settings.get("CAPTURE_BROWSER"):
            self.options = self._options(settings)
        self.pages = settings.getint("CAPTURE_BROWSER_PAGES")
        if self.pages < 1:
            raise ValueError("CAPTURE_BROWSER_PAGES must be >= 1")
        self.dom = settings.getbool("CAPTURE_BROWSER_DOM")
        self.cache = AnswerCache(settings.getint("CAPTURE_BROWSER_CACHE_BYTES"))
        self.downloading: dict[str, asyncio.Future[Answer | str]] = {}
        self.state = archive_of(crawler).state

    @staticmethod
    def _options(settings: Any) -> BrowserOptions:
        try:
            executable = find_chromium(settings.get("CAPTURE_BROWSER") or "")
        except BrowserNotFoundError as exc:
            raise ValueError(f"CAPTURE=browser: {exc}") from None
        timeout = settings.getfloat("CAPTURE_BROWSER_TIMEOUT")
        options = BrowserOptions(
            executable,
            load_timeout=timeout,
            max_requests=settings.getint("CAPTURE_BROWSER_MAX_REQUESTS"),
            command_timeout=max(timeout, 5.0),  # a browser silent that long hangs
        )
        if options.load_timeout <= 0 or options.max_requests < 0:
            raise ValueError(
                "CAPTURE_BROWSER_TIMEOUT must be > 0, CAPTURE_BROWSER_MAX_REQUESTS >= 0"
            )
        return options

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserPipeline:
        return cls(crawler)

    def close_spider(self) -> None:
        if self.pool is not None:
            self.stats.set_value("browser/restarts", self.pool.restarts)
            self.pool.close()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage) or (item.capture or self.default) != BROWSER:
            return item
        if not _has_requisites(item):
            return item
        if self.pool is None:
            if self.options is None:  # a site's own capture = "browser"
                self.options = self._options(self.crawler.settings)
            self.pool = BrowserPool(self.options, self.pages)
        url = item.final_url or item.url
        assert item.body is not None
        content_type = ("Content-Type", item.content_type or "text/html")
        document = Answer(item.status or 200, (content_type,), item.body)
        try:
            rendered = await self.pool.capture(url, document, self.fetch)
        except BrowserCrashedError as exc:
            self.stats.inc_value("browser/errors")
            logger.error("Browser failed on %s: %s", url, exc)
            return dataclasses.replace(item, outcome=ERROR, error=f"browser: {exc}")
        self.stats.inc_value("browser/pages")
        if rendered.timed_out:
            self.stats.inc_value("browser/load_timeouts")
        counts = RequisiteCounts(rendered.fetched, rendered.failed,
                                 rendered.refused + rendered.over_cap)  # fmt: skip
        for what, value in (("refused", rendered.refused), ("over_cap", rendered.over_cap)):
            if value:
                self.stats.inc_value(f"browser/requests/{what}", value)
        await self._resources(item, url, rendered)
        if item.outcome is not None:  # unchanged: archived again, not extracted again
            return dataclasses.replace(item, requisites=counts)
        return dataclasses.replace(
            item, body=rendered.dom.encode("utf-8"), content_type="text/html; charset=utf-8",
            rendered=True, requisites=counts,
        )  # fmt: skip

    async def _resources(self, item: FetchedPage, url: str, rendered: Rendered) -> None:
        """The screenshot (and the DOM) as WARC resource records beside the page's."""
        warc = self.crawler.get_downloader_middleware(WarcCaptureMiddleware)
        if warc is None or item.warc is None:
            return
        records = [(f"urn:view:{url}", "image/png", rendered.screenshot)]
        if self.dom:
            records.append((f"urn:dom:{url}", "text/html; charset=utf-8",
                            rendered.dom.encode("utf-8")))  # fmt: skip
        for uri, content_type, payload in records:
            if payload is None:
                continue
            try:
                await warc.write_resource(uri, content_type, payload, item.warc.record_id)
            except WarcWriteError as exc:
                _fail_run(self.crawler, exc)
                return

    async def fetch(self, paused: PausedRequest) -> Answer | str:
        """One request of the browser, through the downloader, or what the crawl has
        captured (or is fetching: pages loaded at once share a stylesheet's download)."""
        url = paused.url.partition("#")[0]
        if paused.method != "GET":
            return await self._download(paused, url)
        if (cached := self.cache.get(url)) is not None:
            self.stats.inc_value("browser/requests/from_archive")
            return cached
        if (pending := self.downloading.get(url)) is not None:
            self.stats.inc_value("browser/requests/from_archive")
            return await asyncio.shield(pending)
        future: asyncio.Future[Answer | str] = asyncio.get_running_loop().create_future()
        self.downloading[url] = future
        try:
            answer = await self._download(paused, url)
        except BaseException:
            future.set_result("failed")
            raise
        finally:
            del self.downloading[url]
        future.set_result(answer)
        return answer

    async def _download(self, paused: PausedRequest, url: str) -> Answer | str:
        get = paused.method == "GET"
        headers = {k: v for k, v in paused.headers.items() if k.lower() in _BROWSER_HEADERS}
        kind = _BROWSER_KINDS.get(paused.resource_type, "other")
        meta: dict[str, Any] = {META_REQUISITE: FoundRequisite(url, kind), "dont_redirect": True}
        earlier = self.state.requisite(url) if get else None
        if earlier is not None:
            meta[META_EARLIER] = earlier.earlier  # the same payload: a revisit record
        request = Request(url, method=paused.method, headers=headers, body=paused.body or b"",
                          meta=meta, dont_filter=True)  # fmt: skip
        try:
            response = await self.crawler.engine.download_async(request)
        except IgnoreRequest:  # the address guard, robots.txt (counted there)
            return BROWSER_REFUSED
        except Exception as exc:
            self.stats.inc_value(f"browser/requests/failed/{type(exc).__name__}")
            return "failed"
        self.stats.inc_value("browser/requests/fetched")
        answer = Answer(response.status, tuple(
            (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
            for k, values in response.headers.items() for v in values
        ), response.body)  # fmt: skip
        if get and response.status == 200:
            self.cache.put(url, answer)
            remember_capture(self.state, url, response, earlier)
        return answer


class LinksPipeline:
    """Appends ``links.jsonl``: LinkRecord items (links in seed documents and feeds) and
    the main-content links of every extracted page (``from`` = the page's id), each
    (from, to) pair once per document. Stat ``links/written``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive = archive_of(crawler)
        self.clock = StorageClock(crawler.stats)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LinksPipeline:
        return cls(crawler)

    def close_spider(self) -> None:
        self.clock.close()

    def _write(self, links: list[LinkRecord]) -> None:
        try:
            with self.clock.timing():
                self.archive.add_links(links)
        except StorageError as exc:
            _fail_run(self.crawler, exc)
            return
        self.crawler.stats.inc_value("links/written", len(links))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, LinkRecord):
            self._write([item])
        elif isinstance(item, FetchedPage) and item.links:
            seen: set[str] = set()
            records = []
            for link in item.links:
                if link.id not in seen:
                    seen.add(link.id)
                    records.append(LinkRecord(item.id, link.id, link.url, link.anchor))
            self._write(records)
        return item


class TextDumpPipeline:
    """Writes ``text/<seq>_<id>.txt`` for pages with an article; sets ``text_file``.

    Seed form: YAML front matter, blank line, markdown body; written atomically.
    Stat ``text/files``.
    """

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("TEXT_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.archive = archive_of(crawler)
        self.clock = StorageClock(crawler.stats)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TextDumpPipeline:
        return cls(crawler)

    def close_spider(self) -> None:
        self.clock.close()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage) or item.outcome != OK or item.article is None:
            return item
        try:
            with self.clock.timing():
                dump = page_dump(item)
                relative = self.archive.write_dump(item.seq, item.id, dump)
        except StorageError as exc:
            _fail_run(self.crawler, exc)
            return dataclasses.replace(item, outcome=ERROR, error=str(exc))
        self.crawler.stats.inc_value(STAT_TEXT_FILES)
        return dataclasses.replace(item, text_file=relative, dump_sha256=text_digest(dump))


class GroupPipeline:
    """Gives every extracted article its syndication group (crawler.archive.groups: the
    signature came from the extraction worker) before its manifest line is written:
    fields ``group``, ``similarity``, ``group_kind``. Off with ``GROUPS_ENABLED = False``
    and in distributed jobs' workers (``scrapy merge`` groups the corpus). Stats ``groups/near``,
    ``groups/exact``."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("GROUPS_ENABLED") or settings.get("JOB"):
            raise NotConfigured
        self.stats = crawler.stats
        self.index = archive_of(crawler).state.group_index(settings.getfloat("DEDUP_THRESHOLD"))
        self.clock = StorageClock(crawler.stats)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GroupPipeline:
        return cls(crawler)

    def close_spider(self) -> None:
        self.clock.close()

    def process_item(self, item: Any) -> Any:
        if self.index is None or not isinstance(item, FetchedPage) or item.outcome != OK:
            return item
        with self.clock.timing():
            item = self.index.add_page(item)
        if item.group is not None and item.group.kind is not None:
            self.stats.inc_value(f"groups/{item.group.kind}")
        return item


class ManifestPipeline:
    """Appends one line per page to ``manifest.jsonl`` (flushed per line), then marks the
    URL done in the state store. Stats ``manifest/lines``, ``manifest/outcome/<outcome>``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.archive = archive_of(crawler)
        self.clock = StorageClock(crawler.stats)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ManifestPipeline:
        return cls(crawler)

    def close_spider(self) -> None:
        self.clock.close()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        try:
            with self.clock.timing():
                record = manifest_record(item)
                self.archive.record(record, item.warc)
        except StorageError as exc:
            _fail_run(self.crawler, exc)
            return item
        self.stats.inc_value(STAT_MANIFEST_LINES)
        self.stats.inc_value(outcome_stat(record.outcome))
        if (counts := item.requisites) is not None:
            sums = {"pages": 1, "total": counts.total, "fetched": counts.fetched,
                    "failed": counts.failed, "skipped": counts.skipped}  # fmt: skip
            for what, value in sums.items():
                self.stats.inc_value(STAT_REQUISITES_LINES + what, value)
        if record.access is not None:
            self.stats.inc_value(f"access/{record.access}")
        if record.outcome == ERROR:
            logger.warning("%s %s: %s", record.seq, record.url, record.error)
        return item
