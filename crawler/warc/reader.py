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
from pathlib import Path

from fastwarc.warc import ArchiveIterator as FastIterator
from fastwarc.warc import WarcRecordType
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord

_NAMES = {
    int(getattr(WarcRecordType, name)): name
    for name in (
        "warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion",
        "continuation",
    )
}  # fmt: skip

# Records whose block is an HTTP message followed by a payload.
_HTTP = WarcRecordType.response | WarcRecordType.request


class WarcDamage(Exception):
    """The file cannot be read on: a corrupt gzip member, or a last one cut short."""


@dataclass(frozen=True, slots=True)
class ScannedRecord:
    """One record as found: where it starts, what it is, and whether its digests hold."""

    offset: int  # of its gzip member (what a manifest's warc_offset points at)
    record_type: str
    target_uri: str | None
    record_id: str | None
    block_ok: bool | None  # None: the record declares no block digest
    payload_ok: bool | None  # None: no payload digest declared, or not checked (revisit)


def scan_warc(path: str | Path) -> Iterator[ScannedRecord]:
    """Every record of a WARC file with its digests checked; WarcDamage where it breaks."""
    last: int | None = None
    try:
        for record in FastIterator(str(path), parse_http=False):
            headers = record.headers
            block_ok = (
                record.verify_block_digest(consume=False)
                if headers.get("WARC-Block-Digest")
                else None
            )
            payload_ok = None
            if headers.get("WARC-Payload-Digest") and record.record_type & _HTTP:
                record.parse_http()
                payload_ok = record.verify_payload_digest(consume=False)
            last = record.stream_pos
            yield ScannedRecord(
                offset=record.stream_pos,
                record_type=_NAMES.get(int(record.record_type), "unknown"),
                target_uri=_uri(headers.get("WARC-Target-URI")),
                record_id=record.record_id,
                block_ok=block_ok,
                payload_ok=payload_ok,
            )
    except OSError as exc:
        where = "from its first byte" if last is None else f"after the record at byte {last}"
        raise WarcDamage(f"unreadable {where}: {exc}") from None
    if last is not None and not _member_is_whole(path, last):
        # A cut in the last gzip member reads as a shorter record, not as an error.
        raise WarcDamage(f"the record at byte {last} is cut short (a truncated file)")


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
