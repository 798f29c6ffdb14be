"""``scrapy reextract [ARCHIVE_DIR | WARC_FILE ...] [--out DIR] [--only-changed] [--urls FILE]``

Text dumps and manifest lines from the WARC records alone, through the crawl's own
extraction (decode, trafilatura, front matter), with the project's EXTRACT_* settings:
after a trafilatura upgrade or a settings change (``-s EXTRACT_COMMENTS=1``). From an
archive, in place: dumps whose text changed are replaced and get a new manifest line.
With ``--out DIR``: a new corpus there (``--only-changed``: only what changed). From any
WARC files (wget, Heritrix, warcprox, CC-NEWS): ``--out`` is needed; ids come from the
target URIs, seq from record order or from ``--urls FILE``. Exit status 0, or 1 when a
page could not be extracted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.archive.directory import Archive
from crawler.commands.base import OfflineCommand

PROGRESS_EVERY = 5.0  # seconds between progress lines


class Command(OfflineCommand, ScrapyCommand):
    default_settings = {}  # logs on: extraction's warnings are worth seeing, as in a crawl

    def syntax(self) -> str:
        return "[ARCHIVE_DIR | WARC_FILE ...] [--out DIR] [--only-changed] [--urls FILE]"

    def short_desc(self) -> str:
        return "Re-extract text dumps from WARC records (an archive's, or any)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--out", metavar="DIR", help="write a new corpus here")
        parser.add_argument(
            "--only-changed", action="store_true", help="write only dumps whose text changed"
        )
        parser.add_argument("--urls", metavar="FILE", help="name pages after this URL list")
        parser.add_argument("--json", action="store_true", help="the summary as JSON")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # (imported here: every scrapy command imports this module, crawl included)
        from crawler.extract.stage import PageExtractor
        from crawler.extract.workers import FunctionLoadError
        from crawler.tools.reextract import Report, into

        assert self.settings is not None
        settings = self.settings
        report = Report()
        source, out, warc_files = self.sources(args, opts)
        try:
            extractor = PageExtractor.from_settings(settings)
        except (ValueError, FunctionLoadError) as exc:
            raise UsageError(str(exc), print_help=False) from None
        groups = (
            settings.getfloat("DEDUP_THRESHOLD") if settings.getbool("GROUPS_ENABLED") else None
        )
        try:
            into(out, extractor, report, source=source, warc_files=warc_files,
                 urls=Path(opts.urls) if opts.urls else None, only_changed=opts.only_changed,
                 progress=progress_printer(), group_threshold=groups)  # fmt: skip
        finally:
            extractor.close()
        summary = report.summary()
        self.exitcode = 1 if report.counts.get("error") else 0
        if opts.json:
            print(json.dumps({"out": str(out.root), **summary}, indent=2))
            return
        why = summary.pop("why")
        details = ", ".join(f"{k}={v}" for k, v in summary.items() if k not in ("seconds",))
        print(f"Reextracted into {out.root}: {details} in {summary['seconds']} s")
        if why:  # what changed in the changed dumps, most common first
            print("Changed: " + ", ".join(f"{reason} {count}" for reason, count in why.items()))

    def sources(
        self, args: list[str], opts: argparse.Namespace
    ) -> tuple[Archive | None, Archive, list[Path]]:
        """The source archive (None: WARC files), the corpus to write, the WARC files."""
        assert self.settings is not None
        sources = [Path(a) for a in args] or [Path(self.settings["ARCHIVE_DIR"])]
        if len(sources) == 1 and sources[0].is_dir():
            source = Archive(sources[0])
            return source, Archive(opts.out) if opts.out else source, []  # in place
        missing = [str(p) for p in sources if not p.is_file()]
        if missing:
            raise UsageError(f"not an archive directory or WARC files: {missing}")
        if not opts.out:
            raise UsageError("reextracting WARC files needs --out DIR", print_help=False)
        return None, Archive(opts.out), sources


def progress_printer() -> Callable[[Any], None]:
    """A progress line on stderr every PROGRESS_EVERY seconds."""
    last = [time.monotonic()]

    def progress(now: Any) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            rate = now.pages / now.seconds if now.seconds else 0.0
            print(f"Reextract: {now.pages} pages, {rate:.1f} pages/s, "
                  f"{now.changed} changed", file=sys.stderr)  # fmt: skip

    return progress
