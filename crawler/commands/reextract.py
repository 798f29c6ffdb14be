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
import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from scrapy.exceptions import UsageError

from crawler.archive import Archive
from crawler.commandbase import OfflineCommand

PROGRESS_EVERY = 5.0  # seconds between progress lines


def link_warcs(paths: list[Path], out: Archive) -> None:
    """Symbolic links in ``out/warc/`` to the WARC files a new corpus was made from, so its
    manifest pointers resolve and ``scrapy verify`` checks it whole."""
    out.warc_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        link = out.warc_dir / path.name
        if not link.exists():
            link.symlink_to(path.resolve())


def index_new_corpus(source: Archive | None, out: Archive) -> None:
    """The new corpus's CDXJ index: its source archive's (the same WARC files), or
    built from the WARC files it was made from."""
    if source is not None and source.index_path.exists():
        out.index_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.index_path, out.index_path)
    else:
        out.rebuild_index()


class Command(OfflineCommand):
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
        from crawler.extractor import PageExtractor
        from crawler.items import ExtractOptions
        from crawler.reextract import Report, archive_pages, reextract, warc_pages
        from crawler.workers import load_function

        assert self.settings is not None
        settings = self.settings
        sources = [Path(a) for a in args] or [Path(settings["ARCHIVE_DIR"])]
        report = Report()
        if len(sources) == 1 and sources[0].is_dir():
            source = Archive(sources[0])
            pages = archive_pages(source, report)
            out = Archive(opts.out) if opts.out else source  # in place, without --out
        else:
            missing = [str(p) for p in sources if not p.is_file()]
            if missing:
                raise UsageError(f"not an archive directory or WARC files: {missing}")
            if not opts.out:
                raise UsageError("reextracting WARC files needs --out DIR", print_help=False)
            source, out = None, Archive(opts.out)
            urls = Path(opts.urls) if opts.urls else None
            pages = warc_pages(sources, report, urls)
        workers = settings.get("EXTRACT_WORKERS")
        workers = (os.cpu_count() or 1) if workers in (None, "") else int(workers)
        extractor = PageExtractor(
            load_function(settings.get("EXTRACT_FUNCTION")),
            ExtractOptions(
                min_paragraph_words=settings.getint("EXTRACT_MIN_PARAGRAPH_WORDS"),
                comments=settings.getbool("EXTRACT_COMMENTS"),
                access_rules=settings.get("ACCESS_EXTRA_RULES") or "",
            ),
            workers=workers,
            timeout=settings.getfloat("EXTRACT_TIMEOUT"),
            max_in_flight=settings.getint("EXTRACT_MAX_IN_FLIGHT") or 2 * max(workers, 1),
        )
        last = [time.monotonic()]

        def progress(now: Any) -> None:
            if time.monotonic() - last[0] >= PROGRESS_EVERY:
                last[0] = time.monotonic()
                rate = now.pages / now.seconds if now.seconds else 0.0
                print(f"Reextract: {now.pages} pages, {rate:.1f} pages/s, "
                      f"{now.changed} changed", file=sys.stderr)  # fmt: skip

        try:
            with out:
                if out is not source:  # the new corpus points at the WARC files it came from
                    link_warcs(source.warc_files() if source else sources, out)
                from crawler.syndication import group_index

                groups = None
                if settings.getbool("GROUPS_ENABLED"):
                    groups = group_index(out.state, settings.getfloat("DEDUP_THRESHOLD"))
                asyncio.run(reextract(
                    pages, extractor, out, report, previous=source,
                    only_changed=opts.only_changed or out is source, progress=progress,
                    groups=groups,
                ))  # fmt: skip
                if groups is not None:
                    out.write_groups(groups)
                if out is not source:
                    index_new_corpus(source, out)
        finally:
            extractor.close()
        summary = report.summary()
        self.exitcode = 1 if report.counts.get("error") else 0
        if opts.json:
            print(json.dumps({"out": str(out.root), **summary}, indent=2))
            return
        details = ", ".join(f"{k}={v}" for k, v in summary.items() if k not in ("seconds",))
        print(f"Reextracted into {out.root}: {details} in {summary['seconds']} s")
