"""Frozen dataclasses that cross pipeline stages.

Data flows one way: the spider names an input URL with a :class:`PageRef` and turns its
response into a :class:`FetchedPage`; the extraction stage attaches an
:class:`Article`, the text-dump stage a ``text_file``, and the manifest stage writes one
line (crawler.core.manifest). Stages never mutate an item; they return
``dataclasses.replace(item, ...)``. The small records in between (:class:`WaybackPlan`,
:class:`LiveAttempt`, :class:`Memento`, :class:`WaybackMiss`, :class:`EarlierCapture`)
travel in ``request.meta`` under the keys of :mod:`crawler.core.keys`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawler.core.identity import url_id
from crawler.core.timefmt import timestamp_datetime


@dataclass(frozen=True, slots=True)
class PageRef:
    """An input URL: who it is (id, seq, file names) and how it came in."""

    url: str  # as given in the input (stripped), or as found in a document or feed
    id: str
    seq: str
    via: str | None = None  # discovered URLs: the seed file, or the id of the linking document
    date: str | None = None  # the URL's own date (14-digit timestamp): its Wayback target
    depth: int = 0  # 0: an input; n: found n links away from a seed document


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
class EarlierCapture:
    """The last full capture of a URL: what a revisit record refers to, and its dump."""

    uri: str
    date: str
    record_id: str | None
    payload_digest: str
    text_file: str | None = None


@dataclass(frozen=True, slots=True)
class Capture:
    """One row of the Internet Archive's CDX answer: a capture of a URL."""

    timestamp: str  # 14 digits, UTC
    original: str  # the URL as the archive recorded it
    status: str | None = None
    digest: str | None = None
    mimetype: str | None = None

    @property
    def datetime(self) -> datetime:
        return timestamp_datetime(self.timestamp)


@dataclass(frozen=True, slots=True)
class Access:
    """What a capture gives access to (crawler.extract.access): full, teaser, ..."""

    label: str
    evidence: str | None = None  # "rule-name: matched text"; None for a plain full page


@dataclass(frozen=True, slots=True)
class GroupMatch:
    """An article's group (its own id when it has no copy), its similarity to the group's
    first-seen member, ``exact``/``near`` (None when alone), and how it relates to that
    member: ``same`` text, a ``near`` copy, one that ``contains`` it (extended) or is
    ``contained_in`` it (cut short), with the estimated containment of the smaller text
    in the larger."""

    group: str
    similarity: float
    kind: str | None = None
    relation: str | None = None
    containment: float | None = None


@dataclass(frozen=True, slots=True)
class WaybackPlan:
    """How a page request uses the Internet Archive (spiders whose inputs are articles)."""

    as_of: str | None = None  # archive first: the capture closest to this 14-digit timestamp
    live_fallback: bool = False  # with as_of: fetch live what the archive does not have


@dataclass(frozen=True, slots=True)
class LiveAttempt:
    """A live fetch that failed, and the evidence it left (kept on the manifest line)."""

    error: str  # ``HTTP 404 Not Found``, ``soft 404: ...``, ``DNSLookupError: ...``
    status: int | None = None
    final_url: str | None = None
    fetched_at: str | None = None
    warc: WarcPointer | None = None


CDX, MEMENTO, LIVE = "cdx", "memento", "live"


@dataclass(frozen=True, slots=True)
class WaybackStep:
    """Where a page is in the Internet Archive flow (``META_WAYBACK_STEP``)."""

    kind: str  # cdx | memento: a request to the archive; live: fetched live after it
    live: LiveAttempt | None = None  # the live failure that sent the page to the archive
    target: str = ""  # the 14-digit timestamp the capture should be closest to
    capture: Capture | None = None  # memento: the capture being fetched
    reason: str | None = None  # live: why the archive had nothing

    @property
    def asks_archive(self) -> bool:
        return self.kind in (CDX, MEMENTO)


@dataclass(frozen=True, slots=True)
class Memento:
    """A page recovered from the Internet Archive instead of the live web."""

    url: str  # the raw capture fetched (``/web/<timestamp>id_/<url>``)
    datetime: str  # when the archive captured it, ISO 8601 UTC
    live_error: str | None = None  # why it was not taken live (None: as_of asked first)


@dataclass(frozen=True, slots=True)
class WaybackMiss:
    """Neither the live web nor the archive gave the page: the final failure."""

    live: LiveAttempt | None  # None: not fetched live (as_of without live_fallback)
    reason: str  # why the archive had nothing

    @property
    def error(self) -> str:
        live = self.live.error if self.live else "not fetched (as_of)"
        return f"live: {live}; wayback: {self.reason}"


# Between an article and its reader comments in a dump (EXTRACT_COMMENTS).
COMMENTS_SEPARATOR = "---\n\n## Reader comments"


