"""``scrapy pack [ARCHIVE_DIR] [--out FILE.wacz] [--since RUN] [--with-text]``

A WACZ 1.1.1 package of the archive (or of the runs named RUN and later: the names in
ARCHIVE_DIR/runs/, with the earlier WARC files their revisit records need): its WARC
files, their CDXJ index, the pages from the manifest (one per article; their text with
--with-text), and datapackage.json with the SHA-256 of every file. pywb (wb-manager add
--unpack-wacz) and ReplayWeb.page open it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.base import OfflineCommand, archive_argument, index_up_to_date


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "[ARCHIVE_DIR] [--out FILE.wacz] [--since RUN] [--with-text]"

    def short_desc(self) -> str:
        return "Package the archive as WACZ, to share and to open in ReplayWeb.page"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--out", metavar="FILE", help="default: ARCHIVE_DIR/archive.wacz")
        parser.add_argument("--since", metavar="RUN", help="only the runs named RUN and later")
        parser.add_argument("--with-text", action="store_true", help="pages with their text")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from crawler.tools.pack import PackError, pack

        assert self.settings is not None
        archive = archive_argument(args, self.settings)
        if warning := index_up_to_date(archive):
            print(f"Warning: {warning}", file=sys.stderr)
        out = Path(opts.out or archive.root / "archive.wacz")
        try:
            summary = pack(archive, out, since=opts.since, with_text=opts.with_text)
        except PackError as exc:
            raise UsageError(str(exc), print_help=False) from None
        originals = (
            f" ({summary['originals']} for the originals of revisits)"
            if summary["originals"] else ""
        )  # fmt: skip
        print(f"{out}: {summary['warc_files']} WARC files{originals}, {summary['pages']} "
              f"pages, {summary['bytes'] / 1e6:.1f} MB")  # fmt: skip
