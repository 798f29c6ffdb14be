"""The archive's CDXJ index: one sorted line per record, the format pywb and cdxj-indexer use.

Lines come from ``cdxj-indexer`` itself (so pywb reads them as its own): a SURT key, a
timestamp, and a JSON block with the URL, MIME type, status, payload digest, length,
offset and file name. Request, response and revisit records are indexed; a request's
line says ``"type": "request"`` right after its URL, which sorts it after the response
of the same URL and second, so pywb (which replays the first match) never replays a
request. A page recovered from the Internet Archive gets a second line: its record under
the page's own URL at the memento's date (``"via"`` names the URL it was fetched from),
so it replays where a reader looks for it. A ``304 Not Modified`` revisit (a requisite
revalidated by a later run) is left out: pywb would replay the 304 itself, where the
capture it refers to (listed) is what a reader needs. A crawl adds the WARC files it closed at its
end, merged into the sorted index (a new file written beside it, then renamed);
``scrapy index`` rebuilds it.
"""

from __future__ import annotations

import heapq
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from crawler.warc.writer import target_uri

INDEXED_RECORDS = ("response", "revisit", "request")


class CdxIndexError(Exception):
    """The index could not be written, or a WARC file not indexed (unreadable, gone)."""


class MementoAlias(NamedTuple):
    """A memento's record (file name in warc/, byte offset), the page it is a capture
    of, and when the Internet Archive captured it (14 digits)."""

    warc_file: str
    warc_offset: int
    original: str
    timestamp: str


def index_lines(paths: Iterable[Path], aliases: Iterable[MementoAlias] = ()) -> list[str]:
    """The sorted CDXJ lines of the WARC files *paths* (named by file name alone), and a
    line per alias whose record is in them."""
    # Imported here: cdxj-indexer and surt (pkg_resources, tldextract) cost 0.3 s to
    # import, which a crawl pays only at its end, when it indexes.
    from cdxj_indexer.main import CDXJIndexer

    lines: list[str] = []
    wanted = {(a.warc_file, a.warc_offset): a for a in aliases}
    for path in paths:
        out = io.StringIO()
        try:
            CDXJIndexer(output=out, inputs=[str(path)], sort=False,
                        records=",".join(INDEXED_RECORDS),
                        filename=Path(path).name).process_all()  # fmt: skip
        except Exception as exc:  # warcio's and cdxj-indexer's errors are of many kinds
            raise CdxIndexError(f"cannot index {path}: {exc!r}") from exc
        for raw in out.getvalue().splitlines(keepends=True):
            line = _typed(raw)
            _, _, fields = parse_line(line)
            if record_type(fields) == "revisit" and fields.get("status") == "304":
                continue  # a conditional GET's 304: pywb would replay it as is
            lines.append(line)
            alias = wanted.get((fields["filename"], int(fields["offset"])))
            if alias is not None and record_type(fields) != "request":
                lines.append(_alias(alias, fields))
    lines.sort()
    return lines


def _alias(alias: MementoAlias, fields: dict) -> str:
    block = {**fields, "url": alias.original, "via": fields["url"]}
    return f"{url_key(alias.original)} {alias.timestamp} {json.dumps(block)}\n"


def _digits(iso: str) -> str:
    return "".join(c for c in iso if c.isdigit())[:14]


def indexed_as(line: dict) -> tuple[str, str]:
    """The URL and 14-digit timestamp under which the index lists the capture of a
    manifest *line*: a memento's own page and date, else the URL fetched, when (either
    without its fragment, as records name their URL)."""
    if line.get("memento_datetime"):
        return target_uri(line["url"]), _digits(line["memento_datetime"])
    return target_uri(line["final_url"]), _digits(line["fetched_at"])


def url_key(url: str) -> str:
    """The SURT sort key of *url*, as cdxj-indexer writes it."""
    import surt  # see index_lines

    try:
        return surt.surt(url)
    except ValueError:  # what surt cannot parse is keyed as itself, as cdxj-indexer does
        return url


def parse_line(line: str) -> tuple[str, str, dict]:
    """A CDXJ line's key, timestamp and JSON block (ValueError if it is not one)."""
    key, stamp, block = line.rstrip("\n").split(" ", 2)
    fields = json.loads(block)
    if not isinstance(fields, dict):
        raise ValueError("the block is not a JSON object")
    return key, stamp, fields


def record_type(fields: dict) -> str:
    """What a line indexes: request, revisit (``"mime": "warc/revisit"``) or response."""
    if fields.get("type") == "request":
        return "request"
    return "revisit" if fields.get("mime") == "warc/revisit" else "response"


def _typed(line: str) -> str:
    key, stamp, block = line.split(" ", 2)
    fields = json.loads(block)
    if "mime" in fields or "status" in fields:  # a response or a revisit
        return line
    url = fields.pop("url")
    return f"{key} {stamp} {json.dumps({'url': url, 'type': 'request', **fields})}\n"


def _replace(index: Path, lines: Iterable[str]) -> int:
    try:
        index.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=index.parent, prefix=f".{index.name}.", suffix=".tmp")
    except OSError as exc:
        raise CdxIndexError(f"cannot write {index}: {exc}") from exc
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            last = None
            for line in lines:
                if line != last:  # a file indexed twice adds nothing
                    fh.write(line)
                    count += 1
                last = line
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, index)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CdxIndexError(f"cannot write {index}: {exc}") from exc
        raise
    return count


def _read(index: Path) -> Iterator[str]:
    if index.exists():
        with index.open(encoding="utf-8") as fh:
            yield from fh


_FILENAME = re.compile(r'"filename": "((?:[^"\\]|\\.)*)"')


def indexed_files(index: Path) -> set[str]:
    """The WARC file names the index has lines for."""
    names: set[str] = set()
    try:
        for line in _read(index):
            if found := _FILENAME.search(line):
                names.add(json.loads(f'"{found.group(1)}"'))
    except (OSError, UnicodeDecodeError) as exc:
        raise CdxIndexError(f"cannot read {index}: {exc}") from exc
    return names


def add_to_index(index: Path, warcs: Iterable[Path], aliases: Iterable[MementoAlias] = ()) -> int:
    """Merge the lines of *warcs* into the sorted *index*; returns its lines."""
    return _replace(index, heapq.merge(_read(index), index_lines(warcs, aliases)))


def rebuild_index(index: Path, warcs: Iterable[Path], aliases: Iterable[MementoAlias] = ()) -> int:
    """The index of *warcs* alone, replacing *index*; returns its lines."""
    return _replace(index, index_lines(warcs, aliases))
