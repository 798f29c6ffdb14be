"""Seed documents: files of links (front-matter markdown, text, HTML), found in a file or
a folder and read streaming, their links taken by crawler.extract.links' one rule."""

from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

from crawler.core.items import FoundLink
from crawler.core.urls import SCHEME_RE
from crawler.extract.decoding import detect_encoding
from crawler.extract.links import LinkRules, html_links, markdown_links
from crawler.sources.urllists import InputFormatError

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
SNIFF_BYTES = 64 * 1024
FRONT_MATTER_MAX_LINES = 2000


class SeedSkipped(Exception):
    """A seed file that cannot be read as a document; ``kind`` says why, in a few words."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind} ({detail})" if detail else kind)
        self.kind = kind  # unreadable | too large | empty | binary


# -- seed documents ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SeedDocument:
    path: Path
    base_url: str | None  # where the document came from (front matter url), for relative links
    date: str | None  # front matter date, if any
    links: Iterator[FoundLink]  # lazily read; consume once
    lenient: str | None = None  # not UTF-8: how it was read ("cp1252", "utf-8, bad bytes replaced")


def find_seed_files(spec: str | Path) -> list[Path]:
    """A file, every file under a directory (recursively, hidden ones skipped), or a glob."""
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = [
            p for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        ]  # fmt: skip
    else:
        found = [Path(p) for p in glob.glob(str(spec), recursive=True) if Path(p).is_file()]
    if not found:
        raise InputFormatError(f"no seed documents at {str(spec)!r}")
    return sorted(found)


def _front_matter(handle: IO[str]) -> tuple[dict, list[str]]:
    """YAML front matter (``---`` ... ``---``) at the top, and the lines read past it."""
    first = handle.readline()
    if first.strip() != "---":
        return {}, [first]
    block: list[str] = []
    for _ in range(FRONT_MATTER_MAX_LINES):
        line = handle.readline()
        if not line or line.strip() in ("---", "..."):
            break
        block.append(line)
    else:
        return {}, [first, *block]  # no closing fence: not front matter
    try:
        data = yaml.safe_load("".join(block))
    except Exception:  # a malformed header (bad YAML, impossible dates) is text, not a
        # reason to lose the document
        return {}, [first, *block]
    return (data if isinstance(data, dict) else {}), []


def read_seed(path: Path, *, max_bytes: int, rules: LinkRules | None = None) -> SeedDocument:
    """Open a seed document; raise SeedSkipped when it is no readable text or HTML."""
    rules = rules or LinkRules()
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise SeedSkipped("unreadable", str(exc)) from None
    if size > max_bytes:
        raise SeedSkipped("too large", f"{size} bytes; SEEDS_MAX_BYTES is {max_bytes}")
    if not head.strip():
        raise SeedSkipped("empty")
    if b"\x00" in head:
        raise SeedSkipped("binary", "contains NUL bytes")
    sniff = head.lstrip()[:200].lower()
    if path.suffix.lower() in HTML_SUFFIXES or sniff.startswith((b"<!doctype html", b"<html")):
        return SeedDocument(path, None, None, html_links(path, rules))
    encoding, lenient = "utf-8-sig", None
    try:
        # a multi-byte character cut at the sniff boundary is not an error
        head.decode("utf-8-sig") if len(head) < SNIFF_BYTES else head[:-4].decode("utf-8-sig")
    except UnicodeDecodeError:
        # Text with some bad bytes, or in a legacy charset (Latin-1, cp1252): read it,
        # in the charset detected, or as UTF-8 with the bad bytes replaced.
        detected = detect_encoding(head)
        encoding = detected or "utf-8"
        lenient = detected or "utf-8, bad bytes replaced"
    handle = path.open(encoding=encoding, errors="replace")
    meta, replay = _front_matter(handle)
    base = next(
        (str(meta[k]) for k in ("url", "source_url", "link", "canonical") if meta.get(k)), None
    )
    if base is not None and not SCHEME_RE.match(base):
        base = None
    date = str(meta["date"]) if meta.get("date") else None

    def lines() -> Iterator[str]:
        with handle:
            yield from replay
            yield from handle

    return SeedDocument(path, base, date, markdown_links(lines(), base, rules), lenient)
