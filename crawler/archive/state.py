"""What earlier runs did: the state store (embedded default: SQLite at ARCHIVE_DIR/state.sqlite).

Holds, per URL id, its last final outcome (written only after the manifest line is on
disk), the payload digest and WARC record of its last full capture (for revisit
records), the seq given to discovered URLs, feed validators (ETag, Last-Modified) for
conditional GETs, and the last capture of each page requisite (CAPTURE=requisites).
The manifest stays the source of truth: lines appended after the last recorded one (a
run killed between writing a line and recording it) are read back in by
:meth:`StateStore.catch_up`.

:class:`StateStore` is the interface the crawl uses; :class:`SqliteStateStore` is the
one-machine implementation. The archive lock is :class:`crawler.archive.directory.Archive`'s.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from crawler.archive.groups import GroupIndex
from crawler.archive.sqlitetx import change
from crawler.core.identity import format_seq
from crawler.core.items import EarlierCapture, FoundRequisite, RequisiteCapture
from crawler.core.manifest import MANIFEST_FIELDS, ManifestRecord
from crawler.core.outcomes import ARCHIVED, UNCHANGED
from crawler.core.timefmt import parse_iso_utc

# Discovered URLs (seeds, feeds) are numbered from 000 in the order they are first
# seen, like the seed documents. Their names cannot collide with a URL list's, which
# are numbered by list position: the id in the file name differs.
DISCOVERED_SEQ_START = 0


@dataclass(frozen=True, slots=True)
class UrlState:
    id: str
    seq: str | None
    outcome: str | None
    fetched_at: str | None
    final_url: str | None = None
    payload_digest: str | None = None
    record_id: str | None = None
    warc_date: str | None = None
    text_file: str | None = None

    def archived(self) -> bool:
        return self.outcome in ARCHIVED

    def older_than(self, age: timedelta, now: datetime | None = None) -> bool:
        if not self.fetched_at:
            return True
        when = parse_iso_utc(self.fetched_at)
        return (now or datetime.now(UTC)) - when >= age

    def earlier_capture(self) -> EarlierCapture | None:
        """The last full capture, which a revisit record can refer to, if there is one."""
        if not (self.payload_digest and self.final_url and self.warc_date):
            return None
        return EarlierCapture(
            uri=self.final_url,
            date=self.warc_date,
            record_id=self.record_id,
            payload_digest=self.payload_digest,
            text_file=self.text_file,
        )


class StateStore(Protocol):
    """What a crawl asks of the state store (SQLite here; Redis for distributed jobs).

    Every caller goes through these methods: a store without batches, regroup markers or
    a syndication index says so through them (False, None), never by a missing method.
    """

    def lookup(self, id_: str) -> UrlState | None: ...
    def seq_for(self, id_: str, url: str) -> str: ...
    def record(
        self,
        record: ManifestRecord,
        *,
        manifest_end: int,
        payload_digest: str | None = None,
        record_id: str | None = None,
        warc_date: str | None = None,
    ) -> None: ...
    def catch_up(self, manifest: Path) -> int: ...
    def validators(self, url: str) -> tuple[str | None, str | None]: ...
    def set_validators(self, url: str, etag: str | None, last_modified: str | None) -> None: ...
    def requisite(self, url: str) -> RequisiteCapture | None: ...
    def set_requisite(self, url: str, capture: RequisiteCapture) -> None: ...
    def forget(self) -> None: ...
    def begin_batches(self) -> bool: ...
    def flush(self) -> None: ...
    def regroup_from(self) -> int | None: ...
    def regrouped(self) -> None: ...
    def group_index(self, threshold: float) -> GroupIndex | None: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    id TEXT PRIMARY KEY,
    url TEXT,
    seq TEXT,
    outcome TEXT,
    fetched_at TEXT,
    final_url TEXT,
    payload_digest TEXT,
    record_id TEXT,
    warc_date TEXT,
    text_file TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS validators (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT);
CREATE TABLE IF NOT EXISTS requisites (url TEXT PRIMARY KEY, capture TEXT);
"""


