"""Frozen dataclasses that cross pipeline stages.

Data flows one way: the spider builds a :class:`FetchedPage`, the extraction stage
attaches an :class:`Article`, the text-dump stage a ``text_file``, and the manifest
stage turns the result into one :class:`ManifestRecord` line. Stages never mutate an
item; they return ``dataclasses.replace(item, ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Manifest outcomes (DESIGN.md section 1).
OK = "ok"
NO_TEXT = "no_text"
ERROR = "error"
BLOCKED = "blocked"
DUPLICATE = "duplicate"
UNCHANGED = "unchanged"
OUTCOMES = (OK, NO_TEXT, ERROR, BLOCKED, DUPLICATE, UNCHANGED)


@dataclass(frozen=True, slots=True)
class WarcPointer:
    """Where the evidence of an exchange is: the response record of the final hop."""

    filename: str  # file name of the closed WARC (without ``.open``), relative to ``warc/``
    offset: int  # byte offset of the response record's gzip member
    record_id: str  # ``<urn:uuid:...>`` of the response record
    payload_digest: str | None = None  # ``sha1:<base32>``, as in WARC-Payload-Digest
    date: str | None = None  # WARC-Date of the record
    revisit: bool = False  # a revisit record: payload identical to an earlier capture


@dataclass(frozen=True, slots=True)
class Article:
    """What extraction found in a page: markdown body plus metadata."""

    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None  # canonical URL declared by the page, if any
    sitename: str | None = None
    description: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """One input URL and what happened to it, as it moves through the pipelines.

    ``body`` is the decoded-transfer, decompressed body (Content-Encoding removed);
    the bytes exactly as received are in the WARC record ``warc`` points to.
    """

    url: str  # as given in the input (stripped)
    id: str
    seq: str
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    body: bytes | None = field(default=None, repr=False)
    fetched_at: str | None = None
    warc: WarcPointer | None = None
    outcome: str | None = None  # set by whichever stage decides it
    error: str | None = None
    article: Article | None = None
    text_file: str | None = None
    source: str = "live"
    via: str | None = None
    depth: int = 0  # 0: an input; n: found n links away from a seed document
    memento_url: str | None = None  # source "wayback": the capture fetched
    memento_datetime: str | None = None  # source "wayback": when it was captured (UTC)
    links: tuple[FoundLink, ...] = ()  # links in the main content (set by extraction)


@dataclass(frozen=True, slots=True)
class FoundLink:
    """A link found in a seed document or in an article's main content."""

    url: str  # absolute
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """One line of ``links.jsonl``: who linked what."""

    from_: str  # seed file (relative path) or the id of the linking document
    to: str  # id of the linked URL
    url: str
    anchor: str


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    """One line of ``manifest.jsonl`` (field order is the output contract)."""

    id: str
    seq: str
    url: str
    final_url: str | None
    status: int | None
    outcome: str
    error: str | None
    text_file: str | None
    warc_file: str | None
    warc_offset: int | None
    fetched_at: str | None
    title: str | None
    date: str | None
    author: str | None
    sitename: str | None
    language: str | None
    words: int | None
    text_sha256: str | None
    source: str | None
    via: str | None = None
    memento_url: str | None = None
    memento_datetime: str | None = None
