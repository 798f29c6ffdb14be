"""An article's MinHash signature, for syndication groups (crawler.archive.groups).

A 128-value MinHash (``rensa``, seeded: the same text gives the same signature on every
machine and run) of the body's 5-word shingles (characters for scripts written without
spaces). Computed in the extraction workers, where the article is made. Why rensa over
datasketch: bench/minhash.py, 10,000 bodies signed in 0.16 s against 17.8 s, the same
verdicts on copies and other stories.
"""

from __future__ import annotations

import re

NUM_PERM = 128
SEED = 1
SHINGLE = 5
# A character of a script written without spaces, or a word.
_TOKEN = re.compile(
    r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|\w+", re.UNICODE
)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")


def shingles(text: str) -> list[str]:
    """5-word shingles of a markdown body; link targets left out (each outlet's own)."""
    tokens = _TOKEN.findall(_LINK_TARGET.sub("]", text).lower())
    if len(tokens) <= SHINGLE:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)]


def signature(text: str) -> tuple[int, ...]:
    """The MinHash of *text* (empty text: an empty signature, never grouped)."""
    return signed(text)[0]


def signed(text: str) -> tuple[tuple[int, ...], int]:
    """The MinHash of *text* and how many distinct shingles it holds (what containment
    is estimated from: a copy cut short holds fewer of the same)."""
    import rensa  # (here: only the processes that sign load it)

    items = shingles(text)
    if not items:
        return (), 0
    minhash = rensa.RMinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update(items)
    return tuple(minhash.digest()), len(set(items))
