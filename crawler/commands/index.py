"""``scrapy index [ARCHIVE_DIR]``: rebuild ARCHIVE_DIR/indexes/index.cdxj from every WARC file.

The CDXJ index pywb reads (request, response and revisit records), sorted. A crawl keeps
it current by itself; this rebuilds it after WARC files were added, moved or repaired.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands import ScrapyCommand

from crawler.archive.files import StorageError
from crawler.archive.lock import ArchiveLockedError
from crawler.commands.base import OfflineCommand, archive_argument
from crawler.warc.cdxj import CdxIndexError


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "[ARCHIVE_DIR]"

    def short_desc(self) -> str:
        return "Rebuild the archive's CDXJ index from its WARC files"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        archive = archive_argument(args, self.settings)
        try:
            with archive:  # the lock: no crawl writes while the index is rebuilt
                lines = archive.rebuild_index()
        except (ArchiveLockedError, StorageError, CdxIndexError) as exc:
            print(f"Cannot rebuild the index: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        print(f"{lines} index lines for {len(archive.warc_files())} WARC files in "
              f"{archive.index_path}")  # fmt: skip
