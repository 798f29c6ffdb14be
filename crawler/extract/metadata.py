"""An article's metadata, from what the page states about itself first.

Reads: the parsed page (an lxml tree, never modified) and its URL. Writes nothing:
returns a :class:`PageMetadata`, each field decided by the rules below, and for
``title``, ``authors`` and ``date`` the source it came from (``jsonld``, ``microdata``,
``rdfa``, ``opengraph``, ``meta``, ``time``, ``htmldate``, ``trafilatura``, ``url``).

Sources, most trusted first (the first that states a valid value wins):

- the page's structured data: JSON-LD (``@graph``, arrays, several blocks, nested
  ``mainEntity``), microdata and RDFa, read with extruct, of an ``Article`` type
  (``NewsArticle``, ``ReportageNewsArticle``, ``BlogPosting``, ``LiveBlogPosting``, ...);
  the article node that names the page's URL is preferred to the others;
- OpenGraph and ``article:*`` properties, then other meta tags (Dublin Core,
  ``parsely-*``, ``sailthru.*``, ``author``, ``description``, ...);
- ``<time datetime>`` marked as the publication date, or the first one in the
  article's header (dates only);
- htmldate in its extensive mode, for the original publication date (only when no
  structured source gave one: it is the costly part of the metadata);
- trafilatura's own readings of the page (title from ``<h1>``/``<title>``, byline);
- the date in the URL (``/2024/03/05/``), as a last resort and as a tie-break.

Rules (each tested in tests/unit/extract/test_metadata.py):

- a publication date in the future (later than now plus a day) or before 1994
  (crawler.extract.dates) is not a date; ``dateModified`` is never the publication date;
  when the URL holds a full date and a source's date differs from it by more than
  two days, the next source agreeing with the URL wins;
- ``lastmod`` earlier than ``date`` is dropped;
- an author that is the site's or the publisher's name, a URL, an e-mail address or a
  role alone is not an author; names lose "By", roles after a comma or a dash, and
  e-mail addresses, and "A and B" is two names;
- a title loses the site name its ``og:title``/``<title>`` carries (``"Story | CNN"``).
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from extruct.jsonld import JsonLdExtractor
from extruct.w3cmicrodata import MicrodataExtractor
from lxml.etree import XPath
from lxml.html import HtmlElement

from crawler.extract.dates import When, parse_date, plausible, url_date
from crawler.extract.names import clean_author, fold, site_label, strip_site_name

JSONLD, MICRODATA, RDFA, OPENGRAPH, META = "jsonld", "microdata", "rdfa", "opengraph", "meta"
TIME, HTMLDATE, TRAFILATURA, URL = "time", "htmldate", "trafilatura", "url"
SOURCES = (JSONLD, MICRODATA, RDFA, OPENGRAPH, META, TIME, HTMLDATE, TRAFILATURA, URL)

# schema.org types whose node describes the article itself (and their common subtypes).
ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle",
    "askpublicnewsarticle", "satiricalarticle", "blogposting", "liveblogposting",
    "socialmediaposting", "report", "techarticle", "scholarlyarticle", "advertisercontentarticle",
    "medicalscholarlyarticle", "discussionforumposting", "posting",
})  # fmt: skip
_PAGE_TYPES = frozenset({"webpage", "itempage", "collectionpage", "medicalwebpage"})


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    alt: str | None = None


@dataclass(slots=True)
class PageMetadata:
    """The decided metadata of a page (None or empty: the page does not say)."""

    title: str | None = None
    title_source: str | None = None
    authors: tuple[str, ...] = ()
    authors_source: str | None = None
    date: str | None = None  # ISO 8601: the day, or the time with its zone when stated
    date_source: str | None = None
    lastmod: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    image: Image | None = None
    sitename: str | None = None
    url: str | None = None  # the canonical URL the page declares
    language: str | None = None  # as declared (inLanguage, og:locale, <html lang>)
    article_body: str | None = None  # JSON-LD/microdata articleBody, when given
    declared_words: int | None = None  # wordCount, when given
    not_free: bool = False  # isAccessibleForFree: false
    # what the structured sources alone could not give, filled in by the caller
    missing: set[str] = field(default_factory=set)


# -- reading the structured statements -------------------------------------------------


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type") or node.get("type") or ()
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    # microdata types are URLs (https://schema.org/NewsArticle); JSON-LD may prefix them
    return {str(v).rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() for v in values}


def _walk(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every object in a JSON-LD value: @graph members, list items, nested values."""
    if depth > 6:
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, dict):
        yield value
        for key, item in value.items():
            if key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement",
                       "about", "subjectOf", "@reverse"):  # fmt: skip
                yield from _walk(item, depth + 1)


