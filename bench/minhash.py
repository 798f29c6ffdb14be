"""MinHash libraries on 10,000 article bodies: datasketch against rensa.

Same shingles (5-word, as crawler.extract.minhash makes them), 128 permutations, fixed
seed: seconds to sign every body, and whether the two agree on the pairs that matter
(syndicated copies >= 0.8 estimated Jaccard, different stories < 0.3).

    .venv/bin/python -m bench.minhash --docs 10000
"""

from __future__ import annotations

import argparse
import contextlib
import random
import time

WORDS = [f"w{i}" for i in range(20_000)]


def corpus(n: int, seed: int = 7) -> list[str]:
    """*n* bodies of ~600 words; every tenth story reappears twice, a paragraph edited."""
    rng = random.Random(seed)
    bodies: list[str] = []
    while len(bodies) < n:
        paragraphs = [" ".join(rng.choices(WORDS, k=75)) for _ in range(8)]
        bodies.append("\n\n".join(paragraphs))
        if len(bodies) % 10 == 0:
            for _ in range(2):
                copy = list(paragraphs)
                i = rng.randrange(len(copy))
                words = copy[i].split()
                words[: len(words) // 3] = rng.choices(WORDS, k=len(words) // 3)
                copy[i] = " ".join(words)
                bodies.append("\n\n".join(copy))
    return bodies[:n]


def shingles(text: str, n: int = 5) -> list[str]:
    words = text.lower().split()
    return [" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    args = parser.parse_args()
    import datasketch
    import rensa

    bodies = corpus(args.docs)
    sets = [shingles(b) for b in bodies]
    started = time.perf_counter()
    ds = []
    for items in sets:
        m = datasketch.MinHash(num_perm=128, seed=1)
        m.update_batch([s.encode() for s in items])
        ds.append(m)
    ds_s = time.perf_counter() - started
    started = time.perf_counter()
    rs = []
    for items in sets:
        m = rensa.RMinHash(num_perm=128, seed=1)
        m.update(items)
        rs.append(m)
    rs_s = time.perf_counter() - started
    copies = [(i, i + 1) for i in range(9, args.docs - 2, 10)][:200]  # original, copy
    others = [(i, i + 3) for i in range(0, args.docs - 4, 50)][:200]
    for name, sigs in (("datasketch", ds), ("rensa", rs)):
        near = sum(sigs[a].jaccard(sigs[b]) >= 0.8 for a, b in copies) / len(copies)
        far = sum(sigs[a].jaccard(sigs[b]) < 0.3 for a, b in others) / len(others)
        print(f"{name}: copies >= 0.8: {near:.0%}, different stories < 0.3: {far:.0%}")
    print(f"sign {args.docs} bodies: datasketch {ds_s:.2f} s, rensa {rs_s:.2f} s "
          f"({ds_s / rs_s:.1f}x); per body {ds_s / args.docs * 1000:.2f} / "
          f"{rs_s / args.docs * 1000:.2f} ms")  # fmt: skip
    group(bodies)


def group(bodies: list[str]) -> None:
    """The whole grouping, sign then index, into an SQLite file as the state store: one
    article at a time (a crawl: a commit each) and in one transaction (a merge)."""
    import hashlib
    import sqlite3
    import tempfile
    from pathlib import Path

    from crawler.archive.groups import GroupIndex
    from crawler.extract.minhash import signed

    expected = len(bodies) // 10  # one story and its two copies in every ten bodies
    for mode in ("one by one", "bulk"):
        with tempfile.TemporaryDirectory() as tmp:
            db = sqlite3.connect(Path(tmp) / "state.sqlite", isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            index = GroupIndex(db)
            started = time.perf_counter()
            with index.bulk() if mode == "bulk" else contextlib.nullcontext():
                for n, text in enumerate(bodies):
                    sha = hashlib.sha256(text.encode()).hexdigest()
                    sig, size = signed(text)  # as the workers sign (containment needs size)
                    index.add(f"{n:016x}", f"http://outlet{n % 7}.example/{n}", sha,
                              sig, f"2026-12-01T00:00:{n % 60:02d}Z", size)  # fmt: skip
            added = time.perf_counter() - started
            groups = list(index.groups())
            listed = time.perf_counter() - started - added
        print(f"group {len(bodies)} bodies {mode} (sign + index): {added:.2f} s "
              f"({added / len(bodies) * 1000:.2f} ms each), groups listed in {listed:.2f} s; "
              f"{len(groups)} groups of 3 found, ~{expected} planted, sizes "
              f"{sorted({g['size'] for g in groups})}")  # fmt: skip


if __name__ == "__main__":
    main()
