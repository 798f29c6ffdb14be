"""Item pipelines: extraction -> links -> text dump -> manifest (+ state).

Each stage takes a :class:`~crawler.items.FetchedPage` and returns a new one; the
manifest stage is last and writes exactly one line for every page it receives.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.extraction import (
    ExtractionError,
    front_matter,
    quiet_trafilatura_logging,
    render_dump,
)
from crawler.identity import text_filename, url_id
from crawler.items import ERROR, NO_TEXT, OK, FetchedPage, LinkRecord, ManifestRecord
from crawler.storage import LinksWriter, ManifestWriter, StorageError, atomic_write_text
from crawler.workers import WorkerCrashedError, WorkerPool, WorkerTimeoutError, load_function

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# Media types trafilatura can read; anything else is archived but not extracted.
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml", "text/plain")


def _fail_run(crawler: Crawler, exc: Exception) -> None:
    """An output cannot be written: stop the crawl rather than lose results silently."""
    crawler.stats.inc_value("archive/write_errors")
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
        self.min_paragraph_words = settings.getint("EXTRACT_MIN_PARAGRAPH_WORDS")
        if self.min_paragraph_words < 0:
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
        args = (item.body, item.content_type, item.final_url or item.url, self.min_paragraph_words)
        try:
            if self.pool is None:
                article, links = self.function(*args)
            else:
                article, links = await self.pool.run(*args)
                self.stats.max_value("extract/max_in_flight", self.pool.most_in_flight)
        except (ExtractionError, WorkerTimeoutError, WorkerCrashedError) as exc:
            kind = type(exc).__name__.removesuffix("Error").lower()
            self.stats.inc_value(f"extract/errors/{kind}")
            logger.error("Extraction failed for %s: %s", item.url, exc)
            return dataclasses.replace(item, outcome=ERROR, error=f"extraction failed: {exc}")
        if article is None:
            self.stats.inc_value("extract/no_text")
            return dataclasses.replace(item, outcome=NO_TEXT)
        self.stats.inc_value("extract/articles")
        return dataclasses.replace(item, outcome=OK, article=article, links=links)

    def close_spider(self) -> None:
        if self.pool is not None:
            self.stats.set_value("extract/worker_restarts", self.pool.restarts)
            self.pool.close()


class LinksPipeline:
    """Appends ``ARCHIVE_DIR/links.jsonl``: LinkRecord items (links in seed documents)
    and the main-content links of every extracted page (``from`` = the page's id), each
    (from, to) pair once per document."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.writer = LinksWriter(Path(crawler.settings.get("ARCHIVE_DIR")) / "links.jsonl")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LinksPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.writer.open()

    def _write(self, link: LinkRecord) -> None:
        try:
            self.writer.write(link)
        except StorageError as exc:
            _fail_run(self.crawler, exc)
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

    def close_spider(self) -> None:
        try:
            self.writer.close()
        except StorageError as exc:
            self.crawler.stats.inc_value("archive/write_errors")
            logger.error("%s", exc)


class TextDumpPipeline:
    """Writes ``ARCHIVE_DIR/text/<seq>_<id>.txt`` for pages with an article; sets ``text_file``.

    Seed form: YAML front matter, blank line, markdown body; written atomically.
    """

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("TEXT_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.root = Path(crawler.settings.get("ARCHIVE_DIR"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TextDumpPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage) or item.outcome != OK or item.article is None:
            return item
        provenance: dict[str, Any] = {"fetched_at": item.fetched_at}
        if item.source == "wayback":
            provenance["source"] = item.source
            provenance["memento_url"] = item.memento_url
            provenance["memento_datetime"] = item.memento_datetime
        if item.warc is not None:
            provenance["warc_file"] = item.warc.filename
            provenance["warc_record_id"] = item.warc.record_id
        fields = front_matter(
            item.article, source_url=item.url, final_url=item.final_url, provenance=provenance
        )
        relative = f"text/{text_filename(item.seq, item.id)}"
        try:
            atomic_write_text(self.root / relative, render_dump(fields, item.article.text))
        except StorageError as exc:
            _fail_run(self.crawler, exc)
            return dataclasses.replace(item, outcome=ERROR, error=str(exc))
        self.crawler.stats.inc_value("text/files")
        return dataclasses.replace(item, text_file=relative)


def manifest_record(item: FetchedPage) -> ManifestRecord:
    """The manifest line of a finished page."""
    article = item.article
    return ManifestRecord(
        id=item.id,
        seq=item.seq,
        url=item.url,
        final_url=item.final_url,
        status=item.status,
        outcome=item.outcome or ERROR,
        error=item.error if item.outcome else (item.error or "no outcome decided"),
        text_file=item.text_file,
        warc_file=item.warc.filename if item.warc else None,
        warc_offset=item.warc.offset if item.warc else None,
        fetched_at=item.fetched_at,
        title=article.title if article else None,
        date=article.date if article else None,
        author=article.author if article else None,
        sitename=article.sitename if article else None,
        language=article.language if article else None,
        words=article.words if article else None,
        text_sha256=hashlib.sha256(article.text.encode()).hexdigest() if article else None,
        source=item.source,
        via=item.via,
        memento_url=item.memento_url,
        memento_datetime=item.memento_datetime,
    )


class ManifestPipeline:
    """Appends one line per page to ``ARCHIVE_DIR/manifest.jsonl`` (flushed per line).

    Stats: ``manifest/lines``, ``manifest/outcome/<outcome>``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        root = Path(crawler.settings.get("ARCHIVE_DIR"))
        try:  # an unusable ARCHIVE_DIR stops the crawl before anything is fetched
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"ARCHIVE_DIR {str(root)!r} cannot be created: {exc}") from exc
        self.writer = ManifestWriter(root / "manifest.jsonl")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ManifestPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.writer.open()
        if self.writer.repaired_bytes:
            self.stats.set_value("manifest/repaired_bytes", self.writer.repaired_bytes)
            logger.warning(
                "Manifest %s ended in a torn line (%d bytes) from an interrupted run; cut it off",
                self.writer.path,
                self.writer.repaired_bytes,
            )

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        record = manifest_record(item)
        try:
            self.writer.write(record)
        except StorageError as exc:
            _fail_run(self.crawler, exc)
            return item
        # Only now, with the line on disk, is the URL done in the state store.
        state = getattr(self.crawler.spider, "archive_state", None)
        if state is not None:
            warc = item.warc
            state.record(
                record,
                manifest_end=self.writer.position,
                payload_digest=warc.payload_digest if warc and not warc.revisit else None,
                record_id=warc.record_id if warc else None,
                warc_date=warc.date if warc else None,
            )
        self.stats.inc_value("manifest/lines")
        self.stats.inc_value(f"manifest/outcome/{record.outcome}")
        if record.outcome == ERROR:
            logger.warning("%s %s: %s", record.seq, record.url, record.error)
        return item

    def close_spider(self) -> None:
        try:
            self.writer.close()
        except StorageError as exc:
            self.stats.inc_value("archive/write_errors")
            logger.error("%s", exc)
