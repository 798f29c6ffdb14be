"""Extensions: the archive's owner for a crawl (with the run record), and progress reporting."""

from __future__ import annotations

import logging
import resource
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.task import LoopingCall

from crawler.archive import Archive
from crawler.cdxindex import CdxIndexError
from crawler.contracts import (
    STAT_ARCHIVE_WRITE_ERRORS,
    STAT_CPU_CRAWLER,
    STAT_HOST_PREFIX,
    STAT_INDEX_ERRORS,
    STAT_INDEX_FILES,
    STAT_INPUT_COMPLETE,
    STAT_INPUT_ENTRIES,
    STAT_INPUT_SKIPPED,
    STAT_INPUT_TOTAL,
    STAT_MANIFEST_LINES,
    STAT_RECOVERY_PREFIX,
    STAT_REPORT_ERRORS,
    STAT_RUN_STATUS,
    STAT_WARC_FILES,
    outcome_stat,
)
from crawler.outcomes import OUTCOMES
from crawler.progress import RateMeter, progress_bar, progress_line, summary_table
from crawler.regroup import regroup_lost
from crawler.report import ReportError, write_reports
from crawler.runrecord import COMPLETE, FAILED, RECORDED_SETTINGS, build_run_record
from crawler.state import parse_duration
from crawler.storage import StorageError
from crawler.syndication import group_index

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def archive_of(crawler: Crawler) -> Archive:
    """The crawl's open :class:`Archive`: how spiders, pipelines and middlewares reach it."""
    extension = crawler.get_extension(ArchiveExtension)
    if extension is None:  # (not NotConfigured: Scrapy would quietly drop the component)
        raise RuntimeError("crawler.extensions.ArchiveExtension must be enabled (EXTENSIONS)")
    return extension.archive


