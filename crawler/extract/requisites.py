"""What a page needs to look as it did: the requisite URLs of an HTML document or a
stylesheet (``CAPTURE=requisites``).

HTML: stylesheets, icons, ``<link rel=preload>``, scripts, images (``src``, every
``srcset`` candidate, ``<picture>`` sources, ``<input type=image>``, ``background``),
``<video poster>``, ``<iframe>``/``<frame>`` documents, and the ``url()`` references
of ``<style>`` elements and ``style`` attributes. CSS (read with tinycss2, a real
tokenizer: comments, escapes and strings are its business, not a regex's):
``@import``, ``url()`` anywhere (nested in ``@media``, ``@supports``, ``@layer``),
``image-set()`` candidates and ``@font-face`` sources. Every ``srcset`` candidate is
taken, as wget and Browsertrix do: which one a browser picks depends on its screen.

Only http(s) URLs are returned (no ``data:``, ``blob:``, ``javascript:``), absolute,
without their fragment, each once, in document order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import tinycss2

from crawler.core.items import FoundRequisite

# Kinds of requisite (stats keys, and how a fetched one is read further).
STYLESHEET, IMAGE, SCRIPT, ICON, FRAME, FONT, MEDIA, OTHER = (
    "stylesheet", "image", "script", "icon", "frame", "font", "media", "other",
)  # fmt: skip
KINDS = (STYLESHEET, IMAGE, SCRIPT, ICON, FRAME, FONT, MEDIA, OTHER)

_ICON_RELS = {"icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"}
# <link rel=preload as=...>: what the resource is
_PRELOAD_AS = {"style": STYLESHEET, "script": SCRIPT, "image": IMAGE, "font": FONT,
               "fetch": OTHER, "document": FRAME, "video": MEDIA, "audio": MEDIA}  # fmt: skip


def _absolute(ref: str | None, base: str) -> str | None:
    """*ref* resolved against *base*, without fragment; None unless http(s)."""
    if not ref:
        return None
    ref = ref.strip()
    if not ref or ref.startswith("#"):
        return None
    try:
        url = urljoin(base, ref)
        scheme = urlsplit(url).scheme
    except ValueError:  # an unparsable reference (a bad IPv6 literal, ...)
        return None
    if scheme not in ("http", "https"):
        return None
    return url.partition("#")[0]


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` (``a.jpg 1x, b.jpg 2x``; URLs may hold commas)."""
    urls, i, n = [], 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        if url.endswith(","):  # a candidate with no descriptor
            url = url.rstrip(",")
        else:  # skip the descriptor, up to the next comma
            while i < n and value[i] != ",":
                i += 1
        if url:
            urls.append(url)
    return urls


class _Found:
    """Requisites in order, each URL once (the first kind it was found as)."""

    def __init__(self) -> None:
        self.items: dict[str, FoundRequisite] = {}

    def add(self, ref: str | None, base: str, kind: str) -> None:
        url = _absolute(ref, base)
        if url is not None and url not in self.items:
            self.items[url] = FoundRequisite(url, kind)

    def extend(self, found: Iterable[FoundRequisite]) -> None:
        for item in found:
            self.items.setdefault(item.url, item)

    def result(self, exclude: str | None = None) -> tuple[FoundRequisite, ...]:
        return tuple(r for url, r in self.items.items() if url != exclude)


# -- CSS ------------------------------------------------------------------------------


def _css_refs(tokens: Iterable, kind: str) -> Iterator[tuple[str, str]]:
    """(reference, kind) of every ``url()`` and ``image-set()`` string in *tokens*,
    nested blocks and functions included."""
    for token in tokens:
        type_ = token.type
        if type_ == "url":
            yield token.value, kind
        elif type_ == "function":
            name = token.lower_name
            if name in ("url", "src"):
                for arg in token.arguments:
                    if arg.type == "string":
                        yield arg.value, kind
                        break
            elif name in ("image-set", "-webkit-image-set"):
                for arg in token.arguments:
                    if arg.type == "string":
                        yield arg.value, IMAGE
            yield from _css_refs(token.arguments, kind)
        elif type_ in ("() block", "[] block", "{} block"):
            yield from _css_refs(token.content, kind)


def _css_rules(rules: Iterable, found: _Found, base: str) -> None:
    for rule in rules:
        if rule.type == "at-rule":
            name = rule.lower_at_keyword
            if name == "import":
                for token in rule.prelude:
                    if token.type in ("url", "string"):
                        found.add(token.value, base, STYLESHEET)
                        break
                    if token.type == "function" and token.lower_name == "url":
                        for arg in token.arguments:
                            if arg.type == "string":
                                found.add(arg.value, base, STYLESHEET)
                        break
                continue
            kind = FONT if name == "font-face" else IMAGE
            for ref, ref_kind in _css_refs(rule.prelude, kind):
                found.add(ref, base, ref_kind)
            if rule.content is not None:
                if name in ("media", "supports", "layer", "document", "container", "scope"):
                    nested = tinycss2.parse_rule_list(rule.content, True, True)
                    _css_rules(nested, found, base)
                else:
                    for ref, ref_kind in _css_refs(rule.content, kind):
                        found.add(ref, base, ref_kind)
        elif rule.type == "qualified-rule":
            for ref, ref_kind in _css_refs(rule.content, IMAGE):
                found.add(ref, base, ref_kind)
            # CSS nesting: rules inside a rule's block are tokens of its content too,
            # which _css_refs walks ({} blocks).


