"""Text dumps: the seed-document form (strict YAML front matter, then the article body).

Rendering a page's dump and reading one back; no extraction here, so the crawler process
(which writes dumps) and the offline readers never import trafilatura.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from crawler.core.items import Article, FetchedPage


def front_matter(
    article: Article,
    *,
    source_url: str,
    final_url: str | None,
    provenance: Mapping[str, Any],
    encoding: str | None = None,
) -> dict[str, Any]:
    """Front-matter fields in contract order; unknown (None/empty) fields are left out."""
    image = {"image": article.image, "alt": article.image_alt or ""} if article.image else None
    fields: dict[str, Any] = {
        "title": article.title,
        "author": article.author,
        "authors": list(article.authors),
        "date": article.date,
        "lastmod": article.lastmod,
        "url": article.url or final_url or source_url,
        "source_url": source_url,
        "sitename": article.sitename,
        "section": article.section,
        "description": article.description,
        "featured_image": image,
        "language": article.language,
        "encoding": encoding,
        "tags": list(article.tags),
        "title_source": article.title_source,
        "authors_source": article.authors_source,
        "date_source": article.date_source,
        "body_source": article.body_source,
        "extractor": article.extractor,
        **provenance,
    }
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


def page_dump(item: FetchedPage) -> str:
    """The text dump of an extracted page: its front matter with provenance, and the body."""
    assert item.article is not None
    provenance: dict[str, Any] = {"fetched_at": item.fetched_at}
    if item.memento is not None:
        provenance["source"] = item.source
        provenance["memento_url"] = item.memento.url
        provenance["memento_datetime"] = item.memento.datetime
    if item.origin is not None:  # read from another archive (CC-NEWS): from where
        provenance["source"] = item.source
        provenance["source_file"] = item.origin.file
        provenance["source_offset"] = item.origin.offset
    if item.warc is not None:
        provenance["warc_file"] = item.warc.filename
        provenance["warc_record_id"] = item.warc.record_id
    if item.access is not None:
        provenance["access"] = item.access.label
        provenance["access_evidence"] = item.access.evidence
    # A capture from the archive is the page at its own URL: the memento stays provenance.
    final_url = item.url if item.memento is not None else item.final_url
    fields = front_matter(
        item.article, source_url=item.url, final_url=final_url, provenance=provenance,
        encoding=item.encoding,
    )  # fmt: skip
    return render_dump(fields, item.article.body)


# libyaml's emitter and parser when PyYAML has them: the pure-Python ones cost
# milliseconds a page.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def render_dump(fields: Mapping[str, Any], body: str) -> str:
    """``---`` + strict YAML front matter + ``---`` + blank line + body + newline."""
    header = yaml.dump(
        dict(fields),
        Dumper=_DUMPER,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
        default_flow_style=False,
    )
    return f"---\n{header}---\n\n{body.strip()}\n"


def split_dump(text: str) -> tuple[dict[str, Any], str]:
    """A text dump's front matter and body (as hashed in the manifest's ``text_sha256``).

    The inverse of :func:`render_dump`; raises ValueError for text that is not a dump.
    """
    if not text.startswith("---\n"):
        raise ValueError("not a text dump: no front matter at the top")
    end = text.find("\n---\n\n", 3)  # the closing fence, at the start of a line
    if end < 0:
        raise ValueError("not a text dump: the front matter is not closed")
    fields = yaml.load(text[4 : end + 1], Loader=_LOADER)
    if not isinstance(fields, dict):
        raise ValueError("not a text dump: the front matter is not a mapping")
    return fields, text[end + 6 :].removesuffix("\n")
