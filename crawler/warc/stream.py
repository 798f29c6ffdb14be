"""Reading a WARC file as it arrives, a range of bytes at a time (CC-NEWS through the
downloader), in bounded memory.

A ``.warc.gz`` file is a sequence of gzip members, one record each. :func:`scan_chunk`
reads the whole members of a chunk that starts at a record boundary: of each record only
its WARC headers (and a response's HTTP status and Content-Type) are kept; the rest of the
block is inflated to find where the member ends, never kept, decoded or parsed. Records are
grouped into captures (a request, its response, the metadata after them: one target URI,
one response, its request before or after it), and the chunk's last capture, which may go
on in the next chunk, is left for it: the next chunk starts at its first byte (read again,
not carried in memory), so a retried or resumed read always starts at a whole capture.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

# Compressed bytes inflated per call: bounds what one call allocates.
_PIECE = 1 << 16
# Headers are looked for in the first this many inflated bytes of a record.
_HEADERS_MAX = 1 << 16


class StreamError(ValueError):
    """The bytes at *offset* are not a readable WARC record (corrupt, cut short)."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(f"byte {offset}: {message}")
        self.offset = offset


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record as found in the stream: where its gzip member is and what it says."""

    offset: int  # of its gzip member in the file
    length: int  # of its gzip member (compressed bytes)
    record_type: str
    headers: dict[str, str]  # WARC headers, names lower-cased (the first of repeated ones)
    status: int | None = None  # HTTP status (response records)
    content_type: str | None = None  # HTTP Content-Type (response records)

    @property
    def target_uri(self) -> str | None:
        uri = self.headers.get("warc-target-uri")
        if uri and uri.startswith("<") and uri.endswith(">"):
            return uri[1:-1]  # WARC/1.1's grammar once wrote it in angle brackets
        return uri

    @property
    def date(self) -> str | None:
        return self.headers.get("warc-date")

    @property
    def record_id(self) -> str | None:
        return self.headers.get("warc-record-id")


@dataclass(frozen=True, slots=True)
class Capture:
    """The records of one exchange, in file order (at most one response)."""

    records: tuple[StreamRecord, ...]

    @property
    def offset(self) -> int:
        return self.records[0].offset

    @property
    def end(self) -> int:
        last = self.records[-1]
        return last.offset + last.length

    @property
    def response(self) -> StreamRecord | None:
        return next((r for r in self.records if r.record_type == "response"), None)


def _fields(block: bytes) -> dict[str, str]:
    """``Name: value`` lines (the first line, a status or version line, left out)."""
    fields: dict[str, str] = {}
    for line in block.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            key = name.strip().decode("latin-1").lower()
            fields.setdefault(key, value.strip().decode("utf-8", "replace"))
    return fields


def _record(offset: int, length: int, head: bytes) -> StreamRecord:
    """A record from the first inflated bytes of its member."""
    if not head.startswith(b"WARC/"):
        raise StreamError(offset, "not a WARC record")
    end = head.find(b"\r\n\r\n")
    if end < 0:
        raise StreamError(offset, "WARC headers longer than 64 KB or cut short")
    headers = _fields(head[:end])
    record_type = headers.get("warc-type", "unknown")
    status = content_type = None
    if record_type == "response" and "application/http" in headers.get("content-type", ""):
        http = head[end + 4 :]
        http_end = http.find(b"\r\n\r\n")
        status_line = http[: http.find(b"\r\n")] if http_end >= 0 else b""
        parts = status_line.split(b" ", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            status = int(parts[1])
            content_type = _fields(http[:http_end]).get("content-type")
    return StreamRecord(offset, length, record_type, headers, status, content_type)


def _member(data: memoryview, start: int, base: int, final: bool) -> StreamRecord | None:
    """The record whose member starts at *start* of *data*, or None when the member does
    not end within *data* (and more is to come)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    head = b""
    position = start
    try:
        while not inflater.eof:
            if position >= len(data):
                if final:
                    raise StreamError(base + start, "cut short (the file ends inside a record)")
                return None
            piece = data[position : position + _PIECE]
            out = inflater.decompress(piece)
            if len(head) < _HEADERS_MAX:
                head += out[: _HEADERS_MAX - len(head)]
            position += len(piece) - len(inflater.unused_data)
    except zlib.error as exc:
        raise StreamError(base + start, f"not a whole gzip member ({exc})") from None
    return _record(base + start, position - start, head)


def _joins(capture: list[StreamRecord], record: StreamRecord) -> bool:
    """Whether *record* belongs to the capture being gathered: the same target URI, and
    not the next exchange (a request or response once the capture has its response,
    unless it is that response's own request, which some writers, this one among them,
    write after it: linked by ``WARC-Concurrent-To``)."""
    if not capture or record.record_type == "warcinfo":
        return False
    if record.target_uri != capture[0].target_uri or capture[0].record_type == "warcinfo":
        return False
    response = next((r for r in capture if r.record_type == "response"), None)
    if response is None or record.record_type not in ("request", "response"):
        return True
    if record.record_type == "response" or any(r.record_type == "request" for r in capture):
        return False
    return _concurrent(record, response)


def _concurrent(a: StreamRecord, b: StreamRecord) -> bool:
    """*a* and *b* name each other (either way) in ``WARC-Concurrent-To``."""
    return bool(
        (a.record_id and b.headers.get("warc-concurrent-to") == a.record_id)
        or (b.record_id and a.headers.get("warc-concurrent-to") == b.record_id)
    )


def scan_chunk(data: bytes | memoryview, offset: int, *, final: bool) -> tuple[list[Capture], int]:
    """The whole captures of *data* (bytes of a file from *offset*, which starts a record)
    and the offset the next chunk should start at: the first byte of the first capture
    not known to be whole (the file's end when *final*). StreamError where a record
    cannot be read."""
    view = memoryview(data)
    records: list[StreamRecord] = []
    position, whole = 0, True
    while position < len(view):
        record = _member(view, position, offset, final)
        if record is None:
            whole = False
            break
        records.append(record)
        position += record.length
    captures: list[list[StreamRecord]] = []
    for record in records:
        if captures and _joins(captures[-1], record):
            captures[-1].append(record)
        else:
            captures.append([record])
    if not (final and whole) and captures:
        # The last capture may go on in the next chunk (its metadata, or a response).
        return [Capture(tuple(c)) for c in captures[:-1]], captures[-1][0].offset
    return [Capture(tuple(c)) for c in captures], offset + position


def record_head(member: bytes) -> StreamRecord:
    """The headers of the record in one gzip *member* (its first 64 KB inflated)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        head = inflater.decompress(member, _HEADERS_MAX)
    except zlib.error as exc:
        raise StreamError(0, f"not a gzip member ({exc})") from None
    return _record(0, len(member), head)
