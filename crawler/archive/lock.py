"""The archive's lock: one crawl (or offline command that writes) per ARCHIVE_DIR.

An exclusive ``flock`` on ``ARCHIVE_DIR/.lock``, holding the holder's pid for messages;
the kernel releases it when the process ends, however it ends, so a killed crawl never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class ArchiveLockedError(RuntimeError):
    """Another crawl is writing to the same ARCHIVE_DIR."""


class DirectoryLock:
    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root  # named in messages
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def take(self) -> None:
        """Take the lock, or raise ArchiveLockedError naming its holder."""
        lock = self.path.open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise ArchiveLockedError(
                f"another crawl ({holder}) is writing to {self.root}; "
                "wait for it to finish or use another ARCHIVE_DIR"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        self._fh = lock

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def holder(self) -> str | None:
        """Who holds the lock (``pid N``), or None when no process does."""
        if not self.path.exists():
            return None
        with self.path.open("a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.seek(0)
                return lock.read().strip() or "another process"
            fcntl.flock(lock, fcntl.LOCK_UN)
        return None
