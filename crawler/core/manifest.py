"""One line of ``manifest.jsonl``: its fields in the order of the output contract, and a
finished page as one (:func:`manifest_record`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.core.identity import text_digest
from crawler.core.items import Article, FetchedPage
from crawler.core.outcomes import ERROR


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
    encoding: str | None
    source: str | None
    via: str | None = None
    memento_url: str | None = None
    memento_datetime: str | None = None
    access: str | None = None  # full, teaser, consent_wall, challenge, rate_limited, soft_404
    access_evidence: str | None = None  # the rule that fired and what it matched
    group: str | None = None  # id of the first-seen article of its syndication group
    similarity: float | None = None  # estimated Jaccard similarity to that article
    group_kind: str | None = None  # exact / near copy of it; absent for the first-seen one
    group_relation: str | None = None  # same, near, contains, contained_in (that article)
    containment: float | None = None  # estimated share of the smaller text in the larger
    dump_sha256: str | None = None  # SHA-256 of the whole dump file, front matter included
    # The article's metadata beyond title/date/author (crawler.extract.metadata), and
    # where title, authors and date came from (jsonld, microdata, opengraph, meta, time,
    # htmldate, trafilatura, url).
    authors: list[str] | None = None
    lastmod: str | None = None
    section: str | None = None
    tags: list[str] | None = None
    description: str | None = None
    image: str | None = None
    image_alt: str | None = None
    title_source: str | None = None
    authors_source: str | None = None
    date_source: str | None = None
    body_source: str | None = None
    extractor: str | None = None  # the extraction rules' version and trafilatura's
    # A page read from another archive (source "ccnews"): the source WARC file (its path
    # under CCNEWS_BASE) and the offset of its response record there.
    source_file: str | None = None
    source_offset: int | None = None
    # CAPTURE=requisites/browser: the page's requisites, and what became of them.
    requisites: int | None = None
    requisites_fetched: int | None = None  # fetched, revalidated or already captured
    requisites_failed: int | None = None  # an error status or a network error
    requisites_skipped: int | None = None  # a limit, robots.txt, the address guard
    rendered: bool | None = None  # True: the article came from a browser's rendered DOM


MANIFEST_FIELDS = tuple(ManifestRecord.__dataclass_fields__)
# What grouping adds to a line.
GROUP_FIELDS = ("group", "similarity", "group_kind", "group_relation", "containment")
# What capturing a page's requisites (or rendering it) adds to a line.
CAPTURE_FIELDS = (
    "requisites", "requisites_fetched", "requisites_failed", "requisites_skipped", "rendered",
)  # fmt: skip
# What an article's metadata adds to a line (left out where there is no article).
ARTICLE_FIELDS = (
    "authors", "lastmod", "section", "tags", "description", "image", "image_alt",
    "title_source", "authors_source", "date_source", "body_source", "extractor",
)  # fmt: skip
# Where a page read from another archive came from (left out for live pages).
ORIGIN_FIELDS = ("source_file", "source_offset")


def _article_fields(article: Article | None) -> dict[str, Any]:
    """The ARTICLE_FIELDS of a line: the article's, lists as lists (None when empty)."""
    if article is None:
        return {}
    fields = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    return {**fields, "authors": list(article.authors) or None, "tags": list(article.tags) or None}


def manifest_record(item: FetchedPage) -> ManifestRecord:
    """The manifest line of a finished page (no outcome decided is an error, never lost)."""
    article, warc, memento, counts = item.article, item.warc, item.memento, item.requisites
    return ManifestRecord(
        id=item.id,
        seq=item.seq,
        url=item.url,
        final_url=item.final_url,
        status=item.status,
        outcome=item.outcome or ERROR,
        error=item.error if item.outcome else (item.error or "no outcome decided"),
        text_file=item.text_file,
        warc_file=warc.filename if warc else None,
        warc_offset=warc.offset if warc else None,
        fetched_at=item.fetched_at,
        title=article.title if article else None,
        date=article.date if article else None,
        author=article.author if article else None,
        sitename=article.sitename if article else None,
        language=article.language if article else None,
        words=article.words if article else None,
        text_sha256=text_digest(article.body) if article else None,
        encoding=item.encoding,
        source=item.source,
        source_file=item.origin.file if item.origin else None,
        source_offset=item.origin.offset if item.origin else None,
        via=item.page.via,
        memento_url=memento.url if memento else None,
        memento_datetime=memento.datetime if memento else None,
        access=item.access.label if item.access else None,
        access_evidence=item.access.evidence if item.access else None,
        group=item.group.group if item.group else None,
        similarity=item.group.similarity if item.group else None,
        group_kind=item.group.kind if item.group else None,
        group_relation=item.group.relation if item.group else None,
        containment=item.group.containment if item.group else None,
        dump_sha256=item.dump_sha256,
        **_article_fields(article),
        requisites=counts.total if counts else None,
        requisites_fetched=counts.fetched if counts else None,
        requisites_failed=counts.failed if counts else None,
        requisites_skipped=counts.skipped if counts else None,
        rendered=item.rendered,
    )
