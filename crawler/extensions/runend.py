"""The end of a run: the manifest flushed, the new WARC files indexed, ``groups.jsonl``,
the run record and the run's report, in that order, each failure costing only its own
output (a stat and an ERROR line), never the others.

Reads the crawl's stats, the spider's ``run_arguments()`` and the settings the run
record keeps; writes through the :class:`~crawler.archive.directory.Archive`.
:class:`~crawler.extensions.archive.ArchiveExtension` calls :meth:`RunEnd.finish`
before it closes the archive.
"""

from __future__ import annotations

import logging
import resource
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.directory import Archive
from crawler.archive.files import StorageError
from crawler.archive.runrecord import COMPLETE, FAILED, RECORDED_SETTINGS, build_run_record
from crawler.core.keys import (
    STAT_ARCHIVE_WRITE_ERRORS,
    STAT_CPU_CRAWLER,
    STAT_INDEX_ERRORS,
    STAT_INDEX_FILES,
    STAT_REPORT_ERRORS,
    STAT_RUN_STATUS,
    STAT_WARC_FILES,
)
from crawler.extract.version import RULES_VERSION
from crawler.tools.report import ReportError, write_reports
from crawler.warc.cdxj import CdxIndexError

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def write_failed(stats: StatsCollector, what: str, exc: Exception) -> None:
    """A part of the archive that could not be written: counted (the run fails) and said."""
    stats.inc_value(STAT_ARCHIVE_WRITE_ERRORS)
    logger.error("Could not write %s: %s", what, exc)


def recorded_settings(settings: BaseSettings) -> dict[str, Any]:
    """The settings a run record keeps, typed (a command-line value arrives as a string)."""
    getters = {bool: settings.getbool, int: settings.getint, float: settings.getfloat}
    return {
        name: getters[kind](name) if kind in getters else settings.get(name)
        for name, kind in RECORDED_SETTINGS.items()
    }


def update_index(archive: Archive, stats: StatsCollector, manifest_start: int) -> None:
    """Every closed WARC file the index lacks (this run's, and any an earlier run left
    unindexed) into the index; a failure costs the index, not the run."""
    own = frozenset(stats.get_value(STAT_WARC_FILES, []))
    try:
        stats.set_value(STAT_INDEX_FILES, archive.update_index(manifest_start, own))
    except CdxIndexError as exc:
        stats.inc_value(STAT_INDEX_ERRORS)
        logger.error("Could not update the CDXJ index (scrapy index rebuilds it): %s", exc)


def write_groups(archive: Archive, threshold: float, stats: StatsCollector) -> None:
    """``groups.jsonl`` from the syndication index (a failure costs the file, not the run)."""
    try:
        index = archive.state.group_index(threshold)
        if index is not None:
            stats.set_value("groups/written", archive.write_groups(index))
    except (StorageError, sqlite3.Error) as exc:
        logger.error("Could not write groups.jsonl: %s", exc)


def write_report(archive: Archive, name: str, stats: StatsCollector) -> None:
    try:
        write_reports(archive, only=name)
    except ReportError as exc:  # a report is a view of the archive, never a reason to fail
        stats.inc_value(STAT_REPORT_ERRORS)
        logger.error("Could not write the run report (scrapy report retries): %s", exc)


def log_outcome(record: dict[str, Any], path: Any) -> None:
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


class RunEnd:
    """What a run records of itself, from the spider's opening to the archive's closing."""

    def __init__(self, crawler: Crawler, archive: Archive) -> None:
        self.crawler = crawler
        self.archive = archive
        settings = crawler.settings
        self.index = settings.getbool("INDEX_ENABLED")
        self.reports = settings.getbool("REPORT_ENABLED")
        self.groups = settings.getbool("GROUPS_ENABLED")
        self.manifest_start = archive.manifest_size()  # this run's lines start here
        self.started = datetime.now(UTC)  # the spider's opening, once it opens
        self.spider_name: str | None = None
        self.arguments: dict[str, Any] = {}

    def spider_opened(self, spider: Spider) -> None:
        self.started = datetime.now(UTC)
        self.spider_name = spider.name
        run_arguments = getattr(spider, "run_arguments", None)
        self.arguments = run_arguments() if callable(run_arguments) else {}

    def record(self) -> dict[str, Any]:
        stats = self.crawler.stats
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats.set_value(STAT_CPU_CRAWLER, round(usage.ru_utime + usage.ru_stime, 3))
        record = build_run_record(
            stats.get_stats(),
            started=self.started,
            finished=datetime.now(UTC),
            spider=self.spider_name,
            arguments=self.arguments,
            settings=recorded_settings(self.crawler.settings),
        )
        record["versions"]["extraction_rules"] = RULES_VERSION
        record["manifest_range"] = [self.manifest_start, self.archive.manifest_size()]
        # WARC files a killed run left open, which this run closed (no record names them)
        record["recovered_warc_files"] = self.archive.recovered_warcs
        return record

    def finish(self) -> None:
        """Flush the manifest, index the new WARC files, write groups.jsonl, the run
        record (stat ``run/status``, the crawl command's exit status) and the report."""
        stats, archive = self.crawler.stats, self.archive
        try:
            archive.sync()
        except StorageError as exc:
            write_failed(stats, "the manifest or links", exc)
        if self.index:
            update_index(archive, stats, self.manifest_start)
        if self.groups:
            write_groups(archive, self.crawler.settings.getfloat("DEDUP_THRESHOLD"), stats)
        record = self.record()
        stats.set_value(STAT_RUN_STATUS, record["status"])
        path: Path | str
        try:
            path = archive.write_run_record(self.started, record)
            if self.reports:
                write_report(archive, path.stem, stats)
        except StorageError as exc:
            record["status"] = FAILED  # (and so says the log line below)
            stats.set_value(STAT_RUN_STATUS, FAILED)
            write_failed(stats, "the run record", exc)
            record["problems"] = [*record["problems"], f"the run record: {exc}"]
            path = "(not written)"
        log_outcome(record, path)
