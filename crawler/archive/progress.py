"""How far a source's files have been read (CC-NEWS): ``ARCHIVE_DIR/<source>.json``.

Per file, ``offset``: every page before it has its manifest line (a resumed read starts
there); ``read``: how far pages were handed on (those between the two may have their lines
already: a resumed read skips any page the manifest has); ``done``: read to its end and
every page recorded. Rewritten whole and atomically, so a kill leaves the old or the new.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.archive.files import atomic_write_text


class SourceProgress:
    """The progress file of one source, loaded at once and saved on request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.files: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                self.files = json.loads(self.path.read_text(encoding="utf-8")).get("files", {})
            except ValueError:  # unreadable: files are read again, recorded pages skipped
                self.files = {}

    def offset(self, file: str) -> int:
        return int(self.files.get(file, {}).get("offset", 0))

    def read(self, file: str) -> int:
        return int(self.files.get(file, {}).get("read", 0))

    def done(self, file: str) -> bool:
        return bool(self.files.get(file, {}).get("done"))

    def advance(self, file: str, offset: int, read: int, *, done: bool = False) -> None:
        entry = self.files.setdefault(file, {})
        entry["offset"] = offset
        entry["read"] = max(read, int(entry.get("read", 0)))
        entry["done"] = done

    def save(self) -> None:
        """Written atomically (StorageError if it cannot be)."""
        text = json.dumps({"files": self.files}, indent=1, sort_keys=True)
        atomic_write_text(self.path, text + "\n")
