"""Dates as pages state them: parsed (ISO 8601, RFC 2822, a leading day, compact
digits), judged plausible for a publication, and read from a URL (``/2024/03/05/``).

Plain functions on strings, no HTML: crawler.extract.metadata decides between the dates
a page states with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# A page's publication date before this is a mistake (the web's first news sites).
EARLIEST = datetime(1994, 1, 1, tzinfo=UTC)


# Dates: ISO 8601 (what structured data should hold), RFC 2822 (what some feeds-minded
# CMSs put there), and a leading YYYY-MM-DD / YYYY/MM/DD.
_LEADING_DAY = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})(?:T?(\d{2})(\d{2})(\d{2})?)?\s*$")


@dataclass(frozen=True, slots=True)
class When:
    """A parsed date: the instant (UTC when the zone is known) and how precisely the
    page stated it."""

    moment: datetime
    has_time: bool
    has_zone: bool

    def iso(self) -> str:
        if not self.has_time:
            return self.moment.date().isoformat()
        return self.moment.isoformat()

    @property
    def day(self) -> str:
        return self.moment.date().isoformat()


def parse_date(value: str | None) -> When | None:
    """A stated date as a :class:`When`, or None when it is not one."""
    if not value:
        return None
    text = value.strip()
    if compact := _COMPACT.match(text):
        y, mo, d, h, mi, s = compact.groups()
        try:
            moment = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
        except ValueError:
            return None
        return When(moment, h is not None, False)
    candidate = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d\d-\d\d \d", text) else text
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    candidate = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", candidate)  # +0000 -> +00:00
    candidate = re.sub(r"(\.\d{6})\d+", r"\1", candidate)  # nanoseconds
    try:
        moment = datetime.fromisoformat(candidate)
        return When(moment, "T" in candidate, moment.tzinfo is not None)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
        return When(moment, True, moment.tzinfo is not None)
    except (TypeError, ValueError, IndexError):
        pass
    if day := _LEADING_DAY.match(text):
        try:
            return When(datetime(*(int(g) for g in day.groups())), False, False)
        except ValueError:
            return None
    return None


def plausible(when: When | None, now: datetime | None = None) -> bool:
    """Neither in the future (beyond a day: zones) nor before :data:`EARLIEST`."""
    if when is None:
        return False
    now = now or datetime.now(UTC)
    moment = when.moment if when.moment.tzinfo else when.moment.replace(tzinfo=UTC)
    return EARLIEST <= moment <= now + timedelta(days=1)


_URL_DATE = re.compile(
    r"/((?:19|20)\d\d)[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?=[/_.-]|$)"
)


def url_date(url: str) -> When | None:
    """The full date a URL holds (``/2024/03/05/``, ``/2024-03-05-story``), if any."""
    match = _URL_DATE.search(url.split("?")[0])
    if not match:
        return None
    try:
        return When(datetime(*(int(g) for g in match.groups())), False, False)
    except ValueError:
        return None
