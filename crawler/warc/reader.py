"""Reading WARC files: one record at a pointer, every record (warcio), every record's
place, identity and digests fast (FastWARC), and the gzip members a file is made of.

warcio writes the archive; reading it back whole (``verify``: every digest of every
record of a 1 GB file) is FastWARC's job, a C++ reader several times faster. Block and
payload digests are recomputed as ``warcio check`` does (a revisit record has no payload
of its own: its payload digest names the original's, and is not checked).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from fastwarc.warc import ArchiveIterator as FastIterator
from fastwarc.warc import WarcRecordType
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

from crawler.core.items import FetchedPage, PageRef, WarcPointer

_NAMES = {
    int(getattr(WarcRecordType, name)): name
    for name in (
        "warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion",
        "continuation",
    )
}  # fmt: skip

# Records whose block is an HTTP message followed by a payload.
_HTTP = WarcRecordType.response | WarcRecordType.request


@dataclass(frozen=True, slots=True)
class ScannedRecord:
    """One record as found: where it starts, what it is, and whether its digests hold."""

    offset: int  # of its gzip member (what a manifest's warc_offset points at)
    record_type: str
    target_uri: str | None
    record_id: str | None
    block_ok: bool | None  # None: the record declares no block digest
    payload_ok: bool | None  # None: no payload digest declared, or not checked (revisit)
    # A revisit of the server-not-modified profile (a 304 answering a conditional GET):
    # left out of the CDXJ index, where pywb would replay the 304 itself.
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class DamagedRange:
    """Bytes of a WARC file that cannot be read: from *start* (the first byte past the last
    whole record) to *end* (where a record could be read again, or the end of the file)."""

    start: int
    end: int
    message: str
    resumed: bool  # reading went on at *end* (False: nothing readable after it)


def scan_warc(path: str | Path) -> Iterator[ScannedRecord | DamagedRange]:
    """Every record of a WARC file with its digests checked. Where the file is damaged
    (a corrupt gzip member, a last one cut short), one :class:`DamagedRange`, and reading
    goes on at the next gzip member that starts a WARC record."""
    start: int | None = 0
    while start is not None:
        start = yield from _scan_from(path, start)


def _scan_from(path: str | Path, start: int) -> Iterator[ScannedRecord | DamagedRange]:
    """The records from byte *start* on, up to the end or to damage (then its range);
    returns where to read on (None: the end)."""
    last: int | None = None
    with open(path, "rb") as fh:
        fh.seek(start)
        try:
            for record in FastIterator(fh, parse_http=False):
                last = record.stream_pos
                yield _scanned(record)
        except OSError as exc:
            return (yield from _damage(path, start, last, f"unreadable: {exc}"))
    if last is not None and not _member_is_whole(path, last):
        # A cut in the last gzip member reads as a shorter record, not as an error.
        return (yield from _damage(path, start, last, "cut short (a truncated file?)"))
    return None


def _damage(path: str | Path, start: int, last: int | None, why: str) -> Iterator[DamagedRange]:
    """The range from the end of the last whole record read (or *start*: none was; or
    the start of the last record read, when it is not whole) to the next record."""
    begin = start if last is None else next(member_ends(path, last), last)
    resume = next_record_start(path, begin + 1)
    end = resume if resume is not None else Path(path).stat().st_size
    yield DamagedRange(begin, end, f"bytes {begin} to {end} {why}", resume is not None)
    return resume


def _scanned(record: Any) -> ScannedRecord:
    headers = record.headers
    block_ok = (
        record.verify_block_digest(consume=False) if headers.get("WARC-Block-Digest") else None
    )
    payload_ok = None
    if headers.get("WARC-Payload-Digest") and record.record_type & _HTTP:
        record.parse_http()
        payload_ok = record.verify_payload_digest(consume=False)
    return ScannedRecord(
        offset=record.stream_pos,
        record_type=_NAMES.get(int(record.record_type), "unknown"),
        target_uri=_uri(headers.get("WARC-Target-URI")),
        record_id=record.record_id,
        block_ok=block_ok,
        payload_ok=payload_ok,
        not_modified=(headers.get("WARC-Profile") or "").endswith("/server-not-modified"),
    )


_GZIP_MAGIC = b"\x1f\x8b\x08"


def next_record_start(path: str | Path, start: int) -> int | None:
    """The first offset from *start* on where a gzip member begins whose text starts as a
    WARC record does (``WARC/``): where reading can go on past damage."""
    with open(path, "rb") as fh:
        fh.seek(start)
        position, tail = start, b""
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            base = position - len(tail)
            found = data.find(_GZIP_MAGIC)
            while found != -1:
                if _starts_a_record(path, base + found):
                    return base + found
                found = data.find(_GZIP_MAGIC, found + 1)
            tail = data[-(len(_GZIP_MAGIC) - 1) :]
            position += len(chunk)
    return None


def _starts_a_record(path: str | Path, offset: int) -> bool:
    with open(path, "rb") as fh:
        fh.seek(offset)
        head = fh.read(4096)
    try:
        text = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, 16)
    except zlib.error:
        return False
    return text.startswith(b"WARC/")


def _uri(value: str | None) -> str | None:
    # WARC/1.1's grammar once wrote the URI in angle brackets, and wget still does.
    if value and value.startswith("<") and value.endswith(">"):
        return value[1:-1]
    return value


def member_ends(path: str | Path, start: int = 0) -> Iterator[int]:
    """The offset just past each whole gzip member of *path* from byte *start* on (a
    record each, in a WARC file), up to the first corrupt or cut-short one."""
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    position = start
    with open(path, "rb") as fh:
        fh.seek(start)
        while chunk := fh.read(1 << 20):
            data = chunk
            while data:
                try:
                    decompressor.decompress(data)
                except zlib.error:
                    return
                if decompressor.eof:
                    position += len(data) - len(decompressor.unused_data)
                    yield position
                    data = decompressor.unused_data
                    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
                else:
                    position += len(data)
                    data = b""


def _member_is_whole(path: str | Path, offset: int) -> bool:
    """Whether the gzip member at *offset* ends whole (its trailer read and checked)."""
    return next(member_ends(path, offset), None) is not None


# -- reading -----------------------------------------------------------------------------
def iter_records(path: str | Path) -> Iterator[ArcWarcRecord]:
    """Every record of a WARC file, payloads left as stored (not content-decoded)."""
    with open(path, "rb") as fh:
        yield from ArchiveIterator(fh)


def read_record_at(path: str | Path, offset: int) -> tuple[ArcWarcRecord, bytes]:
    """The record whose gzip member starts at *offset*, with its raw payload bytes."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)))
        return record, record.raw_stream.read()


def read_member(member: bytes) -> ArcWarcRecord:
    """The record of one gzip member (a record copied whole, or read from a stream)."""
    return next(iter(ArchiveIterator(BytesIO(member))))


def warc_date_seconds(warc_date: str | None) -> str | None:
    """A WARC-Date as the manifest writes ``fetched_at``: second precision, ``Z``."""
    return warc_date[:19] + "Z" if warc_date and len(warc_date) >= 19 else warc_date


def record_page(
    record: ArcWarcRecord, page: PageRef, pointer: WarcPointer | None, **fields: Any
) -> FetchedPage:
    """A FetchedPage of a WARC response record: its payload as the crawl reads a response
    (chunked transfer coding and Content-Encoding undone: warcio's ``content_stream``)."""
    http = record.http_headers
    return FetchedPage(
        page,
        final_url=record.rec_headers.get_header("WARC-Target-URI"),
        status=int(http.get_statuscode()),
        content_type=http.get_header("Content-Type"),
        body=record.content_stream().read(),
        warc=pointer,
        **fields,
    )
