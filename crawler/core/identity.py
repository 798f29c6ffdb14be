"""Stable names: canonical URL, id, seq, the text-dump file name, and an article's digest."""

from __future__ import annotations

import hashlib

from w3lib.url import canonicalize_url

ID_HEX_DIGITS = 16
SEQ_MIN_DIGITS = 3


def canonical_url(url: str) -> str:
    """``w3lib.url.canonicalize_url`` (sorted query, no fragment, normalised escapes)."""
    return canonicalize_url(url)


def url_id(url: str) -> str:
    """First 16 hex digits of SHA-256 of the canonical form of *url* as requested.

    Text that is not a parseable URL (an invalid input line) is hashed as given, so
    every manifest line still carries an id that is the same on every run.
    """
    try:
        key = canonical_url(url)
    except ValueError:
        key = url
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:ID_HEX_DIGITS]


def format_seq(position: int) -> str:
    """Zero-padded to at least three digits: 0 -> ``000``, 1000 -> ``1000``."""
    if position < 0:
        raise ValueError(f"seq must be >= 0, got {position}")
    return f"{position:0{SEQ_MIN_DIGITS}d}"


def text_filename(seq: str, id_: str) -> str:
    """``<seq>_<id>.txt``, the seed-document naming."""
    return f"{seq}_{id_}.txt"


def text_digest(text: str) -> str:
    """SHA-256 of *text* as UTF-8, in hex: the manifest's ``text_sha256`` (of a dump's
    body) and ``dump_sha256`` (of the whole dump file, written as UTF-8 with ``\n``)."""
    return hashlib.sha256(text.encode()).hexdigest()