def requisite_json(capture: RequisiteCapture) -> str:
    """A requisite's capture as the state stores keep it (JSON)."""
    data = {
        "uri": capture.uri, "date": capture.date, "record_id": capture.record_id,
        "payload_digest": capture.payload_digest, "etag": capture.etag,
        "last_modified": capture.last_modified,
        "children": [[child.url, child.kind] for child in capture.children],
    }  # fmt: skip
    return json.dumps(data, separators=(",", ":"))


def requisite_from_json(text: str | bytes) -> RequisiteCapture | None:
    """The capture :func:`requisite_json` wrote (None for anything else)."""
    try:
        data = json.loads(text)
        children = tuple(FoundRequisite(str(url), str(kind)) for url, kind in data["children"])
        return RequisiteCapture(
            data["uri"], data["date"], data["record_id"], data["payload_digest"],
            data.get("etag"), data.get("last_modified"), children,
        )  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None


def manifest_lines_after(manifest: Path, start: int) -> Iterator[tuple[ManifestRecord, int]]:
    """The manifest lines from byte *start* on (all of them if the file is now shorter:
    replaced or truncated), each with the byte offset just past it."""
    if not manifest.exists():
        return
    if start > manifest.stat().st_size:
        start = 0
    with manifest.open("rb") as fh:
        fh.seek(start)
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a torn tail: not a line (the archive cuts it when opened)
            start += len(raw)
            try:
                line = json.loads(raw)
                record = ManifestRecord(**{k: line.get(k) for k in MANIFEST_FIELDS})
            except (ValueError, TypeError, AttributeError):
                continue
            if not all(isinstance(line.get(k), str) for k in ("id", "seq", "url", "outcome")):
                continue  # valid JSON, but no manifest line (a hand edit, a foreign file)
            yield record, start


