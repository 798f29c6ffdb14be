"""Article extraction with trafilatura, and the text-dump rendering.

Reads: response body bytes + Content-Type + URL. Writes nothing: returns an
:class:`~crawler.items.Extraction` (the :class:`~crawler.items.Article`, or None when
the page holds no article; its main-content links; the encoding used) and renders the
seed-form text dump (YAML front matter, then the markdown body).

The body is decoded exactly once (:mod:`crawler.decoding`: BOM, HTTP charset,
``<meta charset>``, detection when the declared charset does not fit the bytes), so
re-extracting from a WARC record gives the same text as the live crawl.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import trafilatura
import yaml
from trafilatura.utils import normalize_unicode
from trafilatura.xml import xmltotxt

from crawler.decoding import decode_html
from crawler.items import Article, Extraction, ExtractOptions, FetchedPage
from crawler.language import detect_language
from crawler.links import LinkRules, markdown_links
from crawler.prose import has_prose

_HEADING_RE = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


class ExtractionError(Exception):
    """trafilatura failed on a page (a bug or a pathological document), not 'no article'."""


def quiet_trafilatura_logging() -> None:
    """trafilatura logs empty pages at WARNING/ERROR; for a crawler they are an outcome
    (``no_text``), so they must not count as crawl errors."""
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _strip_title_heading(text: str, title: str | None) -> str:
    """Drop a leading markdown heading that only repeats the title (it is in the front matter)."""
    if not title:
        return text
    first, _, rest = text.partition("\n")
    match = _HEADING_RE.match(first.strip())
    if match and match.group(1).strip().casefold() == title.strip().casefold():
        return rest.lstrip("\n")
    return text


def _markdown(tree: Any) -> str:
    # The same steps as trafilatura.core.determine_returnstring for markdown, minus the
    # metadata header (ours is the YAML front matter).
    return normalize_unicode(xmltotxt(tree, True)).strip()


def _tags(*groups: list[str] | None) -> tuple[str, ...]:
    """Tags and categories, one per item: trafilatura joins a page's keywords with
    commas (``'transport, infrastructure'``)."""
    found: list[str] = []
    for group in groups:
        for joined in group or ():
            for tag in joined.split(","):
                if (tag := tag.strip()) and tag not in found:
                    found.append(tag)
    return tuple(found)


def extract_article(html: str, url: str, options: ExtractOptions | None = None) -> Article | None:
    """Markdown body (links and emphasis kept) and metadata, or None for no article.

    The body is what ``trafilatura.extract(html, url=url, output_format="markdown",
    include_links=True, include_formatting=True)`` returns, computed in the same pass
    as the metadata, without the reader comments unless ``options.comments``. Text with
    no paragraph of ``options.min_paragraph_words`` words (menus, link lists) is no
    article.
    """
    options = options or ExtractOptions()
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            output_format="markdown",
            with_metadata=True,
            include_links=True,
            include_formatting=True,
            include_comments=options.comments,
        )
    except Exception as exc:  # trafilatura raises assorted errors on broken markup
        raise ExtractionError(f"{type(exc).__name__}: {exc}") from exc
    if doc is None or doc.body is None:
        return None
    text = _strip_title_heading(_markdown(doc.body), doc.title).strip()
    if not text or not has_prose(text, options.min_paragraph_words):
        return None
    comments = None
    if options.comments and doc.commentsbody is not None:
        comments = _markdown(doc.commentsbody) or None
    return Article(
        text=text,
        title=doc.title or None,
        author=doc.author or None,
        date=doc.date or None,
        url=doc.url or None,
        sitename=doc.sitename or None,
        description=doc.description or None,
        language=detect_language(text),
        tags=_tags(doc.tags, doc.categories),
        comments=comments,
    )


def extract_page(
    body: bytes, content_type: str | None, url: str, options: ExtractOptions | None = None
) -> Extraction:
    """The whole extraction of one page, as run in a worker: decode, extract, main-content
    links (absolute, media included: the citation graph records everything found)."""
    html, encoding = decode_html(body, content_type)
    article = extract_article(html, url, options)
    if article is None:
        return Extraction(None, (), encoding)
    rules = LinkRules(media=True)
    links = tuple(markdown_links(article.text.splitlines(), base=url, rules=rules))
    return Extraction(article, links, encoding)


def front_matter(
    article: Article,
    *,
    source_url: str,
    final_url: str | None,
    provenance: Mapping[str, Any],
    encoding: str | None = None,
) -> dict[str, Any]:
    """Front-matter fields in contract order; unknown (None/empty) fields are left out."""
    fields: dict[str, Any] = {
        "title": article.title,
        "author": article.author,
        "date": article.date,
        "url": article.url or final_url or source_url,
        "source_url": source_url,
        "sitename": article.sitename,
        "description": article.description,
        "language": article.language,
        "encoding": encoding,
        "tags": list(article.tags),
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
    if item.warc is not None:
        provenance["warc_file"] = item.warc.filename
        provenance["warc_record_id"] = item.warc.record_id
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
