"""``scrapy merge [ARCHIVE_DIR] [--job JOB --redis URL]``: one archive from a job's parts.

Each worker of a distributed job writes ARCHIVE_DIR/workers/<name>/; this gives
ARCHIVE_DIR one manifest (one line per input entry; an entry two workers both finished
keeps one line, the others are counted), the WARC files and dumps it points at (hard
links), a fresh CDXJ index, and the syndication groups of the whole corpus
(``groups.jsonl``, the ``group`` fields of the manifest; off with GROUPS_ENABLED=0).
``scrapy verify ARCHIVE_DIR`` checks the result. With
--job, the totals are checked against the job in Redis: it must be finished, and every
entry it ever queued must have its line (a ccnews job's entries are CC-NEWS files, whose
pages have the lines: there, only that it is finished). Exit 1 on any problem.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.archive.directory import Archive
from crawler.archive.files import StorageError
from crawler.archive.lock import ArchiveLockedError
from crawler.commands.base import OfflineCommand, add_redis_option, redis_frontier
from crawler.distributed.merge import MergeError, merge_parts
from crawler.tools.regroup import group_corpus
from crawler.warc.cdxj import CdxIndexError


def _from_sources(root: str) -> bool:
    """Whether the job read another archive (ccnews): its entries are that archive's
    files, not pages, so its line count is not its entry count."""
    return next(Archive(root).manifest_records(needle=b'"source_file"'), None) is not None


class Command(OfflineCommand, ScrapyCommand):
    def syntax(self) -> str:
        return "[ARCHIVE_DIR] [--job JOB --redis URL]"

    def short_desc(self) -> str:
        return "Merge a distributed job's worker parts into one archive"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--job", help="check the totals against this job in Redis")
        add_redis_option(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) > 1:
            raise UsageError("give at most one archive directory")
        root = args[0] if args else self.settings["ARCHIVE_DIR"]
        try:
            grouping = self.settings.getbool("GROUPS_ENABLED")
            threshold = self.settings.getfloat("DEDUP_THRESHOLD")
            result = merge_parts(root, partial(group_corpus, threshold=threshold)
                                 if grouping else None)  # fmt: skip
        except (MergeError, ArchiveLockedError, StorageError, CdxIndexError, OSError) as exc:
            print(f"Cannot merge {root}: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        problems = list(result.problems)
        print(f"{result.lines} manifest lines from {len(result.parts)} parts "
              f"({', '.join(result.parts)}); {result.duplicates} lines of entries done twice "
              f"left out; {result.warc_files} WARC files and {result.text_files} dumps "
              f"linked; {result.index_lines} index lines; {result.groups} groups of the "
              f"same story")  # fmt: skip
        if opts.job:
            try:
                status = redis_frontier(opts.job, opts, self.settings).status()
            except Exception as exc:  # FrontierError, redis-py's errors
                problems.append(f"cannot read job {opts.job}: {exc}")
            else:
                if not status.finished:
                    problems.append(f"job {opts.job} is not finished: {status.as_dict()}")
                if status.ever_queued != result.lines and not _from_sources(root):
                    problems.append(f"job {opts.job} queued {status.ever_queued} entries, the "
                                    f"merged manifest has {result.lines} lines")  # fmt: skip
        for problem in problems:
            print(f"problem: {problem}", file=sys.stderr)
        self.exitcode = 1 if problems else 0
