"""Article extraction with trafilatura.

Reads: response body bytes + Content-Type + URL. Writes nothing: returns an
:class:`~crawler.core.items.Extraction` (the :class:`~crawler.core.items.Article`, or None when
the page holds no article; its main-content links; the encoding used). Runs in the
extraction workers; the dump is rendered by :mod:`crawler.archive.dumps`.

The body is decoded exactly once (:mod:`crawler.extract.decoding`: BOM, HTTP charset,
``<meta charset>``, detection when the declared charset does not fit the bytes), so
re-extracting from a WARC record gives the same text as the live crawl.
"""

from __future__ import annotations

import re
from typing import Any

import trafilatura
from trafilatura.utils import normalize_unicode
from trafilatura.xml import xmltotxt

from crawler.core.items import Article, Extraction, ExtractOptions
from crawler.extract.access import PageFacts, rules_for
from crawler.extract.decoding import decode_html
from crawler.extract.language import detect_language
from crawler.extract.links import LinkRules, markdown_links
from crawler.extract.prose import has_prose, prose_words
from crawler.extract.stage import ExtractionError

_HEADING_RE = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


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
        words=prose_words(text),  # (the MinHash is the extraction stage's: sign())
    )


def extract_page(
    body: bytes, content_type: str | None, url: str, options: ExtractOptions | None = None
) -> Extraction:
    """The whole extraction of one page, as run in a worker: decode, extract, main-content
    links (absolute, media included: the citation graph records everything found)."""
    html, encoding = decode_html(body, content_type)
    article = extract_article(html, url, options)
    facts = PageFacts(html, words=article.words if article else 0, body=body,
                      text=article.text if article else "")  # fmt: skip
    access = rules_for(options.access_rules if options else "").classify(facts)
    if article is None:
        return Extraction(None, (), encoding, access)
    rules = LinkRules(media=True)
    links = tuple(markdown_links(article.text.splitlines(), base=url, rules=rules))
    return Extraction(article, links, encoding, access)
