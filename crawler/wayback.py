"""The Internet Archive's Wayback Machine: CDX lookups and raw captures (no fetching here).

A dead link is looked up in the CDX API for the 200 capture closest to a target date,
then the capture is fetched in its ``id_`` form (the archived bytes, without the
replay banner or rewritten links). Everything is fetched through Scrapy, so the
lookups and captures are archived and throttled like any other exchange.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

_TIMESTAMP = re.compile(r"^\d{4}(\d{2}){0,5}$")


class WaybackError(ValueError):
    """An answer from the archive that cannot be used."""


@dataclass(frozen=True, slots=True)
class Capture:
    timestamp: str  # 14 digits, UTC
    original: str  # the URL as the archive recorded it
    status: str | None = None
    digest: str | None = None
    mimetype: str | None = None

    @property
    def datetime(self) -> datetime:
        return timestamp_datetime(self.timestamp)


def normalize_timestamp(text: str | None) -> str | None:
    """``YYYYMMDD[hhmmss]`` (or an ISO date) as a 14-digit timestamp; None if empty.

    Raises WaybackError for anything else.
    """
    if not text:
        return None
    digits = re.sub(r"[-:T Z]", "", text.strip())[:14]
    if not _TIMESTAMP.match(digits) or len(digits) < 4:
        raise WaybackError(f"not a date: {text!r} (use YYYYMMDD or YYYYMMDDhhmmss)")
    stamp = digits.ljust(14, "0")
    if stamp[4:6] == "00":  # a year alone: mid-year would be arbitrary, use January 1st
        stamp = stamp[:4] + "01" + stamp[6:]
    if stamp[6:8] == "00":
        stamp = stamp[:6] + "01" + stamp[8:]
    timestamp_datetime(stamp)  # validates month/day ranges
    return stamp


def timestamp_datetime(stamp: str) -> datetime:
    try:
        return datetime.strptime(stamp[:14].ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise WaybackError(f"not a valid timestamp: {stamp!r}") from None


def now_timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


def cdx_query(endpoint: str, url: str, closest: str, limit: int = 5) -> str:
    """CDX API URL: 200 captures of *url*, closest to *closest* first."""
    params = {
        "url": url,
        "output": "json",
        "filter": "statuscode:200",
        "closest": closest,
        "sort": "closest",
        "limit": str(limit),
        "fl": "timestamp,original,statuscode,digest,mimetype",
    }
    return f"{endpoint.rstrip('/')}/cdx/search/cdx?{urlencode(params)}"


def parse_cdx(body: bytes) -> list[Capture]:
    """Captures of a CDX JSON answer (a header row, then one row per capture)."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return []
    try:
        rows = json.loads(text)
    except ValueError as exc:
        raise WaybackError(f"CDX answer is not JSON: {exc}") from None
    if not isinstance(rows, list) or not rows:
        return []
    header, *entries = rows
    if not isinstance(header, list) or "timestamp" not in header or "original" not in header:
        raise WaybackError(f"CDX answer has no header row: {header!r}")
    captures = []
    for row in entries:
        if not isinstance(row, list) or len(row) != len(header):
            continue
        fields = dict(zip(header, row, strict=True))
        if not _TIMESTAMP.match(str(fields["timestamp"])):
            continue
        captures.append(
            Capture(
                str(fields["timestamp"]),
                str(fields["original"]),
                fields.get("statuscode"),
                fields.get("digest"),
                fields.get("mimetype"),
            )
        )
    return captures


def closest_capture(captures: list[Capture], target: str) -> Capture | None:
    """The capture nearest *target* (the CDX server sorts too; do not rely on it)."""
    if not captures:
        return None
    when = timestamp_datetime(target)
    return min(captures, key=lambda c: abs((c.datetime - when).total_seconds()))


def worth_a_lookup(status: int | None) -> bool:
    """Whether a live failure is a dead link the archive may have: a network error
    (status None), 404, 410, 5xx after retries, or a soft 404 (status 200)."""
    return status is None or status in (200, 404, 410) or status >= 500


def memento_datetime(declared: str | None, capture: Capture) -> str:
    """When the archive captured a page: its ``Memento-Datetime`` header, else the CDX
    timestamp; ISO 8601 UTC."""
    when = None
    if declared:
        try:
            when = parsedate_to_datetime(declared).astimezone(UTC)
        except (TypeError, ValueError):
            when = None
    return (when or capture.datetime).strftime("%Y-%m-%dT%H:%M:%SZ")


def memento_url(endpoint: str, capture: Capture) -> str:
    """The raw capture: ``/web/<timestamp>id_/<original>``."""
    return f"{endpoint.rstrip('/')}/web/{capture.timestamp}id_/{capture.original}"
