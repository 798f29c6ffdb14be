"""One archive out of a distributed job's worker parts (``scrapy merge``).

Each worker of a job writes its own part, ``ARCHIVE_DIR/workers/<name>/`` (its WARC
files, dumps and manifest: no two processes ever append to one file). Merging gives
``ARCHIVE_DIR`` itself one manifest with one line per input entry, the links of every
part (each line once), the WARC files and
the dumps those lines point at (hard links where the file system allows, else
copies: the parts stay as they are), a fresh CDXJ index, and the syndication groups of
the whole corpus (workers do not group: one index, in fetch order, gives every merge of
the same parts the same groups); ``scrapy verify`` then checks it like any archive.

An entry done twice (a worker died after writing its line but before acknowledging it,
and another took it over) has a line in two parts: the merge keeps one, by outcome
(ok, then unchanged, no_text, anything else), then the later fetch, then the worker
name, so any merge of the same parts gives the same archive, and counts the others.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.archive.directory import Archive
from crawler.archive.files import StorageError, atomic_write_text
from crawler.core.manifest import GROUP_FIELDS
from crawler.core.outcomes import NO_TEXT, OK, UNCHANGED

_RANK = {OK: 0, UNCHANGED: 1, NO_TEXT: 2}
Chosen = tuple[dict[str, Any], Archive]  # a manifest line and the archive it is from


class MergeError(Exception):
    """The parts cannot be merged (no parts, a missing file a line points at)."""


@dataclass
class MergeResult:
    lines: int = 0  # manifest lines of the merged archive
    parts: list[str] = field(default_factory=list)
    duplicates: int = 0  # lines of entries done twice, left out
    warc_files: int = 0  # WARC files linked in
    text_files: int = 0  # dumps linked in
    index_lines: int = 0
    groups: int = 0  # syndication groups of two or more articles
    problems: list[str] = field(default_factory=list)


def _better(line: dict[str, Any], part: str, kept: dict[str, Any], kept_part: str) -> bool:
    """Whether *line* (of *part*) is preferred to *kept*: a total order, so the result
    does not depend on the order the parts are read in."""
    rank, kept_rank = _RANK.get(line.get("outcome"), 3), _RANK.get(kept.get("outcome"), 3)
    if rank != kept_rank:
        return rank < kept_rank
    when, kept_when = line.get("fetched_at") or "", kept.get("fetched_at") or ""
    if when != kept_when:
        return when > kept_when  # ISO 8601 UTC: the later fetch
    return part < kept_part


def _link(source: Path, target: Path) -> bool:
    """*source* at *target* (hard link, else copy); False if *target* already exists."""
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or no hard links: a copy, then a rename
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    return True


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = []
    with path.open("rb") as fh:
        for raw in fh:
            if raw.endswith(b"\n"):
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue
    return lines


# Groups a merged corpus afresh (crawler.tools.regroup.group_corpus with a threshold):
# sets the group fields of the lines it is given, returns the number of groups.
Grouper = Callable[[Archive, list[dict[str, Any]], list[str]], int]


def _chosen_lines(root: Archive, parts: list[Archive], result: MergeResult) -> list[Chosen]:
    """Every line of every part, and the merged manifest's own (an earlier merge of the
    same parts, or crawls made here): one per (seq, id), the preferred one, in order."""
    chosen: dict[tuple[str, str], Chosen] = {}
    candidates = [(line, root) for line in _lines(root.manifest_path)]
    for part in parts:
        candidates += [(line, part) for line in _lines(part.manifest_path)]
    for line, where in candidates:
        key = (str(line.get("seq")), str(line.get("id")))
        if key in chosen:
            kept, kept_where = chosen[key]
            if _unlabelled(kept) == _unlabelled(line):
                continue  # the same line again (already merged): not a duplicate
            result.duplicates += 1
            if not _better(line, where.root.name, kept, kept_where.root.name):
                continue
        chosen[key] = (line, where)
    return [chosen[key] for key in sorted(chosen)]


def _link_files(archive: Archive, parts: list[Archive], chosen: list[Chosen],
                result: MergeResult) -> None:  # fmt: skip
    """The parts' WARC files, and the dumps the chosen lines point at, into *archive*."""
    for part in parts:
        for warc in part.warc_files():
            result.warc_files += _link(warc, archive.warc_dir / warc.name)
    for line, where in chosen:
        text = line.get("text_file")
        if not text:
            continue
        # An `unchanged` line points at the dump of an earlier capture, which may be
        # another part's.
        sources = [where.root / text, *(part.root / text for part in parts), archive.root / text]
        source = next((s for s in sources if s.is_file()), None)
        if source is None:
            result.problems.append(f"{line.get('id')}: dump {text} is in no part")
            continue
        if source != archive.root / text:
            result.text_files += _link(source, archive.root / text)


def _merge_links(archive: Archive, parts: list[Archive]) -> None:
    """The citation graph: every part's links (the same seed parsed by two workers gives
    the same lines: each kept once)."""
    links: dict[bytes, None] = {}
    for source in [archive, *parts]:
        if source.links_path.exists():
            links.update((raw, None) for raw in source.links_path.read_bytes().splitlines(
                keepends=True) if raw.endswith(b"\n"))  # fmt: skip
    if links:
        atomic_write_text(archive.links_path, b"".join(links).decode("utf-8"), durable=True)


def merge_parts(root: str | Path, group: Grouper | None = None) -> MergeResult:
    """Merge ``root/workers/*`` into *root* (under its lock; the parts are read only),
    grouping syndicated copies with *group* (None: no grouping)."""
    merged = Archive(root)
    parts = merged.worker_parts()
    if not parts:
        raise MergeError(f"no worker parts under {merged.workers_dir}")
    result = MergeResult(parts=[p.root.name for p in parts])
    chosen = _chosen_lines(merged, parts, result)
    with merged as archive:
        _link_files(archive, parts, chosen, result)
        if group is not None:
            result.groups = group(archive, [line for line, _ in chosen], result.problems)
        body = "".join(
            json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line, _ in chosen
        )
        # The state store forgets the old manifest before it is replaced (killed between
        # the two, the next open reads the new one from its start), then reads the new one.
        archive.state.forget()
        atomic_write_text(archive.manifest_path, body, durable=True)
        result.lines = len(chosen)
        _merge_links(archive, parts)
        result.index_lines = archive.rebuild_index()
        try:
            archive.state.catch_up(archive.manifest_path)
            if group is not None:
                archive.state.regrouped()  # grouped above, every line
        except (StorageError, sqlite3.Error) as exc:
            result.problems.append(f"state store: {exc}")
    return result


def _unlabelled(line: dict[str, Any]) -> dict[str, Any]:
    """A manifest line without the labels a merge gives (the same line in a worker's part
    and in the merged manifest)."""
    return {k: v for k, v in line.items() if k not in GROUP_FIELDS}
