"""The archive's owner in a crawl: opens ``ARCHIVE_DIR`` (and a distributed job) first,
closes it last, and the one accessor the other components reach them by.

Order of opening, when Scrapy builds the extension (before the engine and every other
component): the job (``JOB``: its frontier and Redis state), the archive (lock, crash
recovery: stats ``recovery/*``), the regrouping of a killed run's last batch, then the
state store's batches (:class:`StateBatches`, started with the spider). Order of
closing, at ``engine_stopped`` (after the WARC writer has closed and renamed its files):
the batches, then :class:`~crawler.extensions.runend.RunEnd` (manifest flushed, index,
groups, run record, report), then the archive (lock released). A crawl that fails
before its engine starts gets no ``engine_stopped``: it is finished at ``spider_closed``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from twisted.internet.task import LoopingCall

from crawler.archive.directory import Archive, Recovery
from crawler.archive.files import StorageError
from crawler.core.keys import STAT_RECOVERY_PREFIX
from crawler.core.timefmt import parse_duration
from crawler.distributed.job import Job, open_job
from crawler.extensions.runend import RunEnd, write_failed
from crawler.tools.regroup import regroup_lost

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def _extension(crawler: Crawler) -> ArchiveExtension:
    extension = crawler.get_extension(ArchiveExtension)
    if extension is None:  # (not NotConfigured: Scrapy would quietly drop the component)
        raise RuntimeError(
            "crawler.extensions.archive.ArchiveExtension must be enabled (EXTENSIONS)"
        )
    return extension


def archive_of(crawler: Crawler) -> Archive:
    """The crawl's open :class:`Archive`: how spiders, pipelines and middlewares reach it."""
    return _extension(crawler).archive


def job_of(crawler: Crawler) -> Job | None:
    """The distributed job this crawl is a worker of (None outside ``JOB``, and where the
    archive extension is not enabled: ``scrapy fetch``, a component test)."""
    extension = crawler.get_extension(ArchiveExtension)
    return extension.job if extension is not None else None


def open_archive(settings: BaseSettings) -> tuple[Archive, Job | None, Recovery]:
    """The crawl's archive, opened (and its job: a worker's archive is its own part,
    ``ARCHIVE_DIR/workers/<name>/``, its state the job's, in Redis)."""
    root, job = Path(settings["ARCHIVE_DIR"]), None
    recrawl_after = parse_duration(settings.get("RECRAWL_AFTER"))
    if settings.get("JOB"):
        job = open_job(settings)
        root = Archive(root).worker_part(job.worker)
    archive = Archive(root, recrawl_after=recrawl_after, state=job.state if job else None)
    return archive, job, archive.open()


def report_recovery(recovery: Recovery, stats: StatsCollector) -> None:
    """What an interrupted run left and this one repaired: stats and a warning each."""
    for key, count in recovery.counts().items():
        stats.set_value(STAT_RECOVERY_PREFIX + key, count)
        logger.warning("Recovered from an interrupted run: %s = %d", key, count)


def regroup(archive: Archive, settings: BaseSettings, stats: StatsCollector) -> None:
    """Articles a killed run grouped, whose lines are on disk but whose index entries
    were in the state store's lost last batch, indexed again from their dumps."""
    if not settings.getbool("GROUPS_ENABLED"):
        return
    index = archive.state.group_index(settings.getfloat("DEDUP_THRESHOLD"))
    if index is not None and (count := regroup_lost(archive, index)):
        stats.set_value(STAT_RECOVERY_PREFIX + "grouped", count)
        logger.warning("Recovered from an interrupted run: grouped = %d", count)


class StateBatches:
    """Commits the state store once a ``STATE_COMMIT_INTERVAL`` rather than once a page,
    where the store has batches (SQLite); a failed commit is retried by the next one."""

    def __init__(self, archive: Archive, interval: float, stats: StatsCollector) -> None:
        self.archive = archive
        self.interval = max(interval, 0.1)
        self.stats = stats
        self.enabled = archive.state.begin_batches()
        self.loop: LoopingCall | None = None

    def start(self) -> None:
        if self.enabled:
            self.loop = LoopingCall(self.flush)
            self.loop.start(self.interval, now=False)

    def flush(self) -> None:
        try:
            self.archive.state.flush()
        except Exception as exc:  # the next flush, or the next run's catch-up, retries;
            write_failed(self.stats, "the state store", exc)  # the loop must go on

    def stop(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()


class ArchiveExtension:
    """Opens the archive (and the job) first and closes it last; see the module's text."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings, stats = crawler.settings, crawler.stats
        self.archive, self.job, recovery = open_archive(settings)
        report_recovery(recovery, stats)
        regroup(self.archive, settings, stats)
        self.batches = StateBatches(self.archive, settings.getfloat("STATE_COMMIT_INTERVAL"),
                                    stats)  # fmt: skip
        self.end = RunEnd(crawler, self.archive)
        self.engine_started = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.on_engine_started, signal=signals.engine_started)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.finish, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveExtension:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        self.batches.start()
        self.end.spider_opened(spider)

    def on_engine_started(self) -> None:
        self.engine_started = True

    def spider_closed(self) -> None:
        if not self.engine_started:  # failed to start: engine_stopped will not come
            self.finish()

    def finish(self) -> None:
        """Stop the batches, end the run (record, index, report), close the archive (once)."""
        if not self.archive.is_open:
            return
        self.batches.stop()
        self.end.finish()
        try:
            self.archive.close()
        except StorageError as exc:
            write_failed(self.crawler.stats, "the archive", exc)
