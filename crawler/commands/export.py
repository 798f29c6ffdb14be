"""``scrapy export [ARCHIVE_DIR] [--format parquet|jsonl|csv] [--out FILE] [--with-text]``

One row per input URL (its latest manifest line), typed columns (timestamps, dates,
integers) and the site, optionally the article text; Parquet through pyarrow (a
dependency). Next to it, ``FILE.datasheet.md``: counts per outcome, site, language and
month of publication, the runs and versions that made the archive, and the commands
that rebuild it. Offline.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler import settings as project_settings
from crawler.archive.directory import Archive
from crawler.commands.base import OfflineCommand


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "[ARCHIVE_DIR] [--format parquet|jsonl|csv] [--out FILE] [--with-text]"

    def short_desc(self) -> str:
        return "Export the corpus (one row per URL) for pandas, DuckDB, ..., and a datasheet"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--format", default="parquet", help="parquet (default), jsonl, csv")
        parser.add_argument("--out", metavar="FILE", help="default: ARCHIVE_DIR/corpus.FORMAT")
        parser.add_argument("--with-text", action="store_true", help="add the article text")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # (imported here: every scrapy command imports this module, crawl included)
        from crawler.tools.export import FORMATS, datasheet, export

        assert self.settings is not None
        if len(args) > 1:
            raise UsageError("give at most one archive directory")
        if opts.format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
        archive = Archive(args[0] if args else self.settings["ARCHIVE_DIR"])
        if not archive.manifest_path.exists():
            raise UsageError(f"no manifest in {archive.root}", print_help=False)
        out = Path(opts.out or archive.root / f"corpus.{opts.format}")
        try:
            count = export(archive, opts.format, out, with_text=opts.with_text)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            self.exitcode = 1
            return
        flags = ["--format", opts.format, "--out", str(out)] + (["--with-text"] * opts.with_text)
        command = shlex.join(["scrapy", "export", str(archive.root), *flags])
        sheet = out.with_name(out.name + ".datasheet.md")
        defaults = vars(project_settings)  # a run's changes are told from these
        sheet.write_text(datasheet(archive, out, opts.format, command, defaults),
                         encoding="utf-8")  # fmt: skip
        print(f"{count} rows in {out}; datasheet {sheet}")
