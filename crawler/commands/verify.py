"""``scrapy verify [ARCHIVE_DIR] [--against MANIFEST] [--json]``: check an archive offline.

Every WARC record's digests (and a warcinfo record first), every manifest line's WARC
pointer, every text dump against its line, the CDXJ index against the records. With
``--against``, a manifest from another run or machine, id by id: identical, changed,
outcome differs, missing here, extra here.
Exit status 0 when everything holds, 1 otherwise (a problem, or a difference).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.archive.directory import Archive
from crawler.commands.base import OfflineCommand


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "[ARCHIVE_DIR] [--against REFERENCE_MANIFEST] [--json]"

    def short_desc(self) -> str:
        return "Check an archive: WARC digests, manifest pointers, text dumps, index"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--against", metavar="MANIFEST", help="compare with this manifest")
        parser.add_argument("--json", action="store_true", help="one JSON report on stdout")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # (imported here: every scrapy command imports this module, crawl included)
        from crawler.tools.compare import IDENTICAL, STATUSES, compare, read_manifest_lines
        from crawler.tools.verify import verify

        if len(args) > 1:
            raise UsageError("give at most one archive directory")
        assert self.settings is not None
        archive = Archive(args[0] if args else self.settings["ARCHIVE_DIR"])
        if not archive.root.is_dir():
            raise UsageError(f"no archive at {archive.root}", print_help=False)
        if holder := archive.locked_by():
            print(f"warning: a crawl ({holder}) is writing to {archive.root}", file=sys.stderr)
        report = verify(archive)
        comparison = None
        if opts.against:
            reference = Path(opts.against)
            if not reference.is_file():
                raise UsageError(f"no manifest at {reference}", print_help=False)
            comparison = compare(archive.manifest_records(), read_manifest_lines(reference))
        differs = bool(comparison) and any(s != IDENTICAL for s in comparison.values())
        self.exitcode = 0 if report.ok and not differs else 1
        if opts.json:
            document = {
                "archive": str(archive.root),
                **report.summary(),
                "problems": [
                    {"kind": p.kind, "where": p.where, "id": p.id, "message": p.message}
                    for p in report.problems
                ],
            }
            if comparison is not None:
                document["against"] = str(opts.against)
                document["comparison"] = {
                    "counts": {s: list(comparison.values()).count(s) for s in STATUSES},
                    "ids": comparison,
                }
            print(json.dumps(document, indent=2))
            return
        s = report.summary()
        print(
            f"{'OK' if report.ok else 'PROBLEMS'}: {s['warc_files']} WARC files "
            f"({s['warc_bytes'] / 1e6:.1f} MB) checked in {s['seconds']:.1f} s; "
            f"{len(report.problems)} problem(s)"
        )
        for line in report.summary_lines():  # the counts first, then the list
            print(f"  {line}")
        for problem in report.problems:
            print(problem)
        if comparison is not None:
            counts = Counter(comparison.values())
            for id_, status in comparison.items():
                if status != IDENTICAL:
                    print(f"{id_}: {status}")
            print(f"Against {opts.against}:")
            for status in STATUSES:
                print(f"  {status:<16} {counts.get(status, 0):>8}")