def article_text(body: str) -> str:
    """The article of a dump's body, its reader comments left out (what is signed for
    syndication groups)."""
    return body.split(f"\n\n{COMMENTS_SEPARATOR}\n\n", 1)[0]


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
    comments: str | None = None  # reader comments, markdown (only with EXTRACT_COMMENTS)
    authors: tuple[str, ...] = ()  # the names ``author`` joins with "; "
    lastmod: str | None = None  # when the page says it was last modified (ISO 8601)
    section: str | None = None
    image: str | None = None  # the featured image's URL
    image_alt: str | None = None
    # Where title, authors and date came from (crawler.extract.metadata.SOURCES), and
    # which candidate the body is (crawler.extract.article.BODY_SOURCES).
    title_source: str | None = None
    authors_source: str | None = None
    date_source: str | None = None
    body_source: str | None = None
    extractor: str | None = None  # the extraction rules' version and trafilatura's
    # Words (comments not counted) and MinHash of the text, for groups: computed by the
    # extraction stage where the article is made (a worker), not in the crawler process.
    words: int = field(default=0, compare=False)
    minhash: tuple[int, ...] = field(default=(), compare=False, repr=False)
    shingles: int = field(default=0, compare=False)  # distinct 5-word shingles signed

    @property
    def body(self) -> str:
        """The dump's body: the article, then the comments under a separator of their own."""
        if not self.comments:
            return self.text
        return f"{self.text}\n\n{COMMENTS_SEPARATOR}\n\n{self.comments}"


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """How pages are extracted (settings ``EXTRACT_*``); passed to every extraction."""

    min_paragraph_words: int = 0  # below this in every paragraph, a page holds no article
    comments: bool = False  # keep reader comments, after the article
    access_rules: str = ""  # a user's access rules file, read before the built-in ones
    requisites: bool = False  # also list the page's requisites (Extraction.requisites)


@dataclass(frozen=True, slots=True)
class Extraction:
    """What extracting one page gave: the article (or None), its main-content links, and
    the character encoding the page was decoded with."""

    article: Article | None
    links: tuple[FoundLink, ...] = ()
    encoding: str | None = None
    access: Access | None = None  # what the page gives access to (crawler.extract.access)
    requisites: tuple[FoundRequisite, ...] | None = None  # when ExtractOptions.requisites


@dataclass(frozen=True, slots=True)
class FoundLink:
    """A link found in a seed document or in an article's main content."""

    url: str  # absolute
    anchor: str = ""
    # The linked URL's id, computed where the link is found (for an article's links, an
    # extraction worker): canonicalising URLs is not cheap.
    id: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", url_id(self.url))


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a page read from another archive came from (CC-NEWS): the source WARC file
    (its path under the source's base URL) and the byte offset of its response record."""

    file: str
    offset: int


@dataclass(frozen=True, slots=True)
class SourceRecords:
    """A page's original records as the source archive wrote them (request, response,
    metadata: each its gzip member, byte for byte) and which of them is the response;
    copied into this archive's WARC before its manifest line is written."""

    members: tuple[bytes, ...] = field(repr=False)
    response: int  # index of the response record in members
    source_url: str  # the source WARC file's URL, recorded beside the copy


@dataclass(frozen=True, slots=True)
class SourceDone:
    """A source file (one job entry, a CC-NEWS WARC file) read to its end and every page
    from it recorded: the item that acknowledges its entry (no manifest line)."""

    page: PageRef

    @property
    def id(self) -> str:
        return self.page.id


@dataclass(frozen=True, slots=True)
class FoundRequisite:
    """A resource a page needs to look as it did (``CAPTURE=requisites``): its absolute
    URL (no fragment) and kind (crawler.extract.requisites.KINDS)."""

    url: str
    kind: str


@dataclass(frozen=True, slots=True)
class RequisiteCounts:
    """A page's requisites (its manifest line): fetched (or revalidated, or already
    captured in this crawl), failed (an error status, a network error) and skipped (a
    limit, robots.txt, the address guard); ``total`` is their sum."""

    fetched: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.fetched + self.failed + self.skipped


@dataclass(frozen=True, slots=True)
class RequisiteCapture:
    """The last full capture of a requisite (the state store keeps one per URL): what a
    later run's conditional GET sends and its revisit record refers to, and the
    requisites it references itself (a stylesheet's, a frame's), read when it was
    fetched, so a ``304 Not Modified`` still leads to them."""

    uri: str
    date: str
    record_id: str | None
    payload_digest: str
    etag: str | None = None
    last_modified: str | None = None
    children: tuple[FoundRequisite, ...] = ()

    @property
    def earlier(self) -> EarlierCapture:
        return EarlierCapture(self.uri, self.date, self.record_id, self.payload_digest)


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """One input URL and what happened to it, as it moves through the pipelines.

    ``body`` is the decoded-transfer, decompressed body (Content-Encoding removed);
    the bytes exactly as received are in the WARC record ``warc`` points to.
    """

    page: PageRef
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
    memento: Memento | None = None  # source "wayback": the capture taken instead
    links: tuple[FoundLink, ...] = ()  # links in the main content (set by extraction)
    encoding: str | None = None  # the charset the body was decoded with (set by extraction)
    access: Access | None = None  # full, teaser, challenge, ... (downloader or extraction)
    group: GroupMatch | None = None  # its syndication group (GroupPipeline)
    dump_sha256: str | None = None  # SHA-256 of the whole dump file (TextDumpPipeline)
    origin: Origin | None = None  # read from another archive (source "ccnews"): from where
    records: SourceRecords | None = field(default=None, repr=False)  # its records, to copy
    capture: str | None = None  # html, requisites, browser (a site's own); None: CAPTURE
    found_requisites: tuple[FoundRequisite, ...] | None = None  # (extraction, when asked)
    requisites: RequisiteCounts | None = None  # what became of them (RequisitesPipeline)
    rendered: bool | None = None  # True: extracted from the DOM a browser rendered

    @property
    def url(self) -> str:
        return self.page.url

    @property
    def id(self) -> str:
        return self.page.id

    @property
    def seq(self) -> str:
        return self.page.seq


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """One line of ``links.jsonl``: who linked what."""

    from_: str  # seed file (relative path) or the id of the linking document
    to: str  # id of the linked URL
    url: str
    anchor: str
