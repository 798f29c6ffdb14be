"""One change to an SQLite database, all or nothing, alone or inside a larger transaction.

Used by the state store (crawler.archive.state) and the syndication index (crawler.archive.groups),
which share one connection (``isolation_level=None``): a change opens a transaction when
none is open, works under a savepoint (so a failure undoes only itself inside a batch),
and commits at the end unless *keep_open* (a batch, committed later by its owner).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def change(db: sqlite3.Connection, name: str, *, keep_open: bool = False) -> Iterator[None]:
    """Run the block as one change named *name* (a savepoint name)."""
    own = not db.in_transaction
    if own:
        db.execute("BEGIN IMMEDIATE")
    db.execute(f"SAVEPOINT {name}")
    try:
        yield
        db.execute(f"RELEASE {name}")
    except BaseException:
        if db.in_transaction:  # SQLite may have rolled everything back already
            db.execute(f"ROLLBACK TO {name}")
            db.execute(f"RELEASE {name}")
            if own and not keep_open:
                db.execute("ROLLBACK")
        raise
    if own and not keep_open:
        db.execute("COMMIT")