class SqliteStateStore:
    """SQLite state store; every change is committed at once (WAL, one writer)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        # Changes committed in batches (flush(), a crawl's once a second) rather than one
        # by one: a commit per page is most of the state store's cost. A kill loses at
        # most the last batch, which catch_up() reads back from the manifest on the next
        # open. Seqs of discovered URLs are committed at once all the same (a dump is
        # named after its seq before its line is written).
        self.batch = False

    def open(self) -> SqliteStateStore:
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        return self

    def close(self) -> None:
        if self._db is not None:
            try:
                self.flush()
            finally:
                self._db.close()
                self._db = None

    def begin_batches(self) -> bool:
        """Commit changes in batches from now on (each :meth:`flush` commits one)."""
        self.batch = True
        return True

    def group_index(self, threshold: float) -> GroupIndex:
        """The syndication index in this database, committed with its batches."""
        return GroupIndex(self.db, threshold, deferred=self.batch)

    def flush(self) -> None:
        """Commit the changes of the open batch (see :attr:`batch`)."""
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One change, all or nothing: committed at once, or, with :attr:`batch`, part of
        the open batch (committed by :meth:`flush`)."""
        with change(self.db, "change", keep_open=self.batch):
            yield

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("state store is not open")
        return self._db

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- URLs ----------------------------------------------------------------------------
    def lookup(self, id_: str) -> UrlState | None:
        row = self.db.execute(
            "SELECT id, seq, outcome, fetched_at, final_url, payload_digest, record_id, "
            "warc_date, text_file FROM urls WHERE id = ?",
            (id_,),
        ).fetchone()
        return UrlState(*row) if row else None

    def seq_for(self, id_: str, url: str) -> str:
        """The seq of a discovered URL: the one it got before, or the next free one."""
        row = self.db.execute("SELECT seq FROM urls WHERE id = ?", (id_,)).fetchone()
        if row and row[0] is not None:
            return row[0]
        with self._write():
            counter = int(self._meta("next_seq") or DISCOVERED_SEQ_START)
            seq = format_seq(counter)
            self._set_meta("next_seq", str(counter + 1))
            self.db.execute(
                "INSERT INTO urls(id, url, seq) VALUES(?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq",
                (id_, url, seq),
            )
        self.flush()  # durable before anything is named after it
        return seq

    def record(
        self,
        record: ManifestRecord,
        *,
        manifest_end: int,
        payload_digest: str | None = None,
        record_id: str | None = None,
        warc_date: str | None = None,
    ) -> None:
        """Note a manifest line that is on disk (ending at byte *manifest_end*)."""
        # An `unchanged` page keeps pointing at the full record its revisit refers to.
        keep_capture = record.outcome == UNCHANGED or payload_digest is None
        with self._write():
            self.db.execute(
                """
                INSERT INTO urls(id, url, seq, outcome, fetched_at, final_url,
                                 payload_digest, record_id, warc_date, text_file)
                VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET
                    seq = COALESCE(urls.seq, excluded.seq),
                    outcome = excluded.outcome,
                    fetched_at = COALESCE(excluded.fetched_at, urls.fetched_at),
                    final_url = COALESCE(excluded.final_url, urls.final_url),
                    payload_digest = CASE WHEN ? THEN urls.payload_digest
                                          ELSE excluded.payload_digest END,
                    record_id = CASE WHEN ? THEN urls.record_id ELSE excluded.record_id END,
                    warc_date = CASE WHEN ? THEN urls.warc_date ELSE excluded.warc_date END,
                    text_file = COALESCE(excluded.text_file, urls.text_file)
                """,
                (
                    record.id, record.url, record.seq, record.outcome, record.fetched_at,
                    record.final_url, payload_digest, record_id, warc_date, record.text_file,
                    keep_capture, keep_capture, keep_capture,
                ),
            )  # fmt: skip
            self._set_meta("manifest_end", str(manifest_end))

    def forget(self) -> None:
        """Forget every URL and where the manifest was read up to (it is being replaced:
        a merge); :meth:`catch_up` then reads the new one from its start."""
        with self._write():
            self.db.execute("DELETE FROM urls")
            self.db.execute("DELETE FROM meta WHERE key = 'manifest_end'")
        self.flush()

    def manifest_end(self) -> int:
        """The manifest byte up to which its lines are recorded here."""
        return int(self._meta("manifest_end") or 0)

    def catch_up(self, manifest: Path) -> int:
        """Record manifest lines written after the last recorded one; returns how many."""
        count, start = 0, self.manifest_end()
        with self._write():  # one transaction: a long catch-up in seconds
            for record, end in manifest_lines_after(manifest, start):
                self.record(record, manifest_end=end)
                count += 1
            if count:  # their articles may lack their syndication index entries too
                pending = self.regroup_from()
                self._set_meta("regroup_from", str(min(start, pending if pending is not None
                                                       else start)))  # fmt: skip
        self.flush()
        return count

    def regroup_from(self) -> int | None:
        """The manifest byte from which lines were caught up and their articles not yet
        checked against the syndication index (crawler.tools.regroup); None: nothing to do."""
        value = self._meta("regroup_from")
        return int(value) if value is not None else None

    def regrouped(self) -> None:
        """The caught-up lines' articles are in the syndication index."""
        with self._write():
            self.db.execute("DELETE FROM meta WHERE key = 'regroup_from'")
        self.flush()

    # -- requisites ----------------------------------------------------------------------
    def requisite(self, url: str) -> RequisiteCapture | None:
        """The last full capture of a requisite (CAPTURE=requisites), if any."""
        row = self.db.execute("SELECT capture FROM requisites WHERE url = ?", (url,)).fetchone()
        return requisite_from_json(row[0]) if row else None

    def set_requisite(self, url: str, capture: RequisiteCapture) -> None:
        with self._write():
            self.db.execute(
                "INSERT INTO requisites(url, capture) VALUES(?, ?) "
                "ON CONFLICT(url) DO UPDATE SET capture = excluded.capture",
                (url, requisite_json(capture)),
            )

    # -- feeds ---------------------------------------------------------------------------
    def validators(self, url: str) -> tuple[str | None, str | None]:
        row = self.db.execute(
            "SELECT etag, last_modified FROM validators WHERE url = ?", (url,)
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def set_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        with self._write():
            self.db.execute(
                "INSERT INTO validators(url, etag, last_modified) VALUES(?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
                "last_modified = excluded.last_modified",
                (url, etag, last_modified),
            )
