"""Item pipelines: extraction -> source records -> links -> text dump -> manifest (+ state).

Each stage takes a :class:`~crawler.core.items.FetchedPage` and returns a new one; the
manifest stage is last and writes exactly one line for every page it receives. The
files are the archive's (:func:`crawler.extensions.archive.archive_of`): a write that fails
stops the crawl (``archive_write_failed``) rather than lose results silently.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.archive.dumps import page_dump
from crawler.archive.files import StorageError
from crawler.core.identity import text_digest
from crawler.core.items import FetchedPage, LinkRecord
from crawler.core.keys import (
    STAT_ARCHIVE_WRITE_ERRORS,
    STAT_CPU_EXTRACTION,
    STAT_CPU_STORAGE,
    STAT_INPUT_ENTRIES,
    STAT_MANIFEST_LINES,
    STAT_TEXT_FILES,
    outcome_stat,
)
from crawler.core.manifest import manifest_record
from crawler.core.outcomes import ERROR, OK
from crawler.downloadermiddlewares.warc import WarcCaptureMiddleware
from crawler.extensions.archive import archive_of
from crawler.extract.stage import PageExtractor, blocked_page

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
        item = await self.extractor.extract(item)
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
        if record.access is not None:
            self.stats.inc_value(f"access/{record.access}")
        if record.outcome == ERROR:
            logger.warning("%s %s: %s", record.seq, record.url, record.error)
        return item
