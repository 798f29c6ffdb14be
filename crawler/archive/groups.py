"""Syndicated copies and near duplicates: LSH buckets and groups of MinHash signatures.

An article's signature (crawler.extract.minhash, made in the extraction workers) is cut
into 32 bands of 4 values;
articles sharing a band are candidates, and a candidate whose estimated Jaccard
similarity reaches the threshold (``DEDUP_THRESHOLD``, 0.8) is the same story. The index
keeps, per band value, one member of each group that has it, so a lookup costs the same
for a story republished 10,000 times as for a pair. A group is
a connected set of such pairs: when an article links groups, they merge, so the groups of
a corpus are the same whatever order its articles arrive in. A group is named after its
first-seen member, which an article joining it never changes (when one article links two
groups, the merged group keeps the earlier name, and ``groups.jsonl``, rewritten at the
end of every run, is the authority over manifest lines written before). Exact copies
(same body hash) are told apart from near ones. Nothing is deleted: groups are labels.

A copy cut short (the first five paragraphs of eight) is about 0.6 similar to the whole,
under the threshold, yet wholly contained in it; a copy with a paragraph added contains
the original. Containment is estimated from the similarity and the two texts' shingle
counts (|A and B| = J (|A| + |B|) / (1 + J)); a candidate sharing at least one band
(a copy holding about half of the other's text or more: one band in 32 is shared with
probability 0.87 at half, 0.99 at 60%) whose smaller text is at least
``CONTAINMENT_THRESHOLD`` contained in the larger, and at least
``MIN_CONTAINMENT_SIMILARITY`` similar, joins its group. Each member's relation to the
group's first-seen one is recorded (``same``, ``near``, ``contains``, ``contained_in``)
with both figures.

:class:`GroupIndex` keeps signatures and bands in the archive's SQLite state store, so
grouping is incremental across runs; the state store gives it
(``StateStore.group_index``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
import struct
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from crawler.archive.sqlitetx import change
from crawler.core.identity import text_digest
from crawler.core.items import FetchedPage, GroupMatch

BANDS, ROWS = 32, 4  # candidates from ~0.4 similarity up; the threshold decides

# A group is a candidate when it shares at least this many of the 32 band values: two
# bodies at 0.8 share ~13 (each band with probability 0.8**4), fewer than 4 with
# probability ~1e-4, while bodies at 0.5 share ~2. Keeps templated near-misses (weather,
# results, tickers) from being compared one by one.
MIN_SHARED_BANDS = 4
MAX_CANDIDATE_GROUPS = 16  # the groups sharing most bands, if ever more qualify

# Groups one band value holds at most: a value this common is boilerplate many stories
# share; copies of a story still meet in their other bands. Bounds every lookup to
# 32 x 64 rows however large the corpus.
MAX_GROUPS_PER_BAND = 64
EXACT, NEAR = "exact", "near"
SAME, CONTAINS, CONTAINED_IN = "same", "contains", "contained_in"  # relations (and NEAR)
# A smaller text this much contained in a larger one is a copy of it, cut short; below
# MIN_CONTAINMENT_SIMILARITY the estimate is too noisy to trust (two stories on one topic
# that share a few sentences).
CONTAINMENT_THRESHOLD = 0.8
MIN_CONTAINMENT_SIMILARITY = 0.3
SMALLER = 0.9  # a text under 9/10 of another's shingles is cut short, or the other extended

_SCHEMA = """
CREATE TABLE IF NOT EXISTS syndication_docs (
    id TEXT PRIMARY KEY, url TEXT, sha TEXT, sig BLOB, grp TEXT, seen_at TEXT,
    shingles INTEGER
);
CREATE INDEX IF NOT EXISTS syndication_docs_sha ON syndication_docs(sha);
CREATE INDEX IF NOT EXISTS syndication_docs_grp ON syndication_docs(grp);
CREATE TABLE IF NOT EXISTS syndication_band_groups (
    key INTEGER, grp TEXT, id TEXT, PRIMARY KEY (key, grp)
) WITHOUT ROWID;
"""


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def containment(sim: float, size: int, other: int) -> float:
    """Estimated share of a text of *size* shingles found in one of *other* shingles,
    given their estimated Jaccard similarity *sim* (0 when a size is unknown)."""
    if size <= 0 or other <= 0:
        return 0.0
    return min(1.0, sim * (size + other) / ((1 + sim) * size))


def relation(sim: float, size: int, first: int, threshold: float) -> tuple[str, float]:
    """How a text relates to its group's first member (similar *sim*, of *size* and
    *first* shingles), and the containment of the smaller in the larger: ``same``; the
    smaller of the two (by a tenth or more) wholly in the larger, ``contained_in`` (cut
    short) or ``contains`` (extended); else ``near``."""
    inside, around = containment(sim, size, first), containment(sim, first, size)
    share = round(max(inside, around), 3)
    if sim >= 1.0:
        return SAME, share
    if inside >= CONTAINMENT_THRESHOLD and size < SMALLER * first:
        return CONTAINED_IN, share
    if around >= CONTAINMENT_THRESHOLD and first < SMALLER * size:
        return CONTAINS, share
    if sim >= threshold:
        return NEAR, share
    return (CONTAINED_IN if inside >= around else CONTAINS), share


def band_keys(sig: tuple[int, ...]) -> list[int]:
    """One key per band: the band's number in the top bits, a hash of its rows below (an
    integer: one compact B-tree in SQLite)."""
    raw = struct.pack(f"<{len(sig)}I", *sig)  # a band's rows: 16 bytes of it
    width = 4 * ROWS
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    return [
        band << 56 | from_bytes(blake2b(raw[band * width : (band + 1) * width],
                                        digest_size=7).digest(), "big")
        for band in range(BANDS)
    ]  # fmt: skip


def _pack(sig: tuple[int, ...]) -> bytes:
    return struct.pack(f"<{len(sig)}I", *sig)


def _unpack(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(blob) // 4}I", blob)


class GroupIndex:
    """Signatures, bands and groups in a SQLite database (the archive's state store)."""

    def __init__(
        self, db: sqlite3.Connection, threshold: float = 0.8, deferred: bool = False
    ) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"DEDUP_THRESHOLD must be in (0, 1], got {threshold}")
        self.db = db
        self.threshold = threshold
        self.deferred = deferred
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(syndication_docs)")}
        if "shingles" not in columns:  # an index made before containment was
            db.execute("ALTER TABLE syndication_docs ADD COLUMN shingles INTEGER")

    def reset(self) -> None:
        """Forget every article (before grouping a whole corpus again)."""
        self.db.execute("DELETE FROM syndication_band_groups")
        self.db.execute("DELETE FROM syndication_docs")

    @contextmanager
    def bulk(self) -> Iterator[GroupIndex]:
        """One transaction for many :meth:`add` calls (a merge, a re-extraction: a commit
        per article is most of the cost of grouping a corpus). All or nothing."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already
                self.db.execute("ROLLBACK")
            raise

    def has(self, id_: str, sha: str | None = None) -> bool:
        """Whether an article is indexed (with the body hashing to *sha*, if given)."""
        row = self.db.execute("SELECT sha FROM syndication_docs WHERE id = ?", (id_,)).fetchone()
        return row is not None and (sha is None or row[0] == sha)

    def add(
        self, id_: str, url: str, sha: str, sig: tuple[int, ...], seen_at: str, shingles: int = 0
    ) -> GroupMatch:
        """Index an article (*shingles*: its distinct shingles, 0 if unknown: no
        containment) and return its group (merging the groups it links): committed at
        once, or part of the transaction open on the connection (a bulk, the state
        store's batch), which a *deferred* index opens and leaves open."""
        db = self.db
        with change(db, "syndication_add", keep_open=self.deferred):
            self._drop(id_)  # a URL fetched again: its new text replaces the old
            linked: set[str] = set()  # the groups it belongs to
            row = db.execute(
                "SELECT grp FROM syndication_docs WHERE sha = ? LIMIT 1", (sha,)
            ).fetchone()
            exact = row is not None  # the same body as an article indexed before
            if exact:
                linked.add(row[0])
            keys = band_keys(sig) if sig else []
            counts = self._similar_groups(sig, shingles, keys, linked)
            name = self._merge(id_, linked)
            db.execute(
                "INSERT INTO syndication_docs(id, url, sha, sig, grp, seen_at, shingles) "
                "VALUES(?, ?, ?, ?, ?, ?, ?)",
                (id_, url, sha, _pack(sig), name, seen_at, shingles or None),
            )  # fmt: skip
            db.executemany(
                "INSERT OR IGNORE INTO syndication_band_groups(key, grp, id) VALUES(?, ?, ?)",
                [(k, name, id_) for k in keys if counts[k] < MAX_GROUPS_PER_BAND],
            )
        if name == id_:  # alone, or the first-seen member of the group it joined
            return GroupMatch(id_, 1.0)
        # Similarity to the group's first member; exact when its body is another's.
        row = self.db.execute(
            "SELECT sha, sig, shingles FROM syndication_docs WHERE id = ?", (name,)
        ).fetchone()
        score = 1.0 if row[0] == sha else round(similarity(sig, _unpack(row[1])), 3)
        how, share = relation(score, shingles, row[2] or 0, self.threshold)
        return GroupMatch(name, score, EXACT if exact else NEAR, how, share)

    def _drop(self, id_: str) -> None:
        """Take an article out of the index (its bands and its row), if it is in."""
        old = self.db.execute("SELECT sig FROM syndication_docs WHERE id = ?", (id_,)).fetchone()
        if old is not None:
            stale = band_keys(_unpack(old[0])) if old[0] else []
            self.db.executemany("DELETE FROM syndication_band_groups WHERE key = ? AND id = ?",
                                [(k, id_) for k in stale])  # fmt: skip
            self.db.execute("DELETE FROM syndication_docs WHERE id = ?", (id_,))

    def _similar_groups(
        self, sig: tuple[int, ...], shingles: int, keys: list[int], linked: set[str]
    ) -> Counter[int]:
        """Add to *linked* the groups whose witness is a copy: at least ``threshold``
        similar, or containing or contained in this text; returns the groups each band
        value held before this article."""
        counts: Counter[int] = Counter()
        if not keys:
            return counts
        # Per band value, one member ("witness") of each group that has it: a group of
        # 10,000 copies costs a lookup what a group of two does. One read of every
        # witness of the article's band values (at most 32 x 64 rows), counted here: the
        # groups sharing most bands first.
        marks = ",".join("?" * len(keys))
        shared: Counter[str] = Counter()
        first: dict[str, str] = {}
        for key, grp, member in self.db.execute(
            f"SELECT key, grp, id FROM syndication_band_groups WHERE key IN ({marks})", keys
        ):
            counts[key] += 1
            shared[grp] += 1
            first[grp] = min(first.get(grp, member), member)
        ranked = sorted(shared, key=lambda g: (-shared[g], g))
        near = [g for g in ranked if shared[g] >= MIN_SHARED_BANDS][:MAX_CANDIDATE_GROUPS]
        # Fewer shared bands: a copy cut short or extended, if its size says so.
        partial = [g for g in ranked if shared[g] < MIN_SHARED_BANDS][:MAX_CANDIDATE_GROUPS]
        partial = partial if shingles else []
        witnesses = {grp: first[grp] for grp in [*near, *partial] if grp not in linked}
        ids = sorted(set(witnesses.values()))
        found = ",".join("?" * len(ids))
        rows = {i: (sig_, size) for i, sig_, size in self.db.execute(
            f"SELECT id, sig, shingles FROM syndication_docs WHERE id IN ({found})", ids
        )} if ids else {}  # fmt: skip
        for grp, member in witnesses.items():
            if member not in rows:
                continue
            other, size = _unpack(rows[member][0]), rows[member][1] or 0
            sim = similarity(sig, other)
            if sim >= self.threshold or self._contained(sim, shingles, size):
                linked.add(grp)
        return counts

    @staticmethod
    def _contained(sim: float, size: int, other: int) -> bool:
        """Whether the smaller of two texts is a copy of part of the larger."""
        share = max(containment(sim, size, other), containment(sim, other, size))
        return sim >= MIN_CONTAINMENT_SIMILARITY and share >= CONTAINMENT_THRESHOLD

    def _merge(self, id_: str, groups: set[str]) -> str:
        """The name of the group *id_* joins: a group keeps the name of its first-seen
        member (an article joining it never renames it: manifest lines written before
        stay right); when an article links two groups, the merged one keeps the name of
        the earlier of their first members."""
        name = id_
        if groups:
            firsts = self.db.execute(
                f"SELECT seen_at, id FROM syndication_docs WHERE id IN "
                f"({','.join('?' * len(groups))})", list(groups),
            ).fetchall()  # fmt: skip
            name = min((seen or "", grp) for seen, grp in firsts)[1] if firsts else id_
        for grp in groups - {name}:  # a merge: rare (one article linking two stories)
            self.db.execute("UPDATE syndication_docs SET grp = ? WHERE grp = ?", (name, grp))
            self.db.execute("UPDATE OR IGNORE syndication_band_groups SET grp = ? WHERE grp = ?",
                            (name, grp))  # fmt: skip
            self.db.execute("DELETE FROM syndication_band_groups WHERE grp = ?", (grp,))
        return name

    def add_page(self, item: FetchedPage) -> FetchedPage:
        """*item* with its group, its article indexed (as the crawl and ``reextract``
        group a page; an article without a signature is left as it is)."""
        article = item.article
        if article is None or not article.minhash:
            return item
        match = self.add(item.id, item.final_url or item.url, text_digest(article.body),
                         article.minhash, item.fetched_at or "", article.shingles)  # fmt: skip
        return dataclasses.replace(item, group=match)

    def groups(self) -> Iterator[dict[str, Any]]:
        """Every group of two or more articles, first-seen member first."""
        rows = self.db.execute(
            "SELECT grp, id, url, sha, sig, seen_at, shingles FROM syndication_docs WHERE grp IN "
            "(SELECT grp FROM syndication_docs GROUP BY grp HAVING COUNT(*) > 1) "
            "ORDER BY grp, seen_at, id"
        ).fetchall()
        by_group: dict[str, list[tuple]] = {}
        for row in rows:
            by_group.setdefault(row[0], []).append(row)
        for name in sorted(by_group):
            members = by_group[name]
            first = next(m for m in members if m[1] == name)
            members.sort(key=lambda m: m[1] != name)  # the first-seen member first
            listed, bodies = [], set()
            for _, id_, url, sha, blob, seen_at, shingles in members:
                same = sha == first[3]
                sim = 1.0 if same else round(similarity(_unpack(blob), _unpack(first[4])), 3)
                how, share = relation(sim, shingles or 0, first[6] or 0, self.threshold)
                listed.append({
                    "id": id_, "url": url, "outlet": urlsplit(url).hostname, "seen_at": seen_at,
                    "similarity": sim,
                    "kind": None if id_ == name else (EXACT if sha in bodies else NEAR),
                    "relation": None if id_ == name else how,
                    "containment": None if id_ == name else share,
                })  # fmt: skip
                bodies.add(sha)
            yield {
                "group": name,
                "size": len(members),
                "outlets": sorted({m["outlet"] or "" for m in listed}),
                "first_seen": first[5],
                "members": listed,
            }