def css_requisites(css: str, base: str) -> tuple[FoundRequisite, ...]:
    """The requisites of a stylesheet's text, resolved against *base* (its URL)."""
    found = _Found()
    _css_rules(tinycss2.parse_stylesheet(css, True, True), found, base)
    return found.result()


def css_requisites_bytes(
    body: bytes, base: str, charset: str | None = None
) -> tuple[FoundRequisite, ...]:
    """The requisites of a stylesheet as fetched: decoded as CSS says (BOM, the HTTP
    charset, ``@charset``, else UTF-8)."""
    rules, _encoding = tinycss2.parse_stylesheet_bytes(
        body, protocol_encoding=charset, skip_comments=True, skip_whitespace=True
    )
    found = _Found()
    _css_rules(rules, found, base)
    return found.result()


def _declarations_refs(style: str, found: _Found, base: str) -> None:
    tokens = tinycss2.parse_component_value_list(style, skip_comments=True)
    for ref, kind in _css_refs(tokens, IMAGE):
        found.add(ref, base, kind)


# -- HTML -----------------------------------------------------------------------------


def parse_html(body: bytes, encoding: str | None = None) -> lxml.html.HtmlElement | None:
    """The document of *body* (None when there is none to read)."""
    if not body or not body.strip():
        return None
    parser = lxml.html.HTMLParser(encoding=encoding) if encoding else None
    try:
        return lxml.html.document_fromstring(body, parser=parser)
    except (lxml.etree.ParserError, ValueError, LookupError):
        if encoding:  # an encoding lxml does not know: let it sniff
            return parse_html(body)
        return None


def html_requisites(
    body: bytes, url: str, encoding: str | None = None
) -> tuple[FoundRequisite, ...]:
    """The requisites of an HTML document fetched from *url*."""
    root = parse_html(body, encoding)
    if root is None:
        return ()
    return document_requisites(root, url)


def document_requisites(root: lxml.html.HtmlElement, url: str) -> tuple[FoundRequisite, ...]:
    """The requisites of a parsed document (``<base href>`` honoured)."""
    base = url
    for element in root.iter("base"):
        if element.get("href"):
            base = _absolute(element.get("href"), url) or url
            break
    found = _Found()
    for element in root.iter(lxml.etree.Element):
        tag = element.tag if isinstance(element.tag, str) else ""
        tag = tag.rsplit("}", 1)[-1].lower()
        if tag == "link":
            rels = set((element.get("rel") or "").lower().split())
            href = element.get("href")
            if "stylesheet" in rels:
                found.add(href, base, STYLESHEET)
            elif rels & _ICON_RELS:
                found.add(href, base, ICON)
            elif rels & {"preload", "modulepreload"}:  # (prefetch is for a next page)
                kind = SCRIPT if "modulepreload" in rels else _PRELOAD_AS.get(
                    (element.get("as") or "").lower(), OTHER)  # fmt: skip
                found.add(href, base, kind)
                for ref in srcset_urls(element.get("imagesrcset") or ""):
                    found.add(ref, base, IMAGE)
        elif tag in ("img", "source"):
            media_parent = element.getparent()
            parent_tag = media_parent.tag if media_parent is not None else ""
            is_media = tag == "source" and str(parent_tag).lower() in ("video", "audio")
            if not is_media:  # a video's sources play on demand: not what the page shows
                found.add(element.get("src"), base, IMAGE)
                for ref in srcset_urls(element.get("srcset") or ""):
                    found.add(ref, base, IMAGE)
        elif tag == "script":
            found.add(element.get("src"), base, SCRIPT)
        elif tag in ("iframe", "frame"):
            found.add(element.get("src"), base, FRAME)
        elif tag == "video":
            found.add(element.get("poster"), base, IMAGE)
        elif tag == "input" and (element.get("type") or "").lower() == "image":
            found.add(element.get("src"), base, IMAGE)
        elif tag in ("body", "table", "td", "th") and element.get("background"):
            found.add(element.get("background"), base, IMAGE)
        elif tag == "style" and element.text:
            found.extend(css_requisites(element.text, base))
        if (style := element.get("style")) and "url(" in style.lower():
            _declarations_refs(style, found, base)
    return found.result(exclude=url.partition("#")[0])