_WRAPPERS = re.compile(r"^\s*(?:<!\[CDATA\[|<!--)|(?:\]\]>|-->)\s*$|^\s*//[^\n]*$", re.M)


def jsonld_nodes(tree: HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page; a block that is not JSON is skipped, not fatal.

    Blocks wrapped in CDATA or HTML comments are unwrapped first (extruct's reader
    then takes what plain JSON refuses: comments, trailing commas)."""
    extractor = JsonLdExtractor()
    nodes: list[dict[str, Any]] = []
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        text = script.text_content()
        try:
            items = json.loads(_WRAPPERS.sub("", text), strict=False)
        except ValueError:
            try:
                items = extractor.extract_items(script)
            except Exception:  # broken JSON in a page is the page's fault
                continue
        nodes.extend(_walk(items))
    return nodes


def _microdata_nodes(tree: HtmlElement, url: str) -> list[dict[str, Any]]:
    try:
        items = MicrodataExtractor().extract_items(tree, url)
    except Exception:  # extruct on odd markup
        return []
    found: list[dict[str, Any]] = []
    for item in items:
        flat = {"@type": item.get("type"), **(item.get("properties") or {})}
        found.append(flat)
        for value in (item.get("properties") or {}).values():  # nested articles
            for sub in value if isinstance(value, list) else [value]:
                if isinstance(sub, dict) and "properties" in sub:
                    found.append({"@type": sub.get("type"), **sub["properties"]})
    return found


# An element typed as an article in RDFa (Drupal and others type images, people, ... too).
_RDFA_ARTICLE = XPath(
    "boolean(//*[@typeof][contains(translate(@typeof, 'ARTICLEPOSTING', 'articleposting'),"
    " 'article') or contains(translate(@typeof, 'ARTICLEPOSTING', 'articleposting'), 'posting')])"
)


def _rdfa_nodes(tree: HtmlElement, url: str) -> list[dict[str, Any]]:
    """Schema.org RDFa (``typeof``/``property``), read only where the page uses it."""
    if not _RDFA_ARTICLE(tree):
        return []
    try:
        from extruct.rdfa import RDFaExtractor  # rdflib: imported only for such pages
        from lxml.html import tostring

        # (pyRdfa reads a DOM of its own: the page is serialized again, for these pages only)
        items = RDFaExtractor().extract(tostring(tree), base_url=url)
    except Exception:  # pyRdfa on odd markup
        return []
    found = []
    for item in items:
        node: dict[str, Any] = {"@type": item.get("@type")}
        for key, value in item.items():
            if key.startswith("@"):
                continue
            name = key.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            values = [v.get("@value") or v.get("@id") for v in value if isinstance(v, dict)]
            node[name] = values if len(values) > 1 else (values[0] if values else None)
        found.append(node)
    return found


def _article_node(nodes: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    """The node describing the article: of an article type; the one naming *url* (or
    the longest body) when there are several (a live blog's updates, related stories)."""
    articles = [n for n in nodes if _types(n) & ARTICLE_TYPES]
    if not articles:
        # a WebPage carrying the article's fields itself (some CMSs do)
        articles = [n for n in nodes if _types(n) & _PAGE_TYPES and n.get("headline")]
    if not articles:
        return None
    key = url.split("#")[0].rstrip("/")

    def score(node: dict[str, Any]) -> tuple[int, int]:
        urls = [_text(node.get("url")), _text(node.get("mainEntityOfPage")), _text(node.get("@id"))]
        names_page = any(u and u.split("#")[0].rstrip("/") == key for u in urls)
        return (names_page, bool(node.get("headline") or node.get("name")))

    return max(articles, key=score)


# -- values ----------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _text(value: Any) -> str | None:
    """A plain string out of a JSON-LD/microdata value (``@id``, ``@value``, ``url``,
    ``name``; the first of a list)."""
    if isinstance(value, list):
        for item in value:
            if text := _text(item):
                return text
        return None
    if isinstance(value, dict):
        for key in ("@value", "url", "@id", "name", "contentUrl"):
            if text := _text(value.get(key)):
                return text
        if "properties" in value:  # a nested microdata item
            return _text(value["properties"])
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        # (CMSs write HTML entities into JSON-LD and meta tags alike: &#039;, &quot;)
        text = _SPACES.sub(" ", html_lib.unescape(str(value))).strip()
        return text or None
    return None


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        props = value.get("properties") if "properties" in value else value
        return _text(props.get("name")) or _text(
            " ".join(filter(None, (_text(props.get("givenName")), _text(props.get("familyName")))))
        )
    return _text(value)


# -- names -----------------------------------------------------------------------------


def _authors_of(value: Any, exclude: Iterable[str]) -> list[str]:
    """Names out of a schema.org ``author``/``creator``: Person, Organization, string or
    a list of them; Organizations only when no Person is named."""
    values = value if isinstance(value, list) else [value]
    persons: list[str] = []
    organizations: list[str] = []
    for item in values:
        kinds = _types(item) if isinstance(item, dict) else set()
        name = _name(item)
        if not name:
            continue
        target = organizations if kinds & {"organization", "newsmediaorganization"} else persons
        target.extend(n for n in clean_author(name, exclude=exclude) if n not in target)
    return persons or organizations


# -- the decision ----------------------------------------------------------------------


@dataclass(slots=True)
class _Statements:
    """What each source states, before deciding (field -> [(source, value)])."""

    by_field: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)

    def add(self, name: str, source: str, value: Any) -> None:
        if value not in (None, "", [], ()):
            self.by_field.setdefault(name, []).append((source, value))

    def get(self, name: str) -> list[tuple[str, Any]]:
        return self.by_field.get(name, [])

    def first(self, name: str) -> Any:
        found = self.get(name)
        return found[0][1] if found else None


def _meta_tags(tree: HtmlElement) -> dict[str, list[str]]:
    """``<meta name|property|itemprop=... content=...>`` of the page, by lower-cased key."""
    metas: dict[str, list[str]] = {}
    for meta in tree.iterfind(".//meta"):
        content = meta.get("content")
        if content is None or not content.strip():
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = meta.get(attr)
            if key:
                metas.setdefault(key.strip().lower(), []).append(content.strip())
    return metas


def _structured(node: dict[str, Any] | None, source: str, said: _Statements,
                exclude: list[str]) -> None:  # fmt: skip
    if not node:
        return
    said.add("title", source, _text(node.get("headline")))
    said.add("title", source, _text(node.get("name")))  # (Wikipedia's headline is a summary)
    said.add("date", source, _text(node.get("datePublished")) or _text(node.get("dateCreated")))
    said.add("lastmod", source, _text(node.get("dateModified")))
    publisher = node.get("publisher")
    said.add("sitename", source, _name(publisher[0] if isinstance(publisher, list) and publisher
                                       else publisher))  # fmt: skip
    names = exclude + [n for _, n in said.get("sitename")]
    said.add("authors", source, _authors_of(node.get("author") or node.get("creator"), names))
    section = node.get("articleSection")
    said.add("section", source, _text(section))
    keywords = node.get("keywords")
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    if isinstance(keywords, list):
        said.add("tags", source, [t for k in keywords if (t := _text(k))])
    said.add("description", source, _text(node.get("description")))
    image = node.get("image") or node.get("thumbnailUrl")
    if image:
        first = image[0] if isinstance(image, list) else image
        url = _text(first)
        alt = (_text(first.get("caption")) or _text(first.get("description"))
               if isinstance(first, dict) else None)  # fmt: skip
        if url and url.startswith(("http://", "https://", "//", "/")):
            said.add("image", source, Image(url, alt))
    said.add("url", source, _text(node.get("url")))
    said.add("language", source, _text(node.get("inLanguage")))
    body = node.get("articleBody") or node.get("text")
    if isinstance(body, str) and body.strip():
        said.add("article_body", source, body.strip())
    count = _text(node.get("wordCount"))
    if count and count.isdigit():
        said.add("declared_words", source, int(count))
    free = node.get("isAccessibleForFree")
    if free is False or str(free).strip().lower() == "false":
        said.add("not_free", source, True)


_META_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    # field: ((source, key), ...) in order of trust
    "title": ((OPENGRAPH, "og:title"), (META, "parsely-title"), (META, "sailthru.title"),
              (META, "twitter:title"), (META, "dc.title"), (META, "dcterms.title"),
              (META, "citation_title")),
    "date": ((OPENGRAPH, "article:published_time"), (OPENGRAPH, "og:article:published_time"),
             (META, "parsely-pub-date"), (META, "sailthru.date"), (META, "article.published"),
             (META, "publish-date"), (META, "publishdate"), (META, "pubdate"),
             (META, "datepublished"), (META, "dc.date.issued"), (META, "dcterms.issued"),
             (META, "dcterms.created"), (META, "dc.date"), (META, "dc.date.created"),
             (META, "citation_publication_date"), (META, "date"),
             (META, "cxenseparse:recs:publishtime"), (META, "og:published_time")),
    "lastmod": ((OPENGRAPH, "article:modified_time"), (OPENGRAPH, "og:updated_time"),
                (META, "datemodified"), (META, "dcterms.modified"), (META, "last-modified"),
                (META, "article.updated")),
    "authors": ((META, "author"), (META, "parsely-author"), (META, "sailthru.author"),
                (OPENGRAPH, "article:author"), (META, "dc.creator"), (META, "dcterms.creator"),
                (META, "citation_author"), (META, "byl")),
    "section": ((OPENGRAPH, "article:section"), (META, "parsely-section"),
                (META, "section"), (META, "article.section")),
    "tags": ((OPENGRAPH, "article:tag"), (META, "news_keywords"), (META, "parsely-tags"),
             (META, "sailthru.tags"), (META, "keywords")),
    "description": ((OPENGRAPH, "og:description"), (META, "description"),
                    (META, "twitter:description"), (META, "dc.description")),
    "sitename": ((OPENGRAPH, "og:site_name"), (META, "application-name"),
                 (META, "publisher")),
    "image": ((OPENGRAPH, "og:image"), (OPENGRAPH, "og:image:url"),
              (OPENGRAPH, "og:image:secure_url"), (META, "twitter:image")),
    "url": ((OPENGRAPH, "og:url"),),
    "language": ((OPENGRAPH, "og:locale"), (META, "content-language"), (META, "language")),
}  # fmt: skip


