"""Times and durations as the archive writes them: ISO 8601 UTC, 14-digit timestamps,
``RECRAWL_AFTER`` durations. One format each, written in one place."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # manifest fetched_at, run records, WACZ, datasheets
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"  # WARC file names, Wayback timestamps
RUN_NAME_FORMAT = "%Y%m%dT%H%M%SZ"  # runs/<name>.json, reports/<name>.html

_TIMESTAMP_DIGITS = re.compile(r"^\d{4}(\d{2}){0,5}$")
# RECRAWL_AFTER's upper bound: beyond it a duration means "never" and says so instead.
MAX_DURATION = timedelta(days=365 * 1000)


def iso_utc(when: datetime | None = None) -> str:
    """*when* (default: now) as ``2026-11-22T01:02:03Z``."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime(ISO_FORMAT)


def parse_iso_utc(text: str) -> datetime:
    """An :func:`iso_utc` string back to an aware datetime (ValueError if it is not one)."""
    return datetime.strptime(text, ISO_FORMAT).replace(tzinfo=UTC)


def timestamp(when: datetime | None = None) -> str:
    """*when* (default: now) as 14 digits, UTC: ``20261122010203``."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def run_name(started: datetime) -> str:
    """A run record's name: its start, ``20261122T010203Z`` (UTC)."""
    return started.astimezone(UTC).strftime(RUN_NAME_FORMAT)


def timestamp_datetime(stamp: str) -> datetime:
    """A 14-digit timestamp (shorter ones padded with zeros) as an aware datetime;
    ValueError if it is not one."""
    try:
        return datetime.strptime(stamp[:14].ljust(14, "0"), TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"not a valid timestamp: {stamp!r}") from None


def normalize_timestamp(text: str | None) -> str | None:
    """``YYYYMMDD[hhmmss]`` (or an ISO date) as a 14-digit timestamp; None if empty.
    ValueError for anything else (a list's ``date`` column, ``-a as_of=``)."""
    if not text:
        return None
    digits = re.sub(r"[-:T Z]", "", text.strip())[:14]
    if not _TIMESTAMP_DIGITS.match(digits) or len(digits) < 4:
        raise ValueError(f"not a date: {text!r} (use YYYYMMDD or YYYYMMDDhhmmss)")
    stamp = digits.ljust(14, "0")
    if stamp[4:6] == "00":  # a year alone: mid-year would be arbitrary, use January 1st
        stamp = stamp[:4] + "01" + stamp[6:]
    if stamp[6:8] == "00":
        stamp = stamp[:6] + "01" + stamp[8:]
    timestamp_datetime(stamp)  # validates month/day ranges
    return stamp


def parse_duration(value: str | float | int | None) -> timedelta | None:
    """``RECRAWL_AFTER`` values: seconds, or a number with s/m/h/d; empty, 0 or never = never."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = "" if value is None else str(value).strip().lower()
    if isinstance(value, bool) or not isinstance(value, str | int | float | None):
        raise ValueError(f"invalid duration {value!r}: use seconds or a number with s, m, h or d")
    if text in ("", "0", "never"):
        return None
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except ValueError:
        raise ValueError(
            f"invalid duration {text!r}: use seconds or a number with s, m, h or d"
        ) from None
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"invalid duration {text!r}: must be a number of seconds from 0 to "
                         f"{MAX_DURATION.days} days")  # fmt: skip
    return timedelta(seconds=seconds) if seconds else None
