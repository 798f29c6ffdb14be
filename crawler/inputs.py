"""URL-list readers: txt, csv, tsv and jsonl, streamed one entry at a time.

Every entry of a list, valid or not, comes out as one :class:`InputEntry` with its
0-based position, so that every input line can get exactly one manifest line. Only the
file's header (csv/tsv) is checked eagerly, so a wrong column name fails at start.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from w3lib.url import canonicalize_url

from crawler.items import FoundLink

DEFAULT_MAX_URL_LENGTH = 2083
# A line longer than this is not read into memory whole (a URL list is not a data dump).
MAX_LINE_BYTES = 1024 * 1024
ALLOWED_SCHEMES = ("http", "https")

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class InputFormatError(ValueError):
    """The input file as a whole cannot be read (missing, wrong header, unknown form)."""


class InvalidURL(ValueError):
    """One input entry is not a fetchable http(s) URL; the message says why."""


@dataclass(frozen=True, slots=True)
class InputEntry:
    position: int  # 0-based index among the list's entries (blank and comment lines skipped)
    line: int  # 1-based line (txt, jsonl) or row (csv, tsv) number, for messages
    raw: str  # the entry as read, stripped
    url: str | None  # the validated URL, or None when invalid
    error: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # other columns (e.g. ``date``)


def validate_url(text: str, max_length: int = DEFAULT_MAX_URL_LENGTH) -> str:
    """Return *text* if it is an absolute http(s) URL a crawler may fetch, else raise InvalidURL."""
    if not text:
        raise InvalidURL("empty URL")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise InvalidURL("not valid UTF-8")
    if len(text) > max_length:
        raise InvalidURL(f"URL is {len(text)} characters long, over the limit of {max_length}")
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise InvalidURL("URL contains whitespace or control characters")
    match = _SCHEME_RE.match(text)
    if not match:
        raise InvalidURL("not an absolute URL (no scheme)")
    scheme = match.group(1).lower()
    if scheme not in ALLOWED_SCHEMES:
        raise InvalidURL(f"unsupported scheme {scheme!r} (only http and https are fetched)")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidURL(f"malformed URL: {exc}") from None
    if not host:
        raise InvalidURL("URL has no host")
    if port == 0:
        raise InvalidURL("URL has port 0")
    try:
        canonicalize_url(text)
        host.encode("idna")
    except (ValueError, UnicodeError) as exc:
        raise InvalidURL(f"invalid host name {host!r}: {exc}") from None
    return text


def read_url_list(
    path: str | Path, max_length: int = DEFAULT_MAX_URL_LENGTH
) -> Iterator[InputEntry]:
    """Yield every entry of a URL list, lazily. The form follows the file suffix."""
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(f"URL list {str(path)!r} does not exist or is not a file")
    suffix = path.suffix.lower()
    # utf-8-sig drops a BOM; surrogateescape keeps undecodable bytes so the entry can be
    # reported (validate_url rejects them) instead of crashing the whole read.
    handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    if suffix in (".csv", ".tsv"):
        try:
            rows = _csv_entries(handle, "\t" if suffix == ".tsv" else ",", path)
        except InputFormatError:
            handle.close()
            raise
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_entries(handle)
    else:
        rows = _txt_entries(handle)
    return _validated(handle, rows, max_length)


def count_entries(path: str | Path) -> int:
    """How many entries a URL list has (for progress and ETA), read quickly in binary."""
    path = Path(path)
    suffix = path.suffix.lower()
    count = 0
    with path.open("rb") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or (
                suffix not in (".csv", ".tsv", ".jsonl", ".ndjson") and line[:1] == b"#"
            ):
                continue
            count += 1
    # A csv/tsv header is not an entry (quoted multi-line cells make this approximate).
    return max(0, count - 1) if suffix in (".csv", ".tsv") else count


def _validated(
    handle: IO[str],
    rows: Iterator[tuple[int, str, str | None, dict[str, str]]],
    max_length: int,
) -> Iterator[InputEntry]:
    with handle:
        for position, (line, raw, error, fields) in enumerate(rows):
            url = None
            if error is None:
                try:
                    url = validate_url(raw, max_length)
                except InvalidURL as exc:
                    error = str(exc)
            yield InputEntry(position, line, _printable(raw), url, error, fields)


def _printable(raw: str) -> str:
    # Undecodable bytes stay visible as \xNN in the manifest instead of breaking JSON.
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _bounded_lines(handle: IO[str]) -> Iterator[tuple[int, str, bool]]:
    """Lines with their number; an over-long line is skipped in chunks, flagged True."""
    lineno = 0
    while True:
        line = handle.readline(MAX_LINE_BYTES)
        if not line:
            return
        lineno += 1
        too_long = False
        while not line.endswith("\n") and len(line) >= MAX_LINE_BYTES:
            too_long = True
            line = handle.readline(MAX_LINE_BYTES)
            if not line:
                break
        yield lineno, ("" if too_long else line), too_long


def _txt_entries(handle: IO[str]) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    for lineno, line, too_long in _bounded_lines(handle):
        if too_long:
            yield lineno, "<line too long>", f"line over {MAX_LINE_BYTES} bytes", {}
            continue
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        yield lineno, text, None, {}


def _jsonl_entries(handle: IO[str]) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    for lineno, line, too_long in _bounded_lines(handle):
        if too_long:
            yield lineno, "<line too long>", f"line over {MAX_LINE_BYTES} bytes", {}
            continue
        text = line.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield lineno, text[:200], f"invalid JSON: {exc}", {}
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("url"), str):
            yield lineno, text[:200], 'no "url" string in this JSON line', {}
            continue
        fields = {str(k): str(v) for k, v in obj.items() if k != "url" and v is not None}
        yield lineno, obj["url"].strip(), None, fields


def _csv_entries(
    handle: IO[str], delimiter: str, path: Path
) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    """Reads the header now (a missing ``url`` column fails at start), rows lazily."""
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return iter(())
    except csv.Error as exc:
        raise InputFormatError(f"{path}: unreadable header: {exc}") from None
    names = [name.strip().lower() for name in header]
    if "url" not in names:
        raise InputFormatError(f"{path}: no 'url' column in header {header!r}")
    return _csv_rows(reader, names, names.index("url"), delimiter)


def _csv_rows(
    reader: Iterator[list[str]], names: list[str], url_col: int, delimiter: str
) -> Iterator[tuple[int, str, str | None, dict[str, str]]]:
    row_no = 0
    while True:
        row_no += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield row_no, f"<row {row_no}>", f"unreadable row: {exc}", {}
            continue
        if not any(cell.strip() for cell in row):
            continue
        if url_col >= len(row):
            yield row_no, delimiter.join(row)[:200], "row has no url cell", {}
            continue
        fields = {
            name: row[i].strip()
            for i, name in enumerate(names)
            if i < len(row) and i != url_col and name and row[i].strip()
        }
        yield row_no, row[url_col].strip(), None, fields


# -- seed documents ------------------------------------------------------------------------
# Links to these are media or documents, not articles: skipped unless asked for.
MEDIA_EXTENSIONS = frozenset(
    (
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "svg",
        "ico",
        "bmp",
        "tif",
        "tiff",
        "avif",
        "heic",
        "mp4",
        "m4v",
        "webm",
        "mov",
        "avi",
        "mkv",
        "mp3",
        "m4a",
        "wav",
        "ogg",
        "oga",
        "flac",
        "aac",
        "zip",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "7z",
        "rar",
        "tar",
        "iso",
        "dmg",
        "exe",
        "msi",
        "apk",
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "epub",
        "woff",
        "woff2",
        "ttf",
        "css",
        "js",
        "json",
    )
)
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
SNIFF_BYTES = 64 * 1024

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


class SeedSkipped(Exception):
    """A seed file that cannot be read as a document (binary, empty, too big, not text)."""


@dataclass(frozen=True, slots=True)
class SeedDocument:
    path: Path
    base_url: str | None  # where the document came from (front matter url), for relative links
    date: str | None  # front matter date, if any
    links: Iterator[FoundLink]  # lazily read; consume once


def find_seed_files(spec: str | Path) -> list[Path]:
    """A file, every file under a directory (recursively, hidden ones skipped), or a glob."""
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = [
            p for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        ]  # fmt: skip
    else:
        import glob

        found = [Path(p) for p in glob.glob(str(spec), recursive=True) if Path(p).is_file()]
    if not found:
        raise InputFormatError(f"no seed documents at {str(spec)!r}")
    return sorted(found)


def is_media(url: str) -> bool:
    """True when the URL's path ends in a media or document extension."""
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return dot > path.rfind("/") and path[dot + 1 :] in MEDIA_EXTENSIONS


