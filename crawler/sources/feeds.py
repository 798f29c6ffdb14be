"""Finding article URLs: RSS/Atom feeds, sitemaps (news, index, gzipped), homepages, robots.txt.

Everything here parses bytes that were fetched through Scrapy (so robots.txt,
throttling and WARC capture saw them); nothing here fetches. XML is parsed without
entity expansion or network access, and gzip is inflated only up to a size limit.
"""

from __future__ import annotations

import calendar
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser
from lxml import etree, html
from protego import Protego

# The sitemap protocol's own limit on an uncompressed sitemap.
SITEMAP_MAX_BYTES = 50 * 1024 * 1024
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "text/xml")
_SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
)


class DiscoveryError(ValueError):
    """A feed or sitemap that cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An article URL found in a feed or sitemap, with what the source says about it."""

    url: str
    date: datetime | None = None  # publication (or last modification) date, UTC
    title: str | None = None


def parse_date(text: str | None) -> datetime | None:
    """ISO 8601 dates and date-times (sitemaps, ``-a since=``), as UTC; None if unreadable."""
    if not text:
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def gunzip_limited(data: bytes, max_bytes: int = SITEMAP_MAX_BYTES) -> bytes:
    """Inflate gzip data, refusing to produce more than *max_bytes* (gzip bombs)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise DiscoveryError(f"bad gzip data: {exc}") from None
    if len(out) > max_bytes:
        raise DiscoveryError(f"inflates to more than {max_bytes} bytes")
    return out


def maybe_gunzip(data: bytes, max_bytes: int = SITEMAP_MAX_BYTES) -> bytes:
    """``.xml.gz`` bodies arrive still gzipped (served as application/gzip): inflate them."""
    return gunzip_limited(data, max_bytes) if data[:2] == b"\x1f\x8b" else data


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def root_kind(data: bytes) -> str:
    """``urlset`` | ``sitemapindex`` | ``feed`` (rss, rdf, atom) | ``unknown``."""
    try:
        for _, element in etree.iterparse(
            _BytesReader(data), events=("start",), resolve_entities=False, no_network=True
        ):
            name = _local(element.tag)
            if name in ("urlset", "sitemapindex"):
                return name
            if name in ("rss", "rdf", "feed"):
                return "feed"
            return "unknown"
    except etree.XMLSyntaxError:
        return "unknown"
    return "unknown"


class _BytesReader:
    """A file-like reader over bytes, for iterparse."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.pos + size
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk


def parse_sitemap(data: bytes) -> tuple[str, list[Candidate]]:
    """(``urlset`` | ``sitemapindex``, entries). News sitemap dates and titles preferred."""
    try:
        root = etree.fromstring(data, parser=_SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError(f"not well-formed XML: {exc}") from None
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise DiscoveryError(f"not a sitemap (root element <{kind}>)")
    entries = []
    for entry in root:
        fields: dict[str, str] = {}
        for child in entry.iter():
            name = _local(child.tag)
            if name and child.text and child.text.strip() and name not in fields:
                fields[name] = child.text.strip()
        if "loc" not in fields:
            continue
        date = parse_date(fields.get("publication_date")) or parse_date(fields.get("lastmod"))
        entries.append(Candidate(fields["loc"], date, fields.get("title")))
    return kind, entries


def parse_feed(data: bytes, base_url: str) -> list[Candidate]:
    """Entries of an RSS 2.0, RSS 1.0 or Atom feed (feedparser on bytes: it fetches nothing)."""
    parsed = feedparser.parse(data, response_headers={"content-location": base_url})
    if not parsed.entries and (parsed.bozo or not parsed.version):
        reason = parsed.get("bozo_exception") or "no feed entries"
        raise DiscoveryError(f"not a feed: {reason}")
    found = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            alternates = [x.get("href") for x in entry.get("links", []) if x.get("href")]
            link = alternates[0] if alternates else None
        if not link:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        date = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        found.append(Candidate(urljoin(base_url, link.strip()), date, entry.get("title")))
    return found


def feed_links(page: bytes | str, base_url: str) -> list[str]:
    """Feeds a homepage announces with ``<link rel="alternate" type="...rss/atom...">``."""
    try:
        tree = html.fromstring(page)
    except (etree.ParserError, ValueError):
        return []
    found = []
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            url = urljoin(base_url, href)
            if url not in found:
                found.append(url)
    return found


def robots_sitemaps(robots_txt: bytes | str, base_url: str) -> list[str]:
    """``Sitemap:`` lines of a robots.txt (Protego), made absolute."""
    text = robots_txt.decode("utf-8", "replace") if isinstance(robots_txt, bytes) else robots_txt
    return [urljoin(base_url, url) for url in Protego.parse(text).sitemaps]


def compile_patterns(patterns: list[str] | tuple[str, ...], what: str) -> list[re.Pattern[str]]:
    """Regexes for allow/deny filters; a bad one is an error naming it."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise DiscoveryError(f"invalid {what} pattern {pattern!r}: {exc}") from None
    return compiled


def url_allowed(url: str, allow: list[re.Pattern[str]], deny: list[re.Pattern[str]]) -> bool:
    """Allowed when it matches an allow pattern (or there are none) and no deny pattern."""
    if allow and not any(p.search(url) for p in allow):
        return False
    return not any(p.search(url) for p in deny)
