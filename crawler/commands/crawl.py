"""``scrapy crawl`` with an exit status a scheduler can act on.

0: the run completed: every input entry has its manifest line, the archive was written.
1: anything else: the crawl could not start (bad arguments, unreadable input, invalid
   settings), ended early, crashed, lost lines, or could not write the archive.
2: command-line usage error (Scrapy's own).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.core.renamed import RenamedPathError, check_settings

if TYPE_CHECKING:
    import argparse


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
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        status = crawler.stats.get_value("run/status") if crawler.stats else None
        if self.crawler_process.bootstrap_failed or status != "complete":
            self.exitcode = 1
