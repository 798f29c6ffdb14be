"""``scrapy report [ARCHIVE_DIR]``: rewrite ARCHIVE_DIR/reports/ (one page per run, and
index.html across runs: new, unchanged and failed pages run by run).
"""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand

from crawler.commands.base import OfflineCommand, archive_argument


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "[ARCHIVE_DIR]"

    def short_desc(self) -> str:
        return "Write the crawl reports (static HTML) of every run of an archive"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from crawler.tools.report import write_reports

        assert self.settings is not None
        paths = write_reports(archive_argument(args, self.settings))
        print(f"{len(paths) - 1} run reports and {paths[-1]}")