def _from_meta(metas: dict[str, list[str]], said: _Statements, exclude: list[str]) -> None:
    exclude = exclude + [n for _, n in said.get("sitename")]
    for name, keys in _META_KEYS.items():
        for source, key in keys:
            values = metas.get(key)
            if not values:
                continue
            if name == "authors":
                names = [n for v in values if not v.startswith("http")
                         for n in clean_author(v, exclude=exclude)]  # fmt: skip
                said.add(name, source, list(dict.fromkeys(names)))
            elif name == "tags":
                said.add(name, source, [t.strip() for v in values for t in v.split(",")
                                        if t.strip()])  # fmt: skip
            elif name == "image":
                alt = (metas.get("og:image:alt") or metas.get("twitter:image:alt") or [None])[0]
                said.add(name, source, Image(values[0], alt))
            else:
                said.add(name, source, _text(values[0]))


def _from_time(tree: HtmlElement, said: _Statements) -> None:
    """``<time datetime>`` marked as the publication date, or the first in the article's
    header (or byline)."""
    marked = tree.xpath(
        ".//time[@datetime][@itemprop='datePublished' or @pubdate or contains(@class,'publish')"
        " or contains(@class,'pubdate')][1]/@datetime"
    )
    headed = tree.xpath(
        "(.//article//header//time[@datetime] | .//header[contains(@class,'article')]"
        "//time[@datetime] | .//*[contains(@class,'byline')]//time[@datetime])[1]/@datetime"
    )
    for value in (*marked, *headed):
        said.add("date", TIME, str(value))