def _clean_bare_url(url: str) -> str:
    while url:
        if url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")")):
            url = url[:-1]
        else:
            break
    return url


def _anchor(text: str) -> str:
    return " ".join(text.split())


def _absolute(url: str, base: str | None) -> str | None:
    """Absolute http(s) URL, resolved against *base* when relative; None otherwise."""
    url = url.strip()
    scheme = _SCHEME_RE.match(url)
    if scheme:
        return url if scheme.group(1).lower() in ALLOWED_SCHEMES else None
    if url.startswith("#") or not base:
        return None
    from urllib.parse import urljoin

    joined = urljoin(base, url)
    return joined if joined.lower().startswith(("http://", "https://")) else None


class LinkCounter:
    """Counts what a reader skipped, so the crawl can report it."""

    def __init__(self) -> None:
        self.relative_skipped = 0
        self.media_skipped = 0


def markdown_links(
    lines: Iterator[str] | list[str],
    base: str | None = None,
    media: bool = False,
    counter: LinkCounter | None = None,
) -> Iterator[FoundLink]:
    """Links in markdown or plain text, in document order.

    Inline ``[a](url)``, reference ``[a][ref]`` with ``[ref]: url`` (resolved at the
    end, wherever the definition is), ``<autolinks>`` and bare URLs (without trailing
    punctuation or unbalanced closing brackets). Relative URLs need *base*.
    """
    counter = counter or LinkCounter()
    definitions: dict[str, str] = {}
    references: list[tuple[str, str, bool]] = []

    def accept(raw: str, anchor: str, image: bool) -> FoundLink | None:
        url = _absolute(raw, base)
        if url is None:
            if not _SCHEME_RE.match(raw.strip()) and not raw.startswith("#"):
                counter.relative_skipped += 1
            return None
        if not media and (image or is_media(url)):
            counter.media_skipped += 1
            return None
        return FoundLink(url, _anchor(anchor))

    for line in lines:
        if "[" not in line and "<" not in line and "://" not in line:
            continue  # most lines of prose hold no link: skip the regex passes
        definition = _MD_REF_DEF.match(line)
        if definition:
            definitions.setdefault(definition.group(1).strip().lower(), definition.group(2))
            continue
        rest = line
        for pattern in (_MD_INLINE, _MD_REF_USE, _AUTOLINK):
            found = []
            for match in pattern.finditer(rest):
                found.append(match)
            for match in found:
                if pattern is _MD_INLINE:
                    link = accept(match.group(3), match.group(2), bool(match.group(1)))
                    if link:
                        yield link
                elif pattern is _MD_REF_USE:
                    ref = (match.group(3) or match.group(2)).strip().lower()
                    references.append((ref, match.group(2), bool(match.group(1))))
                else:
                    link = accept(match.group(1), "", False)
                    if link:
                        yield link
            rest = pattern.sub(" ", rest)
        for match in _BARE_URL.finditer(rest):
            link = accept(_clean_bare_url(match.group(0)), "", False)
            if link:
                yield link
    for ref, anchor, image in references:
        if ref in definitions:
            link = accept(definitions[ref], anchor, image)
            if link:
                yield link


