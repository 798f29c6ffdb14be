"""One URL-list entry as every reader of a list decides it: seq, id, and an outcome
decided before any fetch (invalid, or a repeat of an earlier entry).

The urls spider (a crawl) and ``scrapy enqueue`` (a distributed job) both read lists
through :class:`EntryClassifier`, so an entry gets the same seq, id, error text and date
whichever way it is crawled.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.core.identity import format_seq, url_id
from crawler.core.items import PageRef
from crawler.core.outcomes import DUPLICATE, ERROR
from crawler.core.timefmt import normalize_timestamp
from crawler.sources.urllists import InputEntry


@dataclass(frozen=True, slots=True)
class ListEntry:
    """An entry with its page; ``outcome`` set when it is decided without a fetch."""

    page: PageRef
    outcome: str | None = None  # ERROR (invalid input) or DUPLICATE
    error: str | None = None
    date_error: str | None = None  # the entry's date column could not be read (dropped)


class EntryClassifier:
    """Classifies the entries of one list in order (it remembers the ids seen)."""

    def __init__(self) -> None:
        # Canonical id (as an int, 8 bytes of key) -> seq of its first occurrence.
        self.first_seen: dict[int, str] = {}

    def classify(self, entry: InputEntry) -> ListEntry:
        seq = format_seq(entry.position)
        id_ = url_id(entry.url or entry.raw)
        if entry.url is None:
            error = f"invalid input (line {entry.line}): {entry.error}"
            return ListEntry(PageRef(entry.raw, id_, seq), ERROR, error)
        key = int(id_, 16)
        if key in self.first_seen:
            error = f"duplicate of seq {self.first_seen[key]} (id {id_})"
            return ListEntry(PageRef(entry.url, id_, seq), DUPLICATE, error)
        self.first_seen[key] = seq
        date, date_error = None, None
        try:
            date = normalize_timestamp(entry.fields.get("date"))
        except ValueError as exc:
            date_error = str(exc)
        return ListEntry(PageRef(entry.url, id_, seq, date=date), date_error=date_error)
