"""Common Crawl's news archive (CC-NEWS) as a source: which WARC files hold a period, and
which of their records to keep.

Common Crawl lists the files of each month in ``crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz``
(one path a line); a file is named after the moment it was started,
``CC-NEWS-20240105143012-01234.warc.gz``, and holds what was fetched until the next one
started. A period therefore needs the listing of each of its months and of the month
before (its last file runs into the period), and of those files the ones whose window
overlaps it. Records are judged on their headers alone (:class:`RecordFilter`): type,
date, target host, URL patterns, HTTP status and Content-Type. No network here.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from crawler.sources.feeds import compile_patterns, url_allowed
from crawler.sources.sites import load_sources
from crawler.sources.urllists import InputFormatError

LISTING = "crawl-data/CC-NEWS/{month}/warc.paths.gz"
_FILE_NAME = re.compile(r"CC-NEWS-(\d{14})-\d+\.warc\.gz$")
# Media types that can hold an article (what the extraction stage reads as a page).
PAGE_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class Period:
    """From *start* (inclusive) to *end* (exclusive), UTC."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Period:
        """``since=`` and ``until=`` as given (``YYYY-MM-DD``, ``YYYYMMDD``, or an ISO time;
        a day given alone means the whole day). ValueError naming the bad one."""
        if not since:
            raise ValueError("since= is required (a date: 2024-01-01)")
        start = _when(since, "since")
        end = _when(until, "until", end_of_day=True) if until else start + timedelta(days=1)
        if end <= start:
            raise ValueError(f"until= ({until}) is before since= ({since})")
        return cls(start, end)

    def __contains__(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def months(self) -> list[str]:
        """``YYYY/MM`` of every month the period touches, and of the month before."""
        first = (self.start.replace(day=1) - timedelta(days=1)).replace(day=1)
        months, month = [], first
        while month < self.end:
            months.append(f"{month.year:04d}/{month.month:02d}")
            month = (month + timedelta(days=32)).replace(day=1)
        return months


def _when(text: str, name: str, *, end_of_day: bool = False) -> datetime:
    text = text.strip()
    for layout in ("%Y-%m-%d", "%Y%m%d"):
        try:
            day = datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        return day + timedelta(days=1) if end_of_day else day
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a date (2024-01-31) or ISO time") from None
    return when.replace(tzinfo=when.tzinfo or UTC).astimezone(UTC)


def parse_warc_date(value: str | None) -> datetime | None:
    """A record's ``WARC-Date`` (second or finer precision), or None if unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def parse_listing(data: bytes) -> list[str]:
    """The paths of a ``warc.paths.gz`` (gzip, or already inflated by the server)."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"unreadable listing: {exc}") from None
    return [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One WARC file of CC-NEWS: its path under the base URL, and when it was started."""

    path: str
    started: datetime

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def files_in_period(paths: Iterable[str], period: Period) -> list[SourceFile]:
    """The files whose window (from their start to the next file's) overlaps *period*,
    oldest first; paths that are not CC-NEWS file names are left out."""
    files = []
    for path in dict.fromkeys(paths):
        if match := _FILE_NAME.search(path):
            started = datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            files.append(SourceFile(path, started))
    files.sort(key=lambda f: (f.started, f.path))
    kept = []
    for index, file in enumerate(files):
        following = files[index + 1].started if index + 1 < len(files) else None
        if file.started < period.end and (following is None or following > period.start):
            kept.append(file)
    return kept


def read_sites(value: str | None) -> tuple[str, ...]:
    """``sites=``: hosts or registrable domains, comma-separated; or a file of them (one
    a line, ``#`` comments); or a sources file (``.toml``: its sites' hosts)."""
    if not value:
        return ()
    path = Path(value)
    if path.suffix == ".toml" and path.is_file():
        hosts = [host for site in load_sources(path) for host in sorted(site.hosts)]
    elif path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        hosts = [line.split("#", 1)[0].strip() for line in lines]
    else:
        hosts = value.split(",")
    names = []
    for host in hosts:
        host = host.strip().lower().rstrip(".")
        if "://" in host:
            host = urlsplit(host).hostname or ""
        host = host.removeprefix("www.")
        if host:
            names.append(host)
    if not names:
        raise InputFormatError(f"sites={value!r} names no host")
    return tuple(dict.fromkeys(names))


class RecordFilter:
    """Which records of a CC-NEWS file are pages to keep, judged on their headers alone.

    :meth:`skip` gives why a record is skipped (``not_response``, ``period``, ``site``,
    ``pattern``, ``status``, ``not_html``) or None to keep it.
    """

    def __init__(
        self,
        period: Period,
        sites: Iterable[str] = (),
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
    ) -> None:
        self.period = period
        self.sites = frozenset(sites)
        self.allow = compile_patterns(tuple(allow), "allow")
        self.deny = compile_patterns(tuple(deny), "deny")

    def site_matches(self, host: str) -> bool:
        """*host* is one of the sites, or under one of them (a registrable domain)."""
        if not self.sites:
            return True
        host = host.lower().rstrip(".")
        while True:
            if host in self.sites:
                return True
            if "." not in host:
                return False
            host = host.split(".", 1)[1]

    def skip(
        self,
        record_type: str,
        target: str | None,
        date: str | None,
        status: int | None,
        content_type: str | None,
    ) -> str | None:
        if record_type != "response" or not target:
            return "not_response"
        when = parse_warc_date(date)
        if when is None or when not in self.period:
            return "period"
        if not self.site_matches(urlsplit(target).hostname or ""):
            return "site"
        if not url_allowed(target, self.allow, self.deny):
            return "pattern"
        if status != 200:
            return "status"
        media_type = (content_type or "").split(";")[0].strip().lower()
        if media_type not in PAGE_TYPES:
            return "not_html"
        return None
