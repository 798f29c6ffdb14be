"""``scrapy crawl urls -a urls=FILE``: fetch, archive and extract every URL of a list.

FILE is .txt (one URL per line, ``#`` comments), .csv/.tsv (a ``url`` column) or
.jsonl (a ``url`` key). It is streamed. Every entry gets one manifest line: invalid
ones outcome ``error``, repeats (after canonicalisation) outcome ``duplicate``.
URLs this archive already holds (outcome ok/no_text/unchanged in an earlier run) are
skipped, so re-running a half-done list finishes it; ``-a refresh=1`` fetches them again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.core.items import FetchedPage
from crawler.core.keys import (
    STAT_INPUT_COMPLETE,
    STAT_INPUT_ENTRIES,
    STAT_INPUT_SKIPPED,
    STAT_INPUT_TOTAL,
)
from crawler.core.outcomes import ERROR
from crawler.core.urls import DEFAULT_MAX_URL_LENGTH
from crawler.sources.entries import EntryClassifier
from crawler.sources.urllists import count_entries, read_url_list
from crawler.spiders.base import ArchiveSpider

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class UrlsSpider(ArchiveSpider):
    name = "urls"
    uses_wayback = True

    def __init__(self, urls: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.urls_path = urls

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> UrlsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if crawler.settings.get("JOB"):
            # A worker of a distributed job: its URLs come from the job (scrapy enqueue).
            if spider.urls_path:
                raise ValueError(
                    "a job's URLs are queued with `scrapy enqueue JOB FILE`; its workers run "
                    "`scrapy crawl urls -s JOB=... -s REDIS_URL=...` without -a urls"
                )
            spider._entries = None
            return spider
        if not spider.urls_path:
            raise ValueError("the urls spider needs a URL list: scrapy crawl urls -a urls=FILE")
        # The same limit as Scrapy's UrlLengthMiddleware, which would drop longer URLs
        # silently. Opened now: a missing file or a bad header stops the crawl at start.
        max_length = crawler.settings.getint("URLLENGTH_LIMIT") or DEFAULT_MAX_URL_LENGTH
        spider._entries = read_url_list(spider.urls_path, max_length)
        return spider

    def run_arguments(self) -> dict[str, Any]:
        return {"urls": self.urls_path, **super().run_arguments()}

    async def start(self) -> AsyncIterator[Any]:
        if self._entries is None:
            return  # a job's worker: the RedisScheduler hands out the job's URLs
            yield
        stats = self.crawler.stats
        archive = self.archive
        stats.set_value(STAT_INPUT_TOTAL, count_entries(self.urls_path))
        classifier = EntryClassifier()
        for entry in self._entries:
            stats.inc_value(STAT_INPUT_ENTRIES)
            listed = classifier.classify(entry)
            if listed.outcome is not None:
                stats.inc_value("input/invalid" if listed.outcome == ERROR else "input/duplicates")
                yield FetchedPage(listed.page, outcome=listed.outcome, error=listed.error)
                continue
            state = archive.previous(listed.page.id)
            if archive.is_done(state, refresh=self.refresh):
                # Archived by an earlier run: that run's manifest line stands.
                stats.inc_value(STAT_INPUT_SKIPPED)
                continue
            if listed.date_error:
                self.unreadable_date(entry.fields.get("date"), entry.line)
            yield self.page_request(listed.page, state)
            # Stream the list: hand over more requests only when the scheduler has drained,
            # so a 100,000-URL list never sits in memory as 100,000 requests.
            if self.crawler.engine.needs_backout():
                await self.crawler.signals.wait_for(signals.scheduler_empty)
        stats.set_value(STAT_INPUT_COMPLETE, True)

    def closed(self, reason: str) -> None:
        if self._entries is not None:
            self._entries.close()  # releases the file when the crawl ends before the list does
