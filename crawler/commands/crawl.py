"""``scrapy crawl`` with an exit status a scheduler can act on.

0: the run completed: every input entry has its manifest line, the archive was written.
1: anything else: the crawl could not start (bad arguments, unreadable input, invalid
   settings), ended early, crashed, lost lines, or could not write the archive.
2: command-line usage error (Scrapy's own).
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from twisted.internet.defer import Deferred

from crawler.core.renamed import RenamedPathError, check_settings

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class Command(ScrapyCrawlCommand):
    def long_desc(self) -> str:
        return (__doc__ or "").strip()

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider: scrapy crawl <spider> [-a name=value ...]")
        assert self.crawler_process
        try:
            check_settings(self.crawler_process.settings)
        except RenamedPathError as exc:  # invalid settings: the crawl cannot start
            print(f"Error: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        if self.settings.get("JOB") and self.settings.getpriority("SCHEDULER") == 0:
            # A distributed job's worker: its share of the job comes from Redis.
            settings = self.crawler_process.settings
            settings.set("SCHEDULER", "crawler.scheduler.RedisScheduler", priority="cmdline")
        crawler = self._create_crawler(args[0])
        say_why_it_cannot_start(self.crawler_process.crawl(crawler, **opts.spargs))
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed or run_status(crawler) != "complete":
            self.exitcode = 1


def say_why_it_cannot_start(started: Any) -> None:
    """A crawl that cannot start (bad arguments, an unreadable list, invalid settings, a
    job that refuses this worker) says why in one ERROR line, instead of asyncio's "Task
    exception was never retrieved" and a traceback (kept at DEBUG level)."""

    def say(exc: BaseException) -> None:
        logger.error("The crawl cannot start: %s: %s", type(exc).__name__, exc)
        logger.debug("Why the crawl cannot start", exc_info=exc)

    if isinstance(started, Deferred):
        started.addErrback(lambda failure: say(failure.value))
    else:  # an asyncio Task: reading its exception here marks it retrieved
        started.add_done_callback(
            lambda task: None if task.cancelled() or task.exception() is None
            else say(task.exception())
        )  # fmt: skip


def run_status(crawler: Crawler) -> str | None:
    """The run record's status (None: the crawl never started, it has no stats)."""
    try:
        stats = crawler.stats
    except RuntimeError:  # Scrapy 2.19: no stats before the crawl starts
        return None
    return stats.get_value("run/status") if stats else None
