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

import html as html_lib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import trafilatura
from lxml.etree import XPath
from trafilatura.utils import load_html, normalize_unicode
from trafilatura.xml import xmltotxt

from crawler.core.items import Article, Extraction, ExtractOptions
from crawler.extract.access import PageFacts, rules_for
from crawler.extract.dates import parse_date, plausible, url_date
from crawler.extract.decoding import decode_html
from crawler.extract.language import detect_language
from crawler.extract.links import LinkRules, markdown_links
from crawler.extract.metadata import (
    HTMLDATE,
    URL,
    PageMetadata,
    decide,
    read_statements,
)
from crawler.extract.names import clean_author, site_label, strip_site_name
from crawler.extract.prose import has_prose, prose_words
from crawler.extract.stage import ExtractionError
from crawler.extract.version import RULES_VERSION

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


# The bodies a page can get: trafilatura's default pass, its recall and precision passes,
# and the page's own JSON-LD articleBody.
TRAFILATURA, RECALL, PRECISION, JSONLD_BODY = "trafilatura", "recall", "precision", "jsonld"
BODY_SOURCES = (TRAFILATURA, RECALL, PRECISION, JSONLD_BODY)


def extractor_version() -> str:
    """``rules <version>; trafilatura <version>``: what made a dump."""
    return f"rules {RULES_VERSION}; trafilatura {trafilatura.__version__}"


_DATELINE = re.compile(
    r"^[\W\d_]*(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}\.? \w+\.? \d{4}|\w+\.? \d{1,2},? \d{4})"
    r"(?:[,\s|-]*(?:\d{1,2}[:.h]\d{2}(?:\s*(?:am|pm|uhr|h))?)?[\s\w()+:,-]{0,20})?$",
    re.IGNORECASE,
)
_PLAIN = re.compile(r"[*_#>\[\]]|\(https?://[^)]*\)")


def _plain_line(line: str) -> str:
    return " ".join(_PLAIN.sub(" ", line).split())


def strip_leading_metadata(text: str, meta: PageMetadata) -> str:
    """*text* without the lines at its top that only repeat the metadata: the title again,
    a byline ("By Jane Doe"), a dateline that is only a date (all in the front matter).
    Only the first three lines are looked at, and only short ones."""
    lines = text.split("\n")
    title = (meta.title or "").strip().casefold()
    names = [n.casefold() for n in meta.authors]
    dropped = 0
    index = 0
    while index < len(lines) and dropped < 3:
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        plain = _plain_line(line)
        folded = plain.casefold().strip(" .:")
        words = len(plain.split())
        is_title = bool(title) and folded == title.strip(" .:")
        is_byline = (
            words <= 12 and bool(names) and any(n in folded for n in names)
            and bool(re.match(r"^(?:by|von|par|por|di|door|av|af|de)\b", folded) or words <= 4)
        )  # fmt: skip
        is_dateline = words <= 8 and bool(_DATELINE.match(plain))
        if not (is_title or is_byline or is_dateline):
            break
        del lines[index]
        dropped += 1
    return "\n".join(lines).strip()


def _join_authors(names: tuple[str, ...]) -> str | None:
    return "; ".join(names) or None


