"""Import paths of the project's components before the layout by concern, and where each
is now: a setting that names an old path fails at start-up with the new one in its
message (``EXTRACT_FUNCTION``, ``DOWNLOADER_MIDDLEWARES``, ``ITEM_PIPELINES``,
``EXTENSIONS``, ``SCHEDULER``, ``DOWNLOAD_HANDLERS``), rather than load nothing or, for a
component switched off with ``None``, silently stay on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RENAMED = {
    "crawler.extraction.extract_page": "crawler.extract.article.extract_page",
    "crawler.extraction.extract_article": "crawler.extract.article.extract_article",
    "crawler.wayback_flow.WaybackMiddleware": "crawler.downloadermiddlewares.wayback.WaybackMiddleware",
    "crawler.middlewares.AddressGuardMiddleware": "crawler.downloadermiddlewares.netguard.AddressGuardMiddleware",
    "crawler.middlewares.SharedRobotsTxtMiddleware": "crawler.downloadermiddlewares.robots.SharedRobotsTxtMiddleware",
    "crawler.middlewares.BackoffRetryMiddleware": "crawler.downloadermiddlewares.retry.BackoffRetryMiddleware",
    "crawler.middlewares.AccessRetryMiddleware": "crawler.downloadermiddlewares.access.AccessRetryMiddleware",
    "crawler.middlewares.CompressedBodyMiddleware": "crawler.downloadermiddlewares.compression.CompressedBodyMiddleware",
    "crawler.warc_capture.WarcCaptureMiddleware": "crawler.downloadermiddlewares.warc.WarcCaptureMiddleware",
    "crawler.extensions.ArchiveExtension": "crawler.extensions.archive.ArchiveExtension",
    "crawler.extensions.HostTimes": "crawler.extensions.hosttimes.HostTimes",
    "crawler.extensions.Progress": "crawler.extensions.progress.Progress",
    "crawler.distributed.RedisScheduler": "crawler.scheduler.RedisScheduler",
    "crawler.distributed.HostRateDownloadHandler": "crawler.scheduler.HostRateDownloadHandler",
}  # fmt: skip
# Settings that name components by import path: a dict (path -> order) or one path.
COMPONENT_SETTINGS = ("DOWNLOADER_MIDDLEWARES", "ITEM_PIPELINES", "EXTENSIONS",
                      "DOWNLOAD_HANDLERS", "SCHEDULER", "EXTRACT_FUNCTION")  # fmt: skip


class RenamedPathError(ValueError):
    """A setting names a component by the import path it had before it moved."""


def renamed_message(setting: str, path: str) -> str | None:
    """Why *path* (the value of *setting*, or one of its keys) no longer loads, naming
    where it is now; None when it is not an old path."""
    if path not in RENAMED:
        return None
    return f"{setting}: {path} has moved to {RENAMED[path]}; use the new path"


def check_settings(settings: Mapping[str, Any]) -> None:
    """Raise RenamedPathError for the first component setting naming an old path."""
    for name in COMPONENT_SETTINGS:
        value = settings.get(name)
        paths = [*value.keys(), *value.values()] if isinstance(value, Mapping) else [value]
        for path in paths:
            if isinstance(path, str) and (message := renamed_message(name, path)):
                raise RenamedPathError(message)