def _html_links(
    path: Path, base: str | None, media: bool, counter: LinkCounter
) -> Iterator[FoundLink]:
    """``<a href>`` links of an HTML file, parsed incrementally (bounded memory)."""
    from lxml import etree

    parser = etree.HTMLPullParser(events=("end",), tag=("a", "base", "link"))
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
                    yield from _accept_html(pending, base, media, counter)
                    pending.clear()
        parser.close()
    yield from _accept_html(pending, base, media, counter)


def _accept_html(
    pending: list[tuple[str, str]], base: str | None, media: bool, counter: LinkCounter
) -> Iterator[FoundLink]:
    for href, text in pending:
        url = _absolute(href, base)
        if url is None:
            if not _SCHEME_RE.match(href) and not href.startswith("#"):
                counter.relative_skipped += 1
            continue
        if not media and is_media(url):
            counter.media_skipped += 1
            continue
        yield FoundLink(url, _anchor(text))


def _front_matter(handle: IO[str]) -> tuple[dict, list[str]]:
    """YAML front matter (``---`` ... ``---``) at the top, and the lines read past it."""
    first = handle.readline()
    if first.strip() != "---":
        return {}, [first]
    block: list[str] = []
    for _ in range(2000):
        line = handle.readline()
        if not line or line.strip() in ("---", "..."):
            break
        block.append(line)
    else:
        return {}, [first, *block]  # no closing fence: not front matter
    try:
        import yaml

        data = yaml.safe_load("".join(block))
    except Exception:  # a malformed header is text, not a reason to lose the document
        return {}, [first, *block]
    return (data if isinstance(data, dict) else {}), []


def read_seed(
    path: Path, *, max_bytes: int, media: bool = False, counter: LinkCounter | None = None
) -> SeedDocument:
    """Open a seed document; raise SeedSkipped when it is no readable text or HTML."""
    counter = counter or LinkCounter()
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise SeedSkipped(f"unreadable: {exc}") from None
    if size > max_bytes:
        raise SeedSkipped(f"too large: {size} bytes (SEEDS_MAX_BYTES is {max_bytes})")
    if not head.strip():
        raise SeedSkipped("empty")
    if b"\x00" in head:
        raise SeedSkipped("binary (contains NUL bytes)")
    sniff = head.lstrip()[:200].lower()
    is_html = path.suffix.lower() in HTML_SUFFIXES or sniff.startswith(
        (b"<!doctype html", b"<html")
    )
    if is_html:
        return SeedDocument(path, None, None, _html_links(path, None, media, counter))
    try:
        # a multi-byte character cut at the sniff boundary is not an error
        head.decode("utf-8-sig") if len(head) < SNIFF_BYTES else head[:-4].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SeedSkipped("not UTF-8 text") from None
    handle = path.open(encoding="utf-8-sig", errors="replace")
    meta, replay = _front_matter(handle)
    base = next(
        (str(meta[k]) for k in ("url", "source_url", "link", "canonical") if meta.get(k)), None
    )
    date = str(meta["date"]) if meta.get("date") else None
    if base is not None and not _SCHEME_RE.match(base):
        base = None

    def lines() -> Iterator[str]:
        with handle:
            yield from replay
            yield from handle

    return SeedDocument(path, base, date, markdown_links(lines(), base, media, counter))
