"""Progress while a crawl runs (a live bar or log lines) and the summary table at its end."""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

from crawler.core.keys import (
    STAT_INPUT_COMPLETE,
    STAT_INPUT_ENTRIES,
    STAT_INPUT_SKIPPED,
    STAT_INPUT_TOTAL,
    STAT_MANIFEST_LINES,
    outcome_stat,
)
from crawler.core.outcomes import OUTCOMES
from crawler.tools.progress import RateMeter, progress_bar, progress_line, summary_table

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)


class Progress:
    """Reports progress while a crawl runs, and a summary table when it ends.

    Reads the stats (manifest lines, already-archived entries, list size, outcome
    counts). On a terminal, a live bar on stderr, refreshed every second; otherwise
    (cron, a log file) a ``Progress:`` log line every ``PROGRESS_INTERVAL`` seconds.
    ``PROGRESS_INTERVAL = 0`` turns both off.
    """

    def __init__(self, crawler: Crawler, interval: float, stream: Any = None) -> None:
        self.crawler = crawler
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() and not crawler.settings.get("LOG_FILE")
        self.interval = 1.0 if self.live else interval
        self.meter = RateMeter()
        self.started = time.monotonic()
        self.loop: LoopingCall | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        return cls(crawler, interval)

    def _counts(self) -> dict[str, int]:
        stats = self.crawler.stats
        return {o: stats.get_value(outcome_stat(o), 0) for o in OUTCOMES}

    def _done_total(self) -> tuple[int, int | None]:
        stats = self.crawler.stats
        done = stats.get_value(STAT_MANIFEST_LINES, 0) + stats.get_value(STAT_INPUT_SKIPPED, 0)
        total = stats.get_value(STAT_INPUT_TOTAL)
        if total is None and stats.get_value(STAT_INPUT_COMPLETE):
            total = stats.get_value(STAT_INPUT_ENTRIES, 0)
        return done, total

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.loop = LoopingCall(self.tick)
        self.loop.start(self.interval, now=False)

    def tick(self) -> None:
        done, total = self._done_total()
        rate = self.meter.update(time.monotonic(), done)
        line = progress_line(done, total, rate, self._counts())
        if self.live:
            self.stream.write(f"\r\x1b[K{progress_bar(done, total)} {line}")
            self.stream.flush()
        else:
            logger.info("Progress: %s", line)

    def spider_closed(self, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.live:
            self.stream.write("\n")
        done, _ = self._done_total()
        status = "finished" if reason == "finished" else f"ended ({reason})"
        elapsed = time.monotonic() - self.started
        logger.info("%s", summary_table(status, elapsed, self._counts(), done))
