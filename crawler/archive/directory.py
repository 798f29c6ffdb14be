"""The archive directory and its one owner: layout, lock, state store, recovery, readers.

```
ARCHIVE_DIR/
  warc/<prefix>-<YYYYmmddHHMMSS>-<serial>-<host>-<pid>.warc.gz   (".open" while written)
  text/<seq>_<id>.txt          one per extracted article
  manifest.jsonl               one line per input URL
  links.jsonl                  the citation graph
  runs/<YYYYmmddTHHMMSSZ>.json one record per run
  reports/<run>.html           one report per run, and index.html across runs
  indexes/index.cdxj           the CDXJ index of every WARC record (pywb's format)
  state.sqlite                 what earlier runs did
  ccnews.json                  how far each CC-NEWS file has been read (ccnews spider)
  .lock                        held by the process writing the archive
```

Nothing else knows this layout. A crawl opens the :class:`Archive` before anything is
fetched and closes it after every other component is done (the ``ArchiveExtension``);
opening takes the lock and repairs what an interrupted run left. The readers at the
end work on an archive that is not open, for offline commands and tests.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from warcio.recordloader import ArcWarcRecord

from crawler.archive.dumps import split_dump
from crawler.archive.files import (
    LinksWriter,
    ManifestWriter,
    StorageError,
    atomic_write_text,
    close_open_warc,
    remove_stale_temp_files,
    repair_torn_tail,
)
from crawler.archive.groups import GroupIndex
from crawler.archive.lock import DirectoryLock
from crawler.archive.progress import SourceProgress
from crawler.archive.state import SqliteStateStore, StateStore, UrlState
from crawler.core.identity import text_filename
from crawler.core.items import LinkRecord, WarcPointer
from crawler.core.manifest import ManifestRecord
from crawler.core.timefmt import run_name
from crawler.warc.cdxj import MementoAlias, add_to_index, indexed_as, indexed_files, rebuild_index
from crawler.warc.reader import read_record_at
from crawler.warc.writer import OPEN_SUFFIX, WARC_SUFFIX

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recovery:
    """What opening the archive repaired after an interrupted run."""

    # `.open` WARCs cut back to their last whole record and renamed (or removed when they
    # held no whole record)
    warc_files_closed: int = 0
    warc_bytes_cut: int = 0
    temp_files_removed: int = 0  # half-written dumps and run records
    manifest_bytes_cut: int = 0  # a torn last manifest line
    links_bytes_cut: int = 0
    manifest_lines_recorded: int = 0  # manifest lines the state store had missed

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


class Archive:
    """One archive directory. ``with Archive(root) as archive:`` opens and closes it."""

    def __init__(
        self,
        root: str | Path,
        *,
        recrawl_after: timedelta | None = None,
        state: StateStore | None = None,
    ) -> None:
        self.root = Path(root)
        self.warc_dir = self.root / "warc"
        self.text_dir = self.root / "text"
        self.runs_dir = self.root / "runs"
        self.reports_dir = self.root / "reports"
        self.index_path = self.root / "indexes" / "index.cdxj"
        self.manifest_path = self.root / "manifest.jsonl"
        self.links_path = self.root / "links.jsonl"
        self.groups_path = self.root / "groups.jsonl"
        self.state_path = self.root / "state.sqlite"
        self.lock_path = self.root / ".lock"
        self.workers_dir = self.root / "workers"
        # An archived URL is fetched again once its last capture is older than this.
        self.recrawl_after = recrawl_after
        self.recovery = Recovery()
        self.recovered_warcs: list[str] = []  # WARC files recovery closed (a killed run's)
        self._lock = DirectoryLock(self.lock_path, self.root)
        self._state: StateStore | None = None
        # A distributed job's state lives in Redis (crawler.distributed.state); else SQLite here.
        self._shared_state = state
        self._manifest = ManifestWriter(self.manifest_path)
        self._links = LinksWriter(self.links_path)

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> Recovery:
        """Take the lock, repair what an interrupted run left, open the state store."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"ARCHIVE_DIR {str(self.root)!r} cannot be created: {exc}") from exc
        self._lock.take()
        try:
            leftovers = sorted(self.warc_dir.glob(f"*{WARC_SUFFIX}{OPEN_SUFFIX}"))
            closed = [close_open_warc(path) for path in leftovers]
            self.recovered_warcs = [final.name for final, _ in closed if final is not None]
            temp = sum(remove_stale_temp_files(d)
                       for d in (self.text_dir, self.runs_dir, self.root))  # fmt: skip
            manifest_cut = repair_torn_tail(self.manifest_path)
            links_cut = repair_torn_tail(self.links_path)
            self._state = self._shared_state or SqliteStateStore(self.state_path).open()
            recorded = self._state.catch_up(self.manifest_path)
        except BaseException:
            self.close()
            raise
        self.recovery = Recovery(
            len(closed), sum(cut for _, cut in closed), temp, manifest_cut, links_cut, recorded
        )  # fmt: skip
        return self.recovery

    def sync(self) -> None:
        """Flush the manifest and links to disk (fsync); they reopen on the next line."""
        failure: StorageError | None = None
        for writer in (self._manifest, self._links):
            try:
                writer.close()
            except StorageError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Flush the manifest and links, close the state store, then release the lock."""
        try:
            self.sync()
        finally:
            try:
                if self._state is not None:
                    self._state.close()
            finally:
                self._state = None
                self._lock.release()

    def __enter__(self) -> Archive:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._lock.held

    def locked_by(self) -> str | None:
        """Who holds the lock (``pid N``), or None when no process does."""
        return self._lock.holder()

    # -- what earlier runs did -----------------------------------------------------------
    @property
    def state(self) -> StateStore:
        if self._state is None:
            raise RuntimeError(f"the archive at {self.root} is not open")
        return self._state

    def write_groups(self, index: GroupIndex) -> int:
        """``groups.jsonl``: every group of two or more articles, rewritten whole."""
        lines = [json.dumps(g, ensure_ascii=False, separators=(",", ":")) for g in index.groups()]
        atomic_write_text(self.groups_path, "".join(f"{x}\n" for x in lines), durable=True)
        return len(lines)

    def groups(self) -> list[dict[str, Any]]:
        """The groups of ``groups.jsonl`` (none before a run wrote it)."""
        text = self.groups_path.read_text("utf-8") if self.groups_path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def previous(self, id_: str) -> UrlState | None:
        """What the state store knows of *id_*, or None."""
        return self.state.lookup(id_)

    def is_done(self, state: UrlState | None, *, refresh: bool = False) -> bool:
        """Archived by an earlier run, and neither refreshed nor older than recrawl_after."""
        if state is None or not state.archived() or refresh:
            return False
        return not (self.recrawl_after and state.older_than(self.recrawl_after))

    # -- writing, while open -------------------------------------------------------------
    @staticmethod
    def text_file(seq: str, id_: str) -> str:
        """A dump's path relative to the archive (the manifest's ``text_file``)."""
        return f"text/{text_filename(seq, id_)}"

    def dump_text(self, text_file: str) -> str | None:
        """The dump at *text_file* as written (None: there is none)."""
        path = self.root / text_file
        return path.read_text(encoding="utf-8") if path.exists() else None

    def write_dump(self, seq: str, id_: str, text: str) -> str:
        """Write a text dump atomically; return its path relative to the archive."""
        relative = self.text_file(seq, id_)
        atomic_write_text(self.root / relative, text)
        return relative

    def source_progress(self, source: str) -> SourceProgress:
        """How far the files of *source* (``ccnews``) have been read: ``<source>.json``."""
        return SourceProgress(self.root / f"{source}.json")

    def link_warcs(self, paths: Iterable[Path]) -> None:
        """Symbolic links in ``warc/`` to WARC files kept elsewhere (a corpus made from
        them: its manifest pointers resolve, ``scrapy verify`` checks it whole)."""
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        for path in paths:
            link = self.warc_dir / path.name
            if not link.exists():
                link.symlink_to(path.resolve())

    def record(self, record: ManifestRecord, capture: WarcPointer | None) -> None:
        """Append a manifest line; only once it is on disk is the URL done in the state."""
        self._manifest.write(record)
        try:
            self.state.record(
                record,
                manifest_end=self._manifest.position,
                payload_digest=capture.payload_digest if capture and not capture.revisit else None,
                record_id=capture.record_id if capture else None,
                warc_date=capture.date if capture else None,
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot update the state store {self.state_path}: {exc}") from exc

    def update_index(self, manifest_start: int = 0, own: frozenset[str] = frozenset()) -> int:
        """Add every closed WARC file the CDXJ index has no line for (a run's, one a killed
        run left, one a failed or disabled indexing missed), with the mementos the manifest
        says they hold (read from byte *manifest_start* when the files are all in *own*,
        this run's); returns the files added. CdxIndexError if it cannot."""
        indexed = indexed_files(self.index_path)
        new = [p for p in self.warc_files() if p.name not in indexed]
        if new:
            start = manifest_start if {p.name for p in new} <= own else 0
            add_to_index(self.index_path, new, self.memento_aliases(start))
        return len(new)

    def rebuild_index(self) -> int:
        """The CDXJ index of every closed WARC file, from scratch; returns its lines."""
        return rebuild_index(self.index_path, self.warc_files(), self.memento_aliases())

    def index_like(self, source: Archive | None) -> None:
        """The index of a corpus made from *source*'s WARC files: a copy of its index,
        or (no source, or no index there) built from the files."""
        if source is not None and source.index_path.exists():
            self.index_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.index_path, self.index_path)
        else:
            self.rebuild_index()

    def memento_aliases(self, start: int = 0) -> list[MementoAlias]:
        """Pages recovered from the Internet Archive (manifest lines from byte *start*):
        where their record is, and which page at which date it is a capture of."""
        aliases = []
        for line in self.manifest_records(start, needle=b"memento_datetime"):
            file = line.get("warc_file")
            if line.get("memento_datetime") and file and line.get("warc_offset") is not None:
                url, stamp = indexed_as(line)
                aliases.append(MementoAlias(file, line["warc_offset"], url, stamp))
        return aliases

    def manifest_size(self) -> int:
        """Bytes of whole manifest lines so far (a run's lines lie between two of these)."""
        return self.manifest_path.stat().st_size if self.manifest_path.exists() else 0

    def add_links(self, links: Iterable[LinkRecord]) -> None:
        """Appends links to ``links.jsonl`` (a document's links in one write)."""
        self._links.write(links)

    def write_run_record(self, started: datetime, record: dict[str, Any]) -> Path:
        """``runs/<start time>.json``, written durably (the run's status lives there)."""
        name = run_name(started)
        path = self.runs_dir / f"{name}.json"
        serial = 1
        while path.exists():  # two runs started within the same second
            path = self.runs_dir / f"{name}-{serial}.json"
            serial += 1
        atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n", durable=True)
        return path

    # -- reading (open or not) -----------------------------------------------------------
    def manifest_records(
        self, start: int = 0, end: int | None = None, needle: bytes = b""
    ) -> Iterator[dict[str, Any]]:
        """Every whole line of the manifest (between byte offsets *start* and *end*, a
        run's: see its record's ``manifest_range``; only lines holding *needle*, which
        spares parsing the rest), as a dict, in the order written."""
        if not self.manifest_path.exists():
            return
        with self.manifest_path.open("rb") as fh:
            fh.seek(start)
            position = start
            for raw in fh:
                position += len(raw)
                if end is not None and position > end:
                    return
                if raw.endswith(b"\n") and raw.strip() and needle in raw:
                    yield json.loads(raw)

    def worker_parts(self) -> list[Archive]:
        """The parts distributed workers wrote (``workers/<name>/``), by name."""
        return [Archive(p) for p in sorted(self.workers_dir.glob("*")) if p.is_dir()]

    def worker_part(self, name: str) -> Path:
        """Where the worker *name* of a distributed job writes its part."""
        return self.workers_dir / name

    def warc_files(self) -> list[Path]:
        """Closed WARC files, oldest name first."""
        return sorted(self.warc_dir.glob(f"*{WARC_SUFFIX}"))

    def warc_record(self, warc_file: str, offset: int) -> tuple[ArcWarcRecord, bytes]:
        """The record a manifest line points at (``warc_file``, ``warc_offset``) and its
        payload as stored."""
        return read_record_at(self.warc_dir / warc_file, offset)

    def read_dump(self, text_file: str) -> tuple[dict[str, Any], str]:
        """A text dump's front matter and body (``text_file`` as in the manifest)."""
        return split_dump((self.root / text_file).read_text(encoding="utf-8"))

    def named_run_records(self) -> list[tuple[str, dict[str, Any]]]:
        """Every run record with its name (``20261122T010203Z``), oldest first."""

        def started(path: Path) -> tuple[str, int]:
            stamp, _, serial = path.stem.partition("-")
            return stamp, int(serial or 0)

        paths = sorted(self.runs_dir.glob("*.json"), key=started)
        return [(path.stem, json.loads(path.read_text(encoding="utf-8"))) for path in paths]

    def run_records(self) -> list[dict[str, Any]]:
        """Every run record, oldest first."""
        return [record for _, record in self.named_run_records()]
