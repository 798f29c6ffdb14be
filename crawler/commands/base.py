"""What the offline commands share: their base, the archive a command line names, its
index, and a job's frontier.

Not a command itself: Scrapy takes every ``ScrapyCommand`` subclass defined in a module
of ``COMMANDS_MODULE`` for a command named after the module, so the base here is a mixin
(``class Command(OfflineCommand, ScrapyCommand)``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler.archive.directory import Archive
from crawler.archive.files import StorageError
from crawler.archive.lock import ArchiveLockedError
from crawler.distributed.frontier import FrontierError, RedisFrontier
from crawler.distributed.job import job_frontier
from crawler.warc.cdxj import CdxIndexError


class OfflineCommand:
    """A command that reads (or rewrites) an archive without crawling: the project's
    settings, no crawler process, its module docstring's body as ``--help`` text."""

    requires_project = True
    requires_crawler_process = False
    default_settings: dict[str, Any] = {"LOG_ENABLED": False}

    def long_desc(self) -> str:
        doc = sys.modules[type(self).__module__].__doc__ or ""
        return " ".join(doc.split("\n\n", 1)[-1].split())


def archive_argument(args: list[str], settings: BaseSettings) -> Archive:
    """The archive of ``[ARCHIVE_DIR]`` (default: the ARCHIVE_DIR setting); it must exist."""
    if len(args) > 1:
        raise UsageError("give at most one archive directory")
    archive = Archive(args[0] if args else settings["ARCHIVE_DIR"])
    if not archive.root.is_dir():
        raise UsageError(f"no archive at {archive.root}", print_help=False)
    return archive


def index_up_to_date(archive: Archive) -> str | None:
    """Add the WARC files the CDXJ index lacks (under the archive's lock). When that
    cannot be done (a crawl is writing, a read-only archive), the index is used as it
    is: returns why, for the command to say."""
    try:
        with archive:
            archive.update_index()
    except (ArchiveLockedError, StorageError, CdxIndexError) as exc:
        return f"the CDXJ index is used as it is ({exc})"
    return None


def add_redis_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", metavar="URL", help="Redis URL (default: REDIS_URL)")


def redis_frontier(job: str, opts: argparse.Namespace, settings: BaseSettings) -> RedisFrontier:
    """The frontier of *job* at ``--redis`` (or ``REDIS_URL``); a usage error if it
    cannot be had."""
    if not (opts.redis or settings.get("REDIS_URL")):
        raise UsageError("give the Redis URL: --redis redis://HOST:6379/0 (or -s REDIS_URL=)")
    try:
        return job_frontier(settings, job, opts.redis)
    except FrontierError as exc:  # a bad job name, redis-py missing
        raise UsageError(str(exc), print_help=False) from None