def read_statements(tree: HtmlElement, url: str) -> _Statements:
    """What the page's structured data, meta tags and ``<time>`` elements state."""
    said = _Statements()
    metas = _meta_tags(tree)
    exclude = [*metas.get("og:site_name", []), *metas.get("application-name", []),
               site_label(url)]  # fmt: skip
    _structured(_article_node(jsonld_nodes(tree), url), JSONLD, said, exclude)
    if tree.find(".//*[@itemscope]") is not None:
        _structured(_article_node(_microdata_nodes(tree, url), url), MICRODATA, said, exclude)
    _structured(_article_node(_rdfa_nodes(tree, url), url), RDFA, said, exclude)
    _from_meta(metas, said, exclude)
    _from_time(tree, said)
    headings = tree.findall(".//h1")
    if len(headings) > 1:  # several: the article's own, if one is inside <article>
        headings = tree.xpath(".//article//h1") or headings
    if headings:
        said.add("h1", TRAFILATURA, _text(headings[0].text_content()))
    lang = tree.get("lang")
    said.add("language", META, lang.strip() if lang else None)
    return said


def decide_date(candidates: list[tuple[str, str]], url: str,
                now: datetime | None = None) -> tuple[When, str] | None:  # fmt: skip
    """The publication date among *candidates* (source, stated value), most trusted first:
    the first plausible one, unless the URL states a day it contradicts (by more than two
    days) and a later candidate agrees with the URL; the URL's day as the last resort."""
    parsed = [(w, s) for s, v in candidates if plausible(w := parse_date(v), now)]
    in_url = url_date(url)
    if not parsed:
        return (in_url, URL) if in_url and plausible(in_url, now) else None
    if in_url is not None:

        def off(when: When) -> float:
            return abs((when.moment.date() - in_url.moment.date()).days)

        if off(parsed[0][0]) > 2:
            agreeing = [(w, s) for w, s in parsed if off(w) <= 2]
            return agreeing[0] if agreeing else (in_url, URL)
    return parsed[0]


