"""Test-only Scrapy components, enabled for one crawl with ``-s EXTENSIONS=...``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import CloseSpider

from crawler.archive.directory import Archive
from crawler.archive.lock import ArchiveLockedError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class LockProbe:
    """Looks at the archive when the spider has closed: is it still locked, and are the
    WARC files closed? Writes what it saw, as JSON, to the ``LOCK_PROBE_FILE`` setting.

    Its ``spider_closed`` handler is connected at ``spider_opened``, after every
    component has connected its own, so it runs last: after the WARC writer has
    closed and renamed its files.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.out = Path(crawler.settings["LOCK_PROBE_FILE"])
        self.root = Path(crawler.settings["ARCHIVE_DIR"])
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LockProbe:
        return cls(crawler)

    def spider_opened(self) -> None:
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def spider_closed(self) -> None:
        second = Archive(self.root)  # a second crawl starting now, into the same archive
        try:
            second.open()
        except ArchiveLockedError:
            refused = True
        else:
            refused = False
            second.close()
        seen = {
            "second_crawl_refused": refused,
            "open_warc_files": sorted(p.name for p in self.root.glob("warc/*.open")),
            "closed_warc_files": sorted(p.name for p in self.root.glob("warc/*.warc.gz")),
        }
        self.out.write_text(json.dumps(seen), encoding="utf-8")


class RefuseToStart:
    """Closes the spider as it opens (before the engine starts), as a component that
    cannot start does."""

    def __init__(self, crawler: Crawler) -> None:
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RefuseToStart:
        return cls(crawler)

    def spider_opened(self) -> None:
        raise CloseSpider("refused_to_start")
