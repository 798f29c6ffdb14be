"""Retry timing: exponential back-off and the ``Retry-After`` header (RFC 9110 10.2.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def backoff_delay(attempt: int, base: float, maximum: float) -> float:
    """Seconds to wait before retry *attempt* (1-based): base, 2*base, 4*base, ... capped."""
    if attempt < 1 or base <= 0:
        return 0.0
    return min(maximum, base * 2 ** (attempt - 1))


def parse_retry_after(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` value (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
