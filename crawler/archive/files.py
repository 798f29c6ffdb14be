"""Files a crawl writes besides WARCs: text dumps (atomic), manifest and links (append-only).

No partially written file survives a crash: a dump is written to a temporary file in
the same directory and renamed over its final name (:func:`remove_stale_temp_files`
deletes what a kill left); a line torn by a kill is cut off (:func:`repair_torn_tail`)
before the file is appended to again; a WARC file a kill left ``.open`` is cut after its
last whole record and closed (:func:`close_open_warc`). :class:`crawler.archive.directory.Archive`
runs all three.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from crawler.core.items import LinkRecord
from crawler.core.manifest import (
    ARTICLE_FIELDS,
    CAPTURE_FIELDS,
    GROUP_FIELDS,
    ORIGIN_FIELDS,
    ManifestRecord,
)
from crawler.warc.reader import member_ends
from crawler.warc.writer import OPEN_SUFFIX


class StorageError(OSError):
    """An output file could not be written: the run must fail."""


def atomic_write_text(path: str | Path, text: str, durable: bool = False) -> None:
    """Write *text* (UTF-8) to *path* so readers see the old file or the new, never half.

    The rename makes it atomic against a killed process; *durable* also fsyncs before
    it, against a power cut (costly per file: off for text dumps, which the WARC holds).
    """
    path = Path(path)
    # Beside it, named after it and this process (one writer per archive holds the lock;
    # the pid keeps `scrapy report` and a crawl apart): cheaper than mkstemp's random
    # names, and a kill's leftover matches remove_stale_temp_files.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {exc}") from exc


def repair_torn_tail(path: str | Path) -> int:
    """Cut a last line that has no newline (a write killed half-way). Returns bytes cut."""
    path = Path(path)
    if not path.exists():
        return 0
    with path.open("rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return 0
        # Scan backwards for the last newline, a block at a time.
        pos = size
        keep = 0
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            fh.seek(pos)
            block = fh.read(step)
            idx = block.rfind(b"\n")
            if idx >= 0:
                keep = pos + idx + 1
                break
        fh.truncate(keep)
        return size - keep


def remove_stale_temp_files(directory: str | Path) -> int:
    """Delete temporary dump files a killed run left behind (never a finished dump)."""
    removed = 0
    for tmp in Path(directory).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


class JsonLinesWriter:
    """Appends one JSON object per line to a file, flushed per line; append-only.

    ``position`` is the byte offset just past the last line written. Opened lazily, at
    the first line; the file must end in a whole line (:func:`repair_torn_tail`).
    """

    kind = "JSON lines file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.position = 0
        self._fh: IO[bytes] | None = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("ab")
            self.position = self._fh.seek(0, os.SEEK_END)
        except OSError as exc:
            raise StorageError(f"cannot open {self.kind} {self.path}: {exc}") from exc

    def write_object(self, data: dict) -> None:
        self.write_objects((data,))

    def write_objects(self, objects: Iterable[dict]) -> None:
        """Lines in one write call: a kill can tear at most the last line."""
        if self._fh is None:
            self.open()
        assert self._fh is not None
        lines = "".join(
            json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n" for data in objects
        )
        try:
            self.position += self._fh.write(lines.encode("utf-8"))
            self._fh.flush()
        except OSError as exc:
            raise StorageError(f"cannot append to {self.kind} {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._fh is None:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        except OSError as exc:
            raise StorageError(f"cannot close {self.kind} {self.path}: {exc}") from exc
        finally:
            self._fh = None


class ManifestWriter(JsonLinesWriter):
    """``manifest.jsonl``: one line per input URL, fields in contract order."""

    kind = "manifest"

    def write(self, record: ManifestRecord) -> None:
        data = dataclasses.asdict(record)
        # Only discovered URLs carry `via`, only archive captures `memento_*`, only grouped
        # articles the group fields, only dumps written since it was recorded `dump_sha256`,
        # only pages captured with their requisites (or rendered) the capture fields.
        for optional in ("via", "memento_url", "memento_datetime", "access", "access_evidence",
                         *GROUP_FIELDS, "dump_sha256", *ARTICLE_FIELDS,
                         *ORIGIN_FIELDS, *CAPTURE_FIELDS):  # fmt: skip
            if data[optional] is None:
                del data[optional]
        self.write_object(data)


class LinksWriter(JsonLinesWriter):
    """``links.jsonl``: the citation graph, one line per link taken or found."""

    kind = "links file"

    def write(self, links: Iterable[LinkRecord]) -> None:
        self.write_objects(
            {"from": link.from_, "to": link.to, "url": link.url, "anchor": link.anchor}
            for link in links
        )


def close_open_warc(path: Path) -> tuple[Path | None, int]:
    """Close a WARC file a killed crawl left ``.open``: cut a torn last record, rename.

    Records are written one gzip member each and flushed whole, so every complete member
    is a complete record. Only with the lock held (no live writer). A file with no
    complete record is removed. Returns the closed file (None if removed) and the bytes cut.
    """
    good = max(member_ends(path), default=0)  # past the last whole record
    size = path.stat().st_size
    if good == 0:
        path.unlink()
        return None, size
    with path.open("rb+") as fh:
        fh.truncate(good)
        fh.flush()
        os.fsync(fh.fileno())
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    os.replace(path, final)
    logging.getLogger(__name__).warning(
        "Closed %s left open by an interrupted crawl (%d bytes cut)", final.name, size - good
    )
    return final, size - good
