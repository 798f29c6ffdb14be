"""Article extraction with trafilatura, and the text-dump rendering.

Reads: response body bytes + Content-Type + URL. Writes nothing: returns an
:class:`~crawler.items.Article` (or None when the page holds no article) and renders
the seed-form text dump (YAML front matter, then the markdown body).

The body is decoded exactly once, with w3lib's ``html_to_unicode`` (HTTP charset,
then BOM, then ``<meta charset>``), so re-extracting from a WARC record gives the same
text as the live crawl.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import trafilatura
import yaml
from trafilatura.utils import normalize_unicode
from trafilatura.xml import xmltotxt
from w3lib.encoding import html_to_unicode

from crawler.items import Article, FetchedPage, FoundLink
from crawler.links import LinkRules, markdown_links

# Below this many characters a language guess is noise; the field is then left out.
LANGUAGE_MIN_CHARS = 200
LANGUAGE_MIN_CONFIDENCE = 0.9
# The first few thousand characters say the language as well as the whole text does,
# at a fraction of the cost on long articles.
LANGUAGE_SAMPLE_CHARS = 3000

_HEADING_RE = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


class ExtractionError(Exception):
    """trafilatura failed on a page (a bug or a pathological document), not 'no article'."""


def quiet_trafilatura_logging() -> None:
    """trafilatura logs empty pages at WARNING/ERROR; for a crawler they are an outcome
    (``no_text``), so they must not count as crawl errors."""
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _auto_detect(body: bytes) -> str | None:
    # Undeclared encodings: UTF-8 when the bytes are valid UTF-8, else cp1252, the
    # de-facto default of the undeclared web (what browsers fall back to).
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def decode_html(body: bytes, content_type: str | None) -> str:
    """Decode an HTML body: HTTP charset, BOM, ``<meta>`` declaration, then detection."""
    _, text = html_to_unicode(content_type or "", body, auto_detect_fun=_auto_detect)
    return text


@lru_cache(maxsize=1)
def _language_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(
        MODEL_FILE, norm_probs=True, min_confidence=LANGUAGE_MIN_CONFIDENCE
    )


def detect_language(text: str) -> str | None:
    """ISO 639-1 code from py3langid, or None when the text is short or the guess unsure."""
    if len(text) < LANGUAGE_MIN_CHARS:
        return None
    lang, _ = _language_identifier().classify(text[:LANGUAGE_SAMPLE_CHARS])
    return None if lang == "und" else lang


def _strip_title_heading(text: str, title: str | None) -> str:
    """Drop a leading markdown heading that only repeats the title (it is in the front matter)."""
    if not title:
        return text
    first, _, rest = text.partition("\n")
    match = _HEADING_RE.match(first.strip())
    if match and match.group(1).strip().casefold() == title.strip().casefold():
        return rest.lstrip("\n")
    return text


def has_prose(text: str, min_words: int) -> bool:
    """True when some paragraph (block between blank lines) has at least *min_words* words."""
    return any(len(block.split()) >= min_words for block in text.split("\n\n"))


def extract_article(html: str, url: str, min_paragraph_words: int = 0) -> Article | None:
    """Markdown body (links and emphasis kept) and metadata, or None for no article.

    The body is what ``trafilatura.extract(html, url=url, output_format="markdown",
    include_links=True, include_formatting=True)`` returns, computed in the same pass
    as the metadata. Text with no paragraph of *min_paragraph_words* words (menus,
    link lists) is no article.
    """
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            output_format="markdown",
            with_metadata=True,
            include_links=True,
            include_formatting=True,
        )
    except Exception as exc:  # trafilatura raises assorted errors on broken markup
        raise ExtractionError(f"{type(exc).__name__}: {exc}") from exc
    if doc is None or doc.body is None:
        return None
    # The same steps as trafilatura.core.determine_returnstring for markdown, minus the
    # metadata header (ours is the YAML front matter).
    text = xmltotxt(doc.body, True)
    if doc.commentsbody is not None:
        text = f"{text}\n{xmltotxt(doc.commentsbody, True)}".strip()
    text = normalize_unicode(text)
    text = _strip_title_heading(text, doc.title).strip()
    if not text or not has_prose(text, min_paragraph_words):
        return None
    tags: list[str] = []
    for tag in [*(doc.tags or []), *(doc.categories or [])]:
        if tag and tag not in tags:
            tags.append(tag)
    return Article(
        text=text,
        title=doc.title or None,
        author=doc.author or None,
        date=doc.date or None,
        url=doc.url or None,
        sitename=doc.sitename or None,
        description=doc.description or None,
        language=detect_language(text),
        tags=tuple(tags),
    )


def extract_page(
    body: bytes, content_type: str | None, url: str, min_paragraph_words: int = 0
) -> tuple[Article | None, tuple[FoundLink, ...]]:
    """The whole extraction of one page, as run in a worker: decode, extract, main-content
    links (absolute, media included: the citation graph records everything found)."""
    article = extract_article(decode_html(body, content_type), url, min_paragraph_words)
    if article is None:
        return None, ()
    rules = LinkRules(media=True)
    return article, tuple(markdown_links(article.text.splitlines(), base=url, rules=rules))


def front_matter(
    article: Article,
    *,
    source_url: str,
    final_url: str | None,
    provenance: Mapping[str, Any],
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
    fields = front_matter(
        item.article, source_url=item.url, final_url=item.final_url, provenance=provenance
    )
    return render_dump(fields, item.article.text)


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