def _with_fallbacks(meta: PageMetadata, tree: Any, url: str) -> PageMetadata:
    """Fill what structured data did not state from htmldate (the date, extensive search
    for the original one), trafilatura's readings of the page, and the URL."""
    from htmldate import find_date
    from trafilatura.metadata import (
        extract_author,
        extract_catstags,
        extract_sitename,
        extract_title,
    )

    missing = meta.missing
    if "title" in missing and (title := extract_title(tree)):
        sitenames = [meta.sitename] if meta.sitename else []
        meta.title, meta.title_source = strip_site_name(title, sitenames), TRAFILATURA
    if "authors" in missing and (byline := extract_author(tree)):
        exclude = [meta.sitename or "", site_label(url)]
        names = [n for part in byline.split(";") for n in clean_author(part, exclude=exclude)]
        if names:
            meta.authors, meta.authors_source = tuple(dict.fromkeys(names)), TRAFILATURA
    if "date" in missing:
        found = find_date(tree, url=url, extensive_search=True, original_date=True,
                          outputformat="%Y-%m-%d", max_date=today())  # fmt: skip
        in_url = url_date(url)
        if found and plausible(parse_date(found)):
            from_url = in_url is not None and in_url.day == found
            meta.date, meta.date_source = found, (URL if from_url else HTMLDATE)
        elif in_url is not None and plausible(in_url):
            meta.date, meta.date_source = in_url.iso(), URL
    if "sitename" in missing and (sitename := extract_sitename(tree)):
        meta.sitename = sitename.lstrip("@")
    if "tags" in missing:
        meta.tags = _tags(extract_catstags("tag", tree), extract_catstags("category", tree))
    return meta


@dataclass(frozen=True, slots=True)
class Candidate:
    """A body the page could have: its text (markdown, metadata lines at its top removed)
    and its words."""

    source: str
    text: str
    words: int


def _candidate(source: str, text: str, meta: PageMetadata) -> Candidate | None:
    text = strip_leading_metadata(_strip_title_heading(text, meta.title).strip(), meta)
    return Candidate(source, text, prose_words(text)) if text else None


def _plain_body(text: str) -> str:
    """A JSON-LD ``articleBody`` as paragraphs (it is plain text, often on one line, with
    HTML entities and sometimes tags left in)."""
    text = html_lib.unescape(re.sub(r"<[^>]{1,200}>", " ", text))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\r\n|\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def _trafilatura_pass(tree: Any, url: str, options: ExtractOptions, mode: str) -> Any:
    return trafilatura.bare_extraction(
        tree,  # (copied by trafilatura: the tree stays whole for other passes)
        url=url,
        output_format="markdown",
        with_metadata=False,
        include_links=True,
        include_formatting=True,
        include_comments=options.comments,
        favor_precision=mode == PRECISION,
        favor_recall=mode == RECALL,
    )


# Measured on the tuning pages (bench/data, split "tune"; bench/quality.py): below this
# share of the page's own articleBody, trafilatura's body lost part of the article;
# above the second, it holds more than the article.
LOST_SHARE, EXTRA_SHARE = 0.5, 1.1
# Against a declared wordCount alone (no articleBody to compare the words with).
SHORT_OF_DECLARED, LONG_OF_DECLARED = 0.7, 1.6
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]|[^\W_]+")


def agreement(a: str, b: str) -> float:
    """Word-bag F1 of two texts (characters for the scripts written without spaces)."""
    first, second = Counter(_TOKEN.findall(a.lower())), Counter(_TOKEN.findall(b.lower()))
    common = sum((first & second).values())
    if not common:
        return 0.0
    return 2 * common / (sum(first.values()) + sum(second.values()))


_VISIBLE_TEXT = XPath(
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]"
)


def _shows(tree: Any, paragraph: str) -> bool:
    """Whether the page's visible text (scripts and styles aside) holds the end of
    *paragraph*."""
    visible = " ".join(" ".join(_VISIBLE_TEXT(tree)).split())  # whitespace normalized once
    tail = " ".join(paragraph.split())[-60:]
    return bool(tail) and tail in visible


