"""The run record: what a run did, whether it completed, and what produced it.

Built from the crawl's stats at the very end of a run; written by the archive to
``runs/<start time>.json``. Its ``status`` is the crawl command's exit status.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from crawler import __version__ as PROJECT_VERSION
from crawler.core.keys import (
    PROJECT_STAT_PREFIXES,
    STAT_ARCHIVE_WRITE_ERRORS,
    STAT_CPU_PREFIX,
    STAT_FINISH_REASON,
    STAT_HOST_PREFIX,
    STAT_INPUT_COMPLETE,
    STAT_INPUT_ENTRIES,
    STAT_INPUT_SKIPPED,
    STAT_LOG_CRITICAL,
    STAT_MANIFEST_LINES,
    STAT_MEDIA_LINKS_SKIPPED,
    STAT_RECOVERY_PREFIX,
    STAT_RELATIVE_LINKS_SKIPPED,
    STAT_REQUESTS,
    STAT_REQUISITES_LINES,
    STAT_RESPONSES,
    STAT_SEEDS_LENIENT,
    STAT_SEEDS_READ,
    STAT_SEEDS_SKIPPED_PREFIX,
    STAT_SOURCES,
    STAT_SOURCES_FAILED,
    STAT_SPIDER_EXCEPTIONS,
    STAT_TEXT_FILES,
    STAT_WARC_FILES,
    STAT_WARC_RECORDS,
    STAT_WARC_WRITE_ERRORS,
    outcome_stat,
)
from crawler.core.outcomes import OUTCOMES
from crawler.core.timefmt import iso_utc

COMPLETE, INCOMPLETE, FAILED = "complete", "incomplete", "failed"

# Settings a reader of the run record needs to interpret the results, with their types
# (a value given on the command line arrives as a string).
RECORDED_SETTINGS: dict[str, type] = {
    "ARCHIVE_DIR": str, "USER_AGENT": str, "CRAWLER_CONTACT": str, "ROBOTSTXT_OBEY": bool,
    "ALLOW_PRIVATE_ADDRESSES": bool, "AUTOTHROTTLE_ENABLED": bool, "CONCURRENT_REQUESTS": int,
    "CONCURRENT_REQUESTS_PER_DOMAIN": int, "DOWNLOAD_TIMEOUT": float, "DOWNLOAD_MAXSIZE": int,
    "RETRY_TIMES": int, "RECRAWL_AFTER": str, "WARC_ENABLED": bool, "WARC_MAX_SIZE": int,
    "EXTRACT_ENABLED": bool, "TEXT_ENABLED": bool, "WAYBACK_ENABLED": bool,
    "WAYBACK_ENDPOINT": str, "CAPTURE": str, "CAPTURE_REQUISITES_MAX": int,
    "CAPTURE_REQUISITES_MAX_BYTES": int, "CAPTURE_REQUISITES_MAX_DEPTH": int,
}  # fmt: skip
VERSIONED = ("scrapy", "trafilatura", "htmldate", "extruct", "warcio", "w3lib", "twisted", "lxml",
             "py3langid")  # fmt: skip


def versions() -> dict[str, str]:
    found = {"newsarchiver": PROJECT_VERSION, "python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def run_status(stats: Mapping[str, Any]) -> tuple[str, list[str]]:
    """``complete`` when every input entry got its manifest line and nothing failed."""
    if stats.get(STAT_ARCHIVE_WRITE_ERRORS) or stats.get(STAT_WARC_WRITE_ERRORS):
        return FAILED, ["the archive could not be written"]
    problems = []
    reason = stats.get(STAT_FINISH_REASON)
    if reason != "finished":
        problems.append(f"crawl ended early ({reason})")
    if not stats.get(STAT_INPUT_COMPLETE):
        problems.append("the input was not read to the end")
    entries, lines = stats.get(STAT_INPUT_ENTRIES, 0), stats.get(STAT_MANIFEST_LINES, 0)
    skipped = stats.get(STAT_INPUT_SKIPPED, 0)
    if lines + skipped != entries:
        problems.append(
            f"{entries} input entries but {lines} manifest lines and {skipped} already archived"
        )
    if failed := stats.get(STAT_SOURCES_FAILED):
        problems.append(f"{failed} feed(s) or sitemap(s) could not be fetched or read")
    if stats.get(STAT_SPIDER_EXCEPTIONS) or stats.get(STAT_LOG_CRITICAL):
        problems.append("the crawl raised unexpected errors (see the log)")
    return (INCOMPLETE, problems) if problems else (COMPLETE, [])


# Hosts kept in the record: those the run spent the most download time on (a broad crawl
# touches thousands).
RECORDED_HOSTS = 100


def _hosts(stats: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per host (the RECORDED_HOSTS that took the most time): responses, seconds spent
    downloading them, the slowest one."""
    hosts: dict[str, dict[str, float]] = {}
    for key, value in stats.items():
        if key.startswith(STAT_HOST_PREFIX):
            host, _, what = key.removeprefix(STAT_HOST_PREFIX).rpartition("/")
            hosts.setdefault(host, {"requests": 0, "seconds": 0.0, "slowest": 0.0})[what] = value
    busiest = sorted(hosts.items(), key=lambda kv: -kv[1]["seconds"])[:RECORDED_HOSTS]
    return dict(sorted(busiest))


