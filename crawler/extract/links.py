"""Links out of documents: markdown (article bodies, seed documents) and HTML.

One rule decides which links are taken (:class:`LinkRules`): absolute http(s) URLs,
relative ones resolved against the document's own URL when it has one, and links to
media and documents only when asked for. Reading seed files is crawler.sources.seeds'.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from lxml import etree

from crawler.core.items import FoundLink
from crawler.core.urls import ALLOWED_SCHEMES, SCHEME_RE

SNIFF_BYTES = 64 * 1024  # an HTML file's links are read this much at a time
# Links to these are media or documents, not articles: skipped unless asked for.
MEDIA_EXTENSIONS = frozenset((
    "jpg", "jpeg", "png", "gif", "webp", "svg", "ico", "bmp", "tif", "tiff", "avif", "heic",
    "mp4", "m4v", "webm", "mov", "avi", "mkv", "mp3", "m4a", "wav", "ogg", "oga", "flac", "aac",
    "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "iso", "dmg", "exe", "msi", "apk",
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "epub",
    "woff", "woff2", "ttf", "css", "js", "json",
))  # fmt: skip
_MD_INLINE = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]"  # [anchor] (one level of nested brackets)
    r"\(\s*<?([^\s()<>]+(?:\([^\s()<>]*\)[^\s()<>]*)*)>?"  # (url) with balanced parens
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"  # optional "title"
)
_MD_REF_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_MD_REF_USE = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\[([^\]]*)\]")
_AUTOLINK = re.compile(r"<(https?://[^<>\s]+)>", re.IGNORECASE)
_BARE_URL = re.compile(r"https?://[^\s<>\"'`\[\]{}|\\^]+", re.IGNORECASE)
_TRAILING = ".,;:!?*_~'\""


def is_media(url: str) -> bool:
    """True when the URL's path ends in a media or document extension."""
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return dot > path.rfind("/") and path[dot + 1 :] in MEDIA_EXTENSIONS


def absolute_url(url: str, base: str | None) -> str | None:
    """Absolute http(s) URL, resolved against *base* when relative; None otherwise."""
    url = url.strip()
    scheme = SCHEME_RE.match(url)
    if scheme:
        return url if scheme.group(1).lower() in ALLOWED_SCHEMES else None
    if url.startswith("#") or not base:
        return None
    joined = urljoin(base, url)
    return joined if joined.lower().startswith(("http://", "https://")) else None


class LinkRules:
    """Which links are taken, and a count of what was skipped (for the run record)."""

    def __init__(self, media: bool = False) -> None:
        self.media = media  # take links to images, video, PDFs, archives, ...
        self.relative_skipped = 0  # relative links with no base URL to resolve them
        self.media_skipped = 0

    def skips_media(self, url: str, image: bool = False) -> bool:
        """True for a media or document link (or a markdown image) when media is off."""
        return not self.media and (image or is_media(url))

    def accept(
        self, raw: str, anchor: str = "", base: str | None = None, image: bool = False
    ) -> FoundLink | None:
        """The link *raw* (as written in a document) if it is taken, else None (counted)."""
        url = absolute_url(raw, base)
        if url is None:
            raw = raw.strip()
            if not SCHEME_RE.match(raw) and not raw.startswith("#"):
                self.relative_skipped += 1
            return None
        if self.skips_media(url, image):
            self.media_skipped += 1
            return None
        return FoundLink(url, " ".join(anchor.split()))


def _clean_bare_url(url: str) -> str:
    while url:
        if url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url


def markdown_links(
    lines: Iterator[str] | list[str], base: str | None = None, rules: LinkRules | None = None
) -> Iterator[FoundLink]:
    """Links in markdown or plain text, in document order.

    Inline ``[a](url)``, reference ``[a][ref]`` with ``[ref]: url`` (resolved at the
    end, wherever the definition is), ``<autolinks>`` and bare URLs (without trailing
    punctuation or unbalanced closing brackets). Relative URLs need *base*.
    """
    rules = rules or LinkRules()
    definitions: dict[str, str] = {}
    references: list[tuple[str, str, bool]] = []
    for line in lines:
        if "[" not in line and "<" not in line and "://" not in line:
            continue  # most lines of prose hold no link: skip the regex passes
        definition = _MD_REF_DEF.match(line)
        if definition:
            definitions.setdefault(definition.group(1).strip().lower(), definition.group(2))
            continue
        found: list[FoundLink | None] = []
        for match in _MD_INLINE.finditer(line):
            found.append(rules.accept(match.group(3), match.group(2), base, bool(match.group(1))))
        rest = _MD_INLINE.sub(" ", line)
        for match in _MD_REF_USE.finditer(rest):
            ref = (match.group(3) or match.group(2)).strip().lower()
            references.append((ref, match.group(2), bool(match.group(1))))
        rest = _MD_REF_USE.sub(" ", rest)
        found += [rules.accept(m.group(1), "", base) for m in _AUTOLINK.finditer(rest)]
        rest = _AUTOLINK.sub(" ", rest)
        found += [
            rules.accept(_clean_bare_url(m.group(0)), "", base) for m in _BARE_URL.finditer(rest)
        ]
        yield from (link for link in found if link is not None)
    for ref, anchor, image in references:
        if ref in definitions and (link := rules.accept(definitions[ref], anchor, base, image)):
            yield link


def html_links(path: Path, rules: LinkRules) -> Iterator[FoundLink]:
    """``<a href>`` links of an HTML file, parsed incrementally (bounded memory).

    Relative links resolve against the page's ``<base href>`` or canonical link.
    """
    parser = etree.HTMLPullParser(events=("end",), tag=("a", "base", "link"))
    base: str | None = None
    pending: list[tuple[str, str]] = []
    with path.open("rb") as fh:
        while chunk := fh.read(SNIFF_BYTES):
            parser.feed(chunk)
            for _, element in parser.read_events():
                tag = element.tag
                href = (element.get("href") or "").strip()
                if tag == "base" and href and base is None:
                    base = href
                elif tag == "link" and "canonical" in (element.get("rel") or "") and base is None:
                    base = href or None
                elif tag == "a" and href:
                    pending.append((href, "".join(element.itertext())))
                element.clear(keep_tail=True)
                # Links wait for a <base> or canonical URL only until the head is over.
                if (tag == "a" and len(pending) > 1000) or base is not None:
                    yield from _taken(pending, base, rules)
                    pending.clear()
        parser.close()
    yield from _taken(pending, base, rules)


def _taken(
    pending: list[tuple[str, str]], base: str | None, rules: LinkRules
) -> Iterator[FoundLink]:
    for href, text in pending:
        if (link := rules.accept(href, text, base)) is not None:
            yield link