def choose_body(
    candidate: Callable[[str], Candidate | None], meta: PageMetadata, tree: Any = None
) -> Candidate | None:
    """The best body among trafilatura's default pass and, only where it looks wrong,
    its precision and recall passes and the page's own ``articleBody``:

    - no default body, on a page that states an article: the recall pass, else the
      ``articleBody``;
    - the default longer than the ``articleBody`` (by :data:`EXTRA_SHARE`): the
      precision pass when it agrees better with the ``articleBody`` (word-bag F1);
    - the default under :data:`LOST_SHARE` of the ``articleBody``, whose last paragraph
      the page shows: the ``articleBody`` (trafilatura lost part of the article);
    - no ``articleBody`` but a declared ``wordCount`` the default exceeds by
      :data:`LONG_OF_DECLARED`: the precision pass when it comes within range.
    """
    default = candidate(TRAFILATURA)
    stated = candidate(JSONLD_BODY) if meta.article_body else None
    if default is None:
        return candidate(RECALL) or stated
    if stated is not None and stated.words >= 50:
        if default.words > EXTRA_SHARE * stated.words:
            precise = candidate(PRECISION)
            if (
                precise is not None
                and precise.words >= 0.5 * stated.words
                and agreement(precise.text, stated.text) > agreement(default.text, stated.text)
            ):
                return precise
        last = stated.text.rsplit("\n\n", 1)[-1]
        if default.words < LOST_SHARE * stated.words and tree is not None and _shows(tree, last):
            return stated
        return default
    declared = meta.declared_words
    if declared and declared >= 50 and default.words > LONG_OF_DECLARED * declared:
        precise = candidate(PRECISION)
        if precise and SHORT_OF_DECLARED <= precise.words / declared <= LONG_OF_DECLARED:
            return precise
    return default


def today() -> str:
    return date.today().isoformat()


def extract_article(html: str, url: str, options: ExtractOptions | None = None) -> Article | None:
    """Markdown body (links and emphasis kept) and metadata, or None for no article.

    The body is what ``trafilatura.extract(html, url=url, output_format="markdown",
    include_links=True, include_formatting=True)`` returns, without the reader comments
    unless ``options.comments``, and without the lines at its top that repeat the
    metadata. The metadata is the page's own statements first
    (:mod:`crawler.extract.metadata`), then htmldate and trafilatura's readings. Text
    with no paragraph of ``options.min_paragraph_words`` words (menus, link lists) is no
    article.
    """
    options = options or ExtractOptions()
    try:
        tree = load_html(html)
        if tree is None:
            return None
        meta = decide(read_statements(tree, url), url)
        doc = _trafilatura_pass(tree, url, options, TRAFILATURA)
    except Exception as exc:  # trafilatura raises assorted errors on broken markup
        raise ExtractionError(f"{type(exc).__name__}: {exc}") from exc
    if (doc is None or doc.body is None) and not (meta.article_body or meta.declared_words):
        return None  # (a page that says it holds an article gets the other candidates)
    try:
        meta = _with_fallbacks(meta, tree, url)
    except Exception as exc:  # htmldate and trafilatura's metadata on broken markup
        raise ExtractionError(f"metadata: {type(exc).__name__}: {exc}") from exc

    def candidate(source: str) -> Candidate | None:
        if source == JSONLD_BODY:
            return _candidate(source, _plain_body(meta.article_body or ""), meta)
        try:
            found = doc if source == TRAFILATURA else _trafilatura_pass(tree, url, options, source)
        except Exception:  # another pass failing leaves the default one
            return None
        if found is None or found.body is None:
            return None
        return _candidate(source, _markdown(found.body), meta)

    chosen = choose_body(candidate, meta, tree)
    if chosen is None or not has_prose(chosen.text, options.min_paragraph_words):
        return None
    text = chosen.text
    comments = None
    if options.comments and doc is not None and doc.commentsbody is not None:
        comments = _markdown(doc.commentsbody) or None
    image = meta.image
    return Article(
        text=text,
        title=meta.title,
        author=_join_authors(meta.authors),
        date=meta.date,
        url=meta.url or None,
        sitename=meta.sitename,
        description=meta.description,
        language=detect_language(text),
        tags=meta.tags,
        comments=comments,
        words=prose_words(text),  # (the MinHash is the extraction stage's: sign())
        authors=meta.authors,
        lastmod=meta.lastmod,
        section=meta.section,
        image=image.url if image else None,
        image_alt=image.alt if image else None,
        title_source=meta.title_source,
        authors_source=meta.authors_source,
        date_source=meta.date_source,
        body_source=chosen.source,
        extractor=extractor_version(),
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
