"""Run record: ``ARCHIVE_DIR/runs/<YYYYmmddTHHMMSSZ>.json``, one per run.

Reads the crawl's stats at the end (outcome counts, WARC files, finish reason); writes
the record and the stat ``run/status`` (``complete`` | ``incomplete`` | ``failed``),
which the ``crawl`` command turns into the exit status.
"""

from __future__ import annotations

import json
import logging
import platform
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

from crawler import __version__ as PROJECT_VERSION
from crawler.items import OUTCOMES
from crawler.progress import RateMeter, progress_bar, progress_line, summary_table
from crawler.storage import StorageError, atomic_write_text

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# Settings a reader of the run record needs to interpret the results.
RECORDED_SETTINGS = (
    "ARCHIVE_DIR",
    "USER_AGENT",
    "CRAWLER_CONTACT",
    "ROBOTSTXT_OBEY",
    "ALLOW_PRIVATE_ADDRESSES",
    "AUTOTHROTTLE_ENABLED",
    "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_TIMEOUT",
    "DOWNLOAD_MAXSIZE",
    "RETRY_TIMES",
    "WARC_ENABLED",
    "WARC_MAX_SIZE",
    "EXTRACT_ENABLED",
    "TEXT_ENABLED",
)
VERSIONED = ("scrapy", "trafilatura", "warcio", "w3lib", "twisted", "lxml", "py3langid")

COMPLETE, INCOMPLETE, FAILED = "complete", "incomplete", "failed"


def _versions() -> dict[str, str]:
    found = {"newsarchiver": PROJECT_VERSION, "python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def run_status(stats: dict[str, Any]) -> tuple[str, list[str]]:
    """``complete`` when every input entry got its manifest line and nothing failed."""
    problems = []
    if stats.get("archive/write_errors") or stats.get("warc/write_errors"):
        return FAILED, ["the archive could not be written"]
    reason = stats.get("finish_reason")
    if reason != "finished":
        problems.append(f"crawl ended early ({reason})")
    if not stats.get("input/complete"):
        problems.append("the input was not read to the end")
    entries, lines = stats.get("input/entries", 0), stats.get("manifest/lines", 0)
    skipped = stats.get("input/skipped", 0)
    if lines + skipped != entries:
        problems.append(
            f"{entries} input entries but {lines} manifest lines and {skipped} already archived"
        )
    if failed := stats.get("discovery/sources_failed"):
        problems.append(f"{failed} feed(s) or sitemap(s) could not be fetched or read")
    if stats.get("spider_exceptions/count") or stats.get("log_count/CRITICAL"):
        problems.append("the crawl raised unexpected errors (see the log)")
    return (INCOMPLETE, problems) if problems else (COMPLETE, [])


class RunRecord:
    """Writes the run record at engine stop and logs a one-line summary."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.root = Path(crawler.settings.get("ARCHIVE_DIR"))
        self.started = datetime.now(UTC)
        self.spider_name: str | None = None
        self.arguments: dict[str, str] = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecord:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        self.started = datetime.now(UTC)
        self.spider_name = spider.name
        self.arguments = {
            k: str(v)
            for k, v in vars(spider).items()
            if k.endswith("_path") or k in ("depth", "media", "refresh", "since")
        }

    def engine_stopped(self) -> None:
        stats = self.crawler.stats.get_stats()
        status, problems = run_status(stats)
        self.crawler.stats.set_value("run/status", status)
        settings = self.crawler.settings
        record = {
            "started_at": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finished_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "spider": self.spider_name,
            "arguments": self.arguments,
            "status": status,
            "problems": problems,
            "finish_reason": stats.get("finish_reason"),
            "versions": _versions(),
            "settings": {name: settings.get(name) for name in RECORDED_SETTINGS},
            "input_entries": stats.get("input/entries", 0),
            "manifest_lines": stats.get("manifest/lines", 0),
            "already_archived": stats.get("input/skipped", 0),
            "outcomes": {o: stats.get(f"manifest/outcome/{o}", 0) for o in OUTCOMES},
            "requests": stats.get("downloader/request_count", 0),
            "responses": stats.get("downloader/response_count", 0),
            "warc_files": stats.get("warc/files", []),
            "warc_records": stats.get("warc/records", 0),
            "text_files": stats.get("text/files", 0),
        }
        if self.spider_name == "feeds":
            record["sources"] = stats.get("discovery/sources", [])
        if self.spider_name == "seeds":
            record["seeds"] = {
                "read": stats.get("seeds/read", 0),
                "skipped": {
                    k.removeprefix("seeds/skipped/"): v
                    for k, v in stats.items()
                    if k.startswith("seeds/skipped/")
                },
                "relative_links_skipped": stats.get("seeds/relative_links_skipped", 0),
                "media_links_skipped": stats.get("seeds/media_links_skipped", 0),
            }
        name = self.started.strftime("%Y%m%dT%H%M%SZ")
        path = self.root / "runs" / f"{name}.json"
        try:
            atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n", durable=True)
        except StorageError as exc:
            self.crawler.stats.set_value("run/status", FAILED)
            logger.error("Could not write the run record: %s", exc)
        counts = ", ".join(f"{o}={n}" for o, n in record["outcomes"].items() if n)
        log = logger.info if status == COMPLETE else logger.error
        log(
            "Run %s: %d input entries, %d manifest lines (%s); record %s%s",
            status,
            record["input_entries"],
            record["manifest_lines"],
            counts or "none",
            path,
            f"; problems: {'; '.join(problems)}" if problems else "",
        )


class Progress:
    """Reports progress while a crawl runs, and a summary table when it ends.

    Reads the stats (``manifest/lines``, ``input/skipped``, ``input/total``, outcome
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
        return {o: stats.get_value(f"manifest/outcome/{o}", 0) for o in OUTCOMES}

    def _done_total(self) -> tuple[int, int | None]:
        stats = self.crawler.stats
        done = stats.get_value("manifest/lines", 0) + stats.get_value("input/skipped", 0)
        total = stats.get_value("input/total")
        if total is None and stats.get_value("input/complete"):
            total = stats.get_value("input/entries", 0)
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