def decide_title(said: _Statements) -> tuple[str | None, str | None]:
    """The headline readers see: of the stated titles (site name cut), most trusted
    first, the first one the page's main ``<h1>`` repeats, else the first one
    (structured titles are often written for search engines, the ``<h1>`` for readers:
    measured on the tuning pages, this rule beats both "structured first" and "the
    ``<h1>`` whenever there is one")."""
    sitenames = [v for _, v in said.get("sitename")]
    titles = [(source, strip_site_name(title, sitenames)) for source, title in said.get("title")]
    if h1 := said.first("h1"):
        folded = fold(h1)
        for source, title in titles:
            if fold(title) == folded:
                return title, source
    if titles:
        return titles[0][1], titles[0][0]
    return None, None


def decide(said: _Statements, url: str, now: datetime | None = None) -> PageMetadata:
    """The page's metadata from the statements (fields no source stated are in
    ``missing``: the caller asks htmldate and trafilatura for them)."""
    meta = PageMetadata()
    for name in ("sitename", "section", "description", "image", "url", "language",
                 "article_body", "declared_words"):  # fmt: skip
        setattr(meta, name, said.first(name))
    meta.not_free = bool(said.first("not_free"))
    if isinstance(meta.sitename, str):
        meta.sitename = meta.sitename.lstrip("@")
    meta.title, meta.title_source = decide_title(said)
    authors = said.get("authors")
    if authors:
        meta.authors_source, names = authors[0]
        meta.authors = tuple(names)
    tags = said.get("tags")
    if tags:
        meta.tags = tuple(dict.fromkeys(tags[0][1]))
    decided = decide_date(said.get("date"), url, now)
    if decided is not None and decided[1] != URL:
        meta.date, meta.date_source = decided[0].iso(), decided[1]
    lastmod = next((w for _, v in said.get("lastmod") if plausible(w := parse_date(v), now)),
                   None)  # fmt: skip
    if lastmod is not None:
        published = parse_date(meta.date) if meta.date else None
        if published is None or lastmod.moment.date() >= published.moment.date():
            meta.lastmod = lastmod.iso()
    meta.missing = {name for name in ("title", "authors", "date", "sitename", "description",
                                      "tags") if not getattr(meta, name)}  # fmt: skip
    return meta
