"""``scrapy replay [ARCHIVE_DIR] [--port P]``: replay the archive in pywb, in place.

pywb runs from a virtualenv of its own (``make replay-env``; REPLAY_PYWB names another
``wayback`` executable), over the archive's WARC files and CDXJ index (built first when
missing): nothing is copied. It prints the address to open, and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.commands.base import OfflineCommand, archive_argument, index_up_to_date


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "[ARCHIVE_DIR] [--port P] [--bind ADDRESS]"

    def short_desc(self) -> str:
        return "Replay the archive in pywb (installed by make replay-env)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--port", type=int, default=8080, help="default 8080")
        parser.add_argument("--bind", default="127.0.0.1", help="default 127.0.0.1")
        parser.add_argument("--show", type=int, default=10, metavar="N",
                            help="list the replay URLs of N articles (default 10)")  # fmt: skip

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from crawler.tools import replay

        assert self.settings is not None
        archive = archive_argument(args, self.settings)
        try:
            pywb = replay.find_pywb(self.settings.get("REPLAY_PYWB"))
        except FileNotFoundError as exc:
            raise UsageError(str(exc), print_help=False) from None
        if warning := index_up_to_date(archive):
            print(f"Warning: {warning}", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="replay-") as directory:
            replay.write_config(archive, Path(directory))
            self._announce(archive, opts)
            # Ctrl-C, kill, a closed terminal: pywb stops with us, never left serving alone
            self.exitcode = replay.run_until_stopped(
                replay.command(pywb, Path(directory), opts.port, opts.bind)
            )
            print("stopped", file=sys.stderr)

    @staticmethod
    def _announce(archive: Any, opts: argparse.Namespace) -> None:
        from crawler.tools import replay

        pages = replay.article_captures(archive)
        print(f"Replaying {archive.root} ({len(pages)} articles) at "
              f"{replay.url(opts.port, bind=opts.bind)}<page URL>", flush=True)  # fmt: skip
        for page in pages[: opts.show]:
            where = replay.url(opts.port, page.url, page.timestamp, opts.bind)
            print(f"  {where}  {page.title[:60]}")
        if len(pages) > opts.show:
            search = replay.url(opts.port, bind=opts.bind)
            print(f"  ... (--show N lists more; pywb's search is at {search})")
        print("Ctrl-C stops it.", flush=True)