def _with_prefix(stats: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k.removeprefix(prefix): v for k, v in stats.items() if k.startswith(prefix)}


def _seeds(stats: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "read": stats.get(STAT_SEEDS_READ, 0),
        "read_leniently": stats.get(STAT_SEEDS_LENIENT, 0),
        "skipped": _with_prefix(stats, STAT_SEEDS_SKIPPED_PREFIX),
        "relative_links_skipped": stats.get(STAT_RELATIVE_LINKS_SKIPPED, 0),
        "media_links_skipped": stats.get(STAT_MEDIA_LINKS_SKIPPED, 0),
    }


def _access(stats: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "labels": {k.removeprefix("access/"): v for k, v in sorted(stats.items())
                   if k.count("/") == 1 and k.startswith("access/") and k != "access/retries"
                   and isinstance(v, int)},
        "paused_hosts": list(stats.get("access/paused_hosts", [])),
        "retries": stats.get("access/retries", 0),
    }  # fmt: skip


def _requisites(stats: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest lines' requisite counts summed, and the downloads behind them: each
    URL once per run (fetched, failed, skipped; revalidated by a 304, unchanged, shared
    by pages that needed one already taken), with why, their bytes and kinds."""
    lines = _with_prefix(stats, STAT_REQUISITES_LINES)
    downloads = {what: stats.get(f"requisites/{what}", 0) for what in (
        "fetched", "failed", "skipped", "revalidated", "unchanged", "shared", "bytes")}  # fmt: skip
    return {
        "pages": lines.get("pages", 0),
        "requisites": lines.get("total", 0),
        "fetched": lines.get("fetched", 0),
        "failed": lines.get("failed", 0),
        "skipped": lines.get("skipped", 0),
        "downloads": downloads,
        "failed_by": _with_prefix(stats, "requisites/failed/"),
        "skipped_by": _with_prefix(stats, "requisites/skipped/"),
        "kinds": _with_prefix(stats, "requisites/kind/"),
    }


def build_run_record(
    stats: Mapping[str, Any],
    *,
    started: datetime,
    finished: datetime,
    spider: str | None,
    arguments: Mapping[str, str],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The run record: status and problems, counts, WARC files, versions and settings
    (*settings*: the values of RECORDED_SETTINGS, typed)."""
    status, problems = run_status(stats)
    record: dict[str, Any] = {
        "started_at": iso_utc(started),
        "finished_at": iso_utc(finished),
        "spider": spider,
        "arguments": dict(arguments),
        "status": status,
        "problems": problems,
        "finish_reason": stats.get(STAT_FINISH_REASON),
        "versions": versions(),
        "settings": dict(settings),
        "input_entries": stats.get(STAT_INPUT_ENTRIES, 0),
        "manifest_lines": stats.get(STAT_MANIFEST_LINES, 0),
        "already_archived": stats.get(STAT_INPUT_SKIPPED, 0),
        "outcomes": {o: stats.get(outcome_stat(o), 0) for o in OUTCOMES},
        "requests": stats.get(STAT_REQUESTS, 0),
        "responses": stats.get(STAT_RESPONSES, 0),
        "warc_files": stats.get(STAT_WARC_FILES, []),
        "warc_records": stats.get(STAT_WARC_RECORDS, 0),
        "text_files": stats.get(STAT_TEXT_FILES, 0),
        "recovery": _with_prefix(stats, STAT_RECOVERY_PREFIX),
    }
    if STAT_SOURCES in stats:
        record["sources"] = stats[STAT_SOURCES]
    if STAT_SEEDS_READ in stats:
        record["seeds"] = _seeds(stats)
    record["hosts"] = _hosts(stats)
    # Where the CPU went: the crawler process, and within it or beside it extraction,
    # WARC writing and storage (seconds).
    record["cpu_seconds"] = {
        k.removeprefix(STAT_CPU_PREFIX): round(v, 3)
        for k, v in sorted(stats.items()) if k.startswith(STAT_CPU_PREFIX)
    }  # fmt: skip
    # What the captures gave access to (manifest lines per label), and the hosts paused
    # for answering with challenges or rate-limit pages.
    record["access"] = _access(stats)
    if stats.get(STAT_REQUISITES_LINES + "pages"):  # CAPTURE=requisites (or a site's)
        record["requisites"] = _requisites(stats)
    # Every counter of this project, for the questions the fields above do not answer.
    record["counters"] = {
        k: v for k, v in sorted(stats.items())
        if k.startswith(PROJECT_STAT_PREFIXES) and isinstance(v, int | float)
    }  # fmt: skip
    return record
