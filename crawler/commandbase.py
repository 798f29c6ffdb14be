"""What the offline commands share: their Scrapy command base, the archive a command
line names, and its index."""

from __future__ import annotations

import sys
from typing import Any

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings

from crawler.archive import Archive, ArchiveLockedError
from crawler.cdxindex import CdxIndexError
from crawler.storage import StorageError


class OfflineCommand(ScrapyCommand):
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
