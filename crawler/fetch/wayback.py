"""The Internet Archive's Wayback Machine: CDX lookups and raw captures (no fetching here).

A dead link is looked up in the CDX API for the 200 capture closest to a target date,
then the capture is fetched in its ``id_`` form (the archived bytes, without the
replay banner or rewritten links). Everything is fetched through Scrapy, so the
lookups and captures are archived and throttled like any other exchange.
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from crawler.core.items import Capture
from crawler.core.timefmt import iso_utc, timestamp, timestamp_datetime

_TIMESTAMP = re.compile(r"^\d{4}(\d{2}){0,5}$")


class WaybackError(ValueError):
    """An answer from the archive that cannot be used."""


def now_timestamp() -> str:
    return timestamp()


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
    return iso_utc(when or capture.datetime)


def memento_url(endpoint: str, capture: Capture) -> str:
    """The raw capture: ``/web/<timestamp>id_/<original>``."""
    return f"{endpoint.rstrip('/')}/web/{capture.timestamp}id_/{capture.original}"