class ArchiveExtension:
    """Opens ``ARCHIVE_DIR`` first and closes it last; writes the run record.

    Built before the engine, it opens the :class:`~crawler.archive.Archive` at once: a
    second crawl into the same directory stops here, and what an interrupted run left is
    repaired before anything is fetched (stats ``recovery/*``). At ``engine_stopped``,
    after every other component is done (the WARC writer has closed and renamed its
    files), it flushes the manifest, writes ``runs/<start time>.json`` (stat
    ``run/status``, which the crawl command turns into the exit status) and closes the
    archive, releasing the lock. A crawl that fails before its engine starts gets no
    ``engine_stopped``: it is finished at ``spider_closed`` instead (nothing was fetched,
    no WARC file is open). Spider arguments come from ``spider.run_arguments()``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        recrawl_after = parse_duration(settings.get("RECRAWL_AFTER"))
        root, state, self.frontier = Path(settings["ARCHIVE_DIR"]), None, None
        if settings.get("JOB"):
            # One worker of a distributed job: its own part of the archive, shared state.
            from crawler.distributed import open_job

            self.frontier, state = open_job(settings)
            root = root / "workers" / self.frontier.worker
        self.archive = Archive(root, recrawl_after=recrawl_after, state=state)
        recovery = self.archive.open()
        for key, count in recovery.counts().items():
            crawler.stats.set_value(STAT_RECOVERY_PREFIX + key, count)
            logger.warning("Recovered from an interrupted run: %s = %d", key, count)
        self.manifest_start = self.archive.manifest_size()  # this run's lines start here
        self._regroup()
        # The SQLite state store commits once a STATE_COMMIT_INTERVAL, not once a page.
        self.flushes: LoopingCall | None = None
        if hasattr(self.archive.state, "batch"):
            self.archive.state.batch = True
        self.index = settings.getbool("INDEX_ENABLED")
        self.reports = settings.getbool("REPORT_ENABLED")
        self.started = datetime.now(UTC)  # the spider's opening, once it opens
        self.spider_name: str | None = None
        self.arguments: dict[str, Any] = {}
        self.engine_started = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.on_engine_started, signal=signals.engine_started)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.finish, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveExtension:
        return cls(crawler)

    def _regroup(self) -> None:
        """Articles a killed run grouped, whose lines are on disk but whose index entries
        were in the state store's lost last batch, indexed again from their dumps."""
        settings = self.crawler.settings
        if not settings.getbool("GROUPS_ENABLED") or settings.get("JOB"):
            return
        index = group_index(self.archive.state, settings.getfloat("DEDUP_THRESHOLD"))
        if index is not None and (count := regroup_lost(self.archive, index)):
            self.crawler.stats.set_value(STAT_RECOVERY_PREFIX + "grouped", count)
            logger.warning("Recovered from an interrupted run: grouped = %d", count)

    def _flush_state(self) -> None:
        try:
            self.archive.state.flush()
        except Exception as exc:  # the next flush, or the next run's catch-up, retries;
            self._write_failed("the state store", exc)  # the loop must go on

    def spider_opened(self, spider: Spider) -> None:
        if hasattr(self.archive.state, "batch"):
            self.flushes = LoopingCall(self._flush_state)
            interval = max(self.crawler.settings.getfloat("STATE_COMMIT_INTERVAL"), 0.1)
            self.flushes.start(interval, now=False)
        self.started = datetime.now(UTC)
        self.spider_name = spider.name
        run_arguments = getattr(spider, "run_arguments", None)
        self.arguments = run_arguments() if callable(run_arguments) else {}

    def recorded_settings(self) -> dict[str, Any]:
        settings = self.crawler.settings
        getters = {bool: settings.getbool, int: settings.getint, float: settings.getfloat}
        return {
            name: getters[kind](name) if kind in getters else settings.get(name)
            for name, kind in RECORDED_SETTINGS.items()
        }

    def on_engine_started(self) -> None:
        self.engine_started = True

    def spider_closed(self) -> None:
        if not self.engine_started:  # failed to start: engine_stopped will not come
            self.finish()

    def _write_failed(self, what: str, exc: Exception) -> None:
        self.crawler.stats.inc_value(STAT_ARCHIVE_WRITE_ERRORS)
        logger.error("Could not write %s: %s", what, exc)

    def _index(self) -> None:
        """Every closed WARC file the index lacks (this run's, and any an earlier run
        left unindexed) into the index; a failure costs the index, not the run."""
        stats = self.crawler.stats
        own = frozenset(stats.get_value(STAT_WARC_FILES, []))
        try:
            stats.set_value(STAT_INDEX_FILES, self.archive.update_index(self.manifest_start, own))
        except CdxIndexError as exc:
            stats.inc_value(STAT_INDEX_ERRORS)
            logger.error("Could not update the CDXJ index (scrapy index rebuilds it): %s", exc)

    def _groups(self) -> None:
        """groups.jsonl from the syndication index (a failure costs the file, not the run)."""
        settings = self.crawler.settings
        if not settings.getbool("GROUPS_ENABLED") or settings.get("JOB"):
            return
        try:
            index = group_index(self.archive.state, settings.getfloat("DEDUP_THRESHOLD"))
            if index is not None:
                self.crawler.stats.set_value("groups/written", self.archive.write_groups(index))
        except (StorageError, sqlite3.Error) as exc:
            logger.error("Could not write groups.jsonl: %s", exc)

    def _report(self, name: str) -> None:
        try:
            write_reports(self.archive, only=name)
        except ReportError as exc:  # a report is a view of the archive, never a reason to fail
            self.crawler.stats.inc_value(STAT_REPORT_ERRORS)
            logger.error("Could not write the run report (scrapy report retries): %s", exc)

    def finish(self) -> None:
        """Flush the manifest, index the new WARC files, write the run record and the
        report, close the archive (once)."""
        if not self.archive.is_open:
            return
        if self.flushes is not None and self.flushes.running:
            self.flushes.stop()
        stats = self.crawler.stats
        try:
            self.archive.sync()
        except StorageError as exc:
            self._write_failed("the manifest or links", exc)
        if self.index:
            self._index()
        self._groups()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats.set_value(STAT_CPU_CRAWLER, round(usage.ru_utime + usage.ru_stime, 3))
        record = build_run_record(
            stats.get_stats(),
            started=self.started,
            finished=datetime.now(UTC),
            spider=self.spider_name,
            arguments=self.arguments,
            settings=self.recorded_settings(),
        )
        record["manifest_range"] = [self.manifest_start, self.archive.manifest_size()]
        # WARC files a killed run left open, which this run closed (no record names them)
        record["recovered_warc_files"] = self.archive.recovered_warcs
        stats.set_value(STAT_RUN_STATUS, record["status"])
        try:
            path: Any = self.archive.write_run_record(self.started, record)
            if self.reports:
                self._report(path.stem)
        except StorageError as exc:
            stats.set_value(STAT_RUN_STATUS, FAILED)
            self._write_failed("the run record", exc)
            path = "(not written)"
        try:
            self.archive.close()
        except StorageError as exc:
            self._write_failed("the archive", exc)
        counts = ", ".join(f"{o}={n}" for o, n in record["outcomes"].items() if n)
        problems = record["problems"]
        log = logger.info if record["status"] == COMPLETE else logger.error
        log(
            "Run %s: %d input entries, %d manifest lines (%s); record %s%s",
            record["status"],
            record["input_entries"],
            record["manifest_lines"],
            counts or "none",
            path,
            f"; problems: {'; '.join(problems)}" if problems else "",
        )


class HostTimes:
    """Counts, per host, the responses downloaded and the seconds they took (Scrapy's
    ``download_latency``): stats ``hosts/<host>/requests``, ``/seconds``, ``/slowest``,
    which the run record and the report's slowest hosts read."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        crawler.signals.connect(self.response_received, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostTimes:
        return cls(crawler)

    def response_received(self, response: Any, request: Any) -> None:
        latency = request.meta.get("download_latency")
        host = urlparse_cached(request).netloc
        if latency is None or not host:
            return
        prefix = f"{STAT_HOST_PREFIX}{host}/"
        self.stats.inc_value(prefix + "requests")
        self.stats.inc_value(prefix + "seconds", latency, start=0.0)
        self.stats.max_value(prefix + "slowest", latency)


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
