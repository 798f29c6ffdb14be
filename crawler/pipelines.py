"""Item pipelines: extraction -> links -> text dump -> manifest (+ state).

Each stage takes a :class:`~crawler.items.FetchedPage` and returns a new one; the
manifest stage is last and writes exactly one line for every page it receives. The
files are the archive's (:func:`crawler.extensions.archive_of`): a write that fails
stops the crawl (``archive_write_failed``) rather than lose results silently.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.contracts import (
    STAT_ARCHIVE_WRITE_ERRORS,
    STAT_MANIFEST_LINES,
    STAT_TEXT_FILES,
    outcome_stat,
)
from crawler.extensions import archive_of
from crawler.extraction import ExtractionError, page_dump, quiet_trafilatura_logging
from crawler.identity import url_id
from crawler.items import ExtractOptions, FetchedPage, LinkRecord, manifest_record
from crawler.outcomes import ERROR, NO_TEXT, OK
from crawler.storage import StorageError
from crawler.workers import WorkerCrashedError, WorkerPool, WorkerTimeoutError, load_function

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# Media types trafilatura can read; anything else is archived but not extracted.
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "text/plain")


def _fail_run(crawler: Crawler, exc: Exception) -> None:
    """An output cannot be written: stop the crawl rather than lose results silently."""
    crawler.stats.inc_value(STAT_ARCHIVE_WRITE_ERRORS)
    logger.error("Archive write failed, closing the crawl: %s", exc)
    if crawler.engine is not None and crawler.engine.spider is not None:
        deferred_from_coro(crawler.engine.close_spider_async(reason="archive_write_failed"))


class ExtractPipeline:
    """Reads ``body``/``content_type``/``final_url``; writes ``article``, ``links``, ``outcome``.

    ``ok`` with an article, ``no_text`` when the page holds none (or is not HTML),
    ``error`` when extraction fails, crashes its worker or runs past
    ``EXTRACT_TIMEOUT``. Extraction runs in ``EXTRACT_WORKERS`` processes (0: inline,
    on the reactor thread), at most ``EXTRACT_MAX_IN_FLIGHT`` pages at a time: pages
    waiting for a place hold their responses in Scrapy's scraper slot, so downloads
    pause when extraction lags. Stats: ``extract/*``. With ``EXTRACT_ENABLED = False``
    pages are archived only (outcome ``ok``).
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.enabled = settings.getbool("EXTRACT_ENABLED")
        self.options = ExtractOptions(
            min_paragraph_words=settings.getint("EXTRACT_MIN_PARAGRAPH_WORDS"),
            comments=settings.getbool("EXTRACT_COMMENTS"),
        )
        if self.options.min_paragraph_words < 0:
            raise ValueError("EXTRACT_MIN_PARAGRAPH_WORDS must be >= 0")
        self.function = load_function(settings.get("EXTRACT_FUNCTION"))
        workers = settings.get("EXTRACT_WORKERS")
        workers = (os.cpu_count() or 1) if workers in (None, "") else int(workers)
        if workers < 0:
            raise ValueError(f"EXTRACT_WORKERS must be >= 0, got {workers}")
        in_flight = settings.getint("EXTRACT_MAX_IN_FLIGHT") or 2 * max(workers, 1)
        timeout = settings.getfloat("EXTRACT_TIMEOUT")
        self.pool: WorkerPool | None = None
        if self.enabled and workers > 0:
            self.pool = WorkerPool(
                self.function,
                workers,
                timeout=timeout,
                max_in_flight=in_flight,
                initializer=quiet_trafilatura_logging,
            )
        quiet_trafilatura_logging()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage) or item.outcome is not None:
            return item
        if not self.enabled:
            return dataclasses.replace(item, outcome=OK)
        media_type = (item.content_type or "text/html").split(";")[0].strip().lower()
        if media_type not in HTML_TYPES:
            self.stats.inc_value("extract/not_html")
            return dataclasses.replace(
                item, outcome=NO_TEXT, error=f"not an HTML page ({media_type})"
            )
        if not item.body:
            self.stats.inc_value("extract/empty_body")
            return dataclasses.replace(item, outcome=NO_TEXT, error="empty body")
        # A capture from the archive is read as the page at its own URL: its metadata
        # and relative links belong to the original, not to the memento.
        url = item.url if item.memento is not None else (item.final_url or item.url)
        args = (item.body, item.content_type, url, self.options)
        try:
            if self.pool is None:
                extraction = self.function(*args)
            else:
                extraction = await self.pool.run(*args)
                self.stats.max_value("extract/max_in_flight", self.pool.most_in_flight)
        except (ExtractionError, WorkerTimeoutError, WorkerCrashedError) as exc:
            kind = type(exc).__name__.removesuffix("Error").lower()
            self.stats.inc_value(f"extract/errors/{kind}")
            logger.error("Extraction failed for %s: %s", item.url, exc)
            return dataclasses.replace(item, outcome=ERROR, error=f"extraction failed: {exc}")
        item = dataclasses.replace(item, encoding=extraction.encoding)
        if extraction.article is None:
            self.stats.inc_value("extract/no_text")
            return dataclasses.replace(item, outcome=NO_TEXT)
        self.stats.inc_value("extract/articles")
        return dataclasses.replace(
            item, outcome=OK, article=extraction.article, links=extraction.links
        )

    def close_spider(self) -> None:
        if self.pool is not None:
            self.stats.set_value("extract/worker_restarts", self.pool.restarts)
            self.pool.close()


class LinksPipeline:
    """Appends ``links.jsonl``: LinkRecord items (links in seed documents and feeds) and
    the main-content links of every extracted page (``from`` = the page's id), each
    (from, to) pair once per document. Stat ``links/written``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive = archive_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LinksPipeline:
        return cls(crawler)

    def _write(self, link: LinkRecord) -> None:
        try:
            self.archive.add_link(link)
        except StorageError as exc:
            _fail_run(self.crawler, exc)
            return
        self.crawler.stats.inc_value("links/written")

    def process_item(self, item: Any) -> Any:
        if isinstance(item, LinkRecord):
            self._write(item)
        elif isinstance(item, FetchedPage) and item.links:
            seen: set[str] = set()
            for link in item.links:
                to = url_id(link.url)
                if to not in seen:
                    seen.add(to)
                    self._write(LinkRecord(item.id, to, link.url, link.anchor))
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

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TextDumpPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage) or item.outcome != OK or item.article is None:
            return item
        try:
            relative = self.archive.write_dump(item.seq, item.id, page_dump(item))
        except StorageError as exc:
            _fail_run(self.crawler, exc)
            return dataclasses.replace(item, outcome=ERROR, error=str(exc))
        self.crawler.stats.inc_value(STAT_TEXT_FILES)
        return dataclasses.replace(item, text_file=relative)


class ManifestPipeline:
    """Appends one line per page to ``manifest.jsonl`` (flushed per line), then marks the
    URL done in the state store. Stats ``manifest/lines``, ``manifest/outcome/<outcome>``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.archive = archive_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ManifestPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        record = manifest_record(item)
        try:
            self.archive.record(record, item.warc)
        except StorageError as exc:
            _fail_run(self.crawler, exc)
            return item
        self.stats.inc_value(STAT_MANIFEST_LINES)
        self.stats.inc_value(outcome_stat(record.outcome))
        if record.outcome == ERROR:
            logger.warning("%s %s: %s", record.seq, record.url, record.error)
        return item
