"""Syndication groups made again from text dumps, where the crawl's own grouping is not:
the merged corpus of a distributed job (its workers do not group), and the articles of a
killed run whose index entries were in the state store's lost last batch.

Reads manifest lines and the dumps they point at; writes the group index (the archive's
state store) and, for a merged corpus, ``group``/``similarity``/``group_kind`` on the
lines and ``groups.jsonl``. Articles are signed as the crawl signs them: the dump's body
without its reader comments.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import yaml

from crawler.archive.directory import Archive
from crawler.archive.groups import GroupIndex
from crawler.archive.state import manifest_lines_after
from crawler.core.items import GroupMatch, article_text
from crawler.core.manifest import GROUP_FIELDS
from crawler.core.outcomes import OK
from crawler.extract.minhash import signed

logger = logging.getLogger(__name__)

# What reading a dump back can raise (besides FileNotFoundError, an OSError).
DUMP_ERRORS = (OSError, ValueError, yaml.YAMLError)


def _groupable(line: Mapping[str, Any]) -> bool:
    return bool(line.get("outcome") == OK and line.get("text_file") and line.get("text_sha256"))


def index_dump(archive: Archive, index: GroupIndex, line: Mapping[str, Any]) -> GroupMatch | None:
    """Index the article of a manifest *line* from its dump (None: no text to sign).
    Raises DUMP_ERRORS for a dump that cannot be read."""
    _, body = archive.read_dump(line["text_file"])
    sig, shingles = signed(article_text(body))
    if not sig:
        return None
    return index.add(line["id"], line.get("final_url") or line["url"], line["text_sha256"],
                     sig, line.get("fetched_at") or "", shingles)  # fmt: skip


def group_corpus(
    archive: Archive, lines: list[dict[str, Any]], problems: list[str], *, threshold: float
) -> int:
    """Groups of a whole corpus (a merge), afresh: every extracted article in the order it
    was fetched, so the same lines always give the same groups. Sets the group fields on
    *lines*, writes ``groups.jsonl``; returns the number of groups. An unreadable dump
    is a problem, and its article is not grouped."""
    index = archive.state.group_index(threshold)
    if index is None:
        return 0
    articles = sorted(filter(_groupable, lines),
                      key=lambda line: (line.get("fetched_at") or "", line["id"]))  # fmt: skip
    with index.bulk():
        index.reset()
        for line in articles:
            for key in GROUP_FIELDS:  # an earlier merge's labels: given afresh or not at all
                line.pop(key, None)
            try:
                match = index_dump(archive, index, line)
            except FileNotFoundError:
                continue  # a dump in no part: already a problem of the merge
            except DUMP_ERRORS as exc:
                problems.append(f"{line['id']}: dump {line['text_file']} unreadable: {exc}")
                continue
            if match is not None:
                line.update(group=match.group, similarity=match.similarity)  # as a crawl's
                if match.kind is not None:
                    line.update(group_kind=match.kind, group_relation=match.relation,
                                containment=match.containment)  # fmt: skip
    return archive.write_groups(index)


def regroup_lost(archive: Archive, index: GroupIndex) -> int:
    """Index again the grouped articles of the lines the state store caught up from the
    manifest (a killed run's last, uncommitted batch) whose entry the index lacks or
    holds for another text; returns how many. The state store keeps where to start until
    this has run (an offline command opening the archive in between changes nothing)."""
    state = archive.state
    start = state.regroup_from()
    if start is None:
        return 0
    count = 0
    with index.bulk():
        for record, _ in manifest_lines_after(archive.manifest_path, start):
            line = dataclasses.asdict(record)
            if not _groupable(line) or not line.get("group"):
                continue
            if index.has(record.id, sha=record.text_sha256):
                continue
            try:
                count += index_dump(archive, index, line) is not None
            except DUMP_ERRORS as exc:
                logger.warning("Cannot group %s again from %s: %s", record.id,
                               record.text_file, exc)  # fmt: skip
    state.regrouped()
    return count
