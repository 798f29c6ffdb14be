"""crawler.tools.regroup: syndication groups made again from text dumps."""

from __future__ import annotations

import hashlib

import pytest

from crawler.archive.directory import Archive
from crawler.archive.dumps import render_dump
from crawler.archive.groups import GroupIndex
from crawler.tools.regroup import regroup_lost
from tests.support.builders import manifest_record
from tests.support.wire import COPY, NAMES, OTHER, STORY, body


@pytest.fixture(scope="module")
def bodies() -> dict[str, str]:
    return {name: body(name) for name in NAMES}


def partition(index: GroupIndex) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for id_, grp in index.db.execute("SELECT id, grp FROM syndication_docs"):
        groups.setdefault(grp, set()).add(id_)
    return {frozenset(g) for g in groups.values()}


def test_a_killed_runs_lost_index_entries_are_made_again_from_the_dumps(bodies, tmp_path):
    """A crawl commits the index once a second: killed, its last articles have lines and
    dumps but no index entries. The next open indexes them again, grouped as before."""
    order = [*STORY, COPY, OTHER]
    with Archive(tmp_path / "archive") as archive:
        for n, name in enumerate(order):
            text = bodies[name]
            dump = archive.write_dump(f"{n:03d}", f"{n:016x}", render_dump({"title": name}, text))
            archive.record(manifest_record(
                id=f"{n:016x}", seq=f"{n:03d}", url=f"http://{name}.example/story",
                outcome="ok", error=None, text_file=dump, group=f"{n:016x}",
                text_sha256=hashlib.sha256(text.encode()).hexdigest(),
                fetched_at=f"2026-12-01T00:00:{n:02d}Z",
            ), None)  # fmt: skip
        # What a kill leaves: lines and dumps on disk, the last batch not committed.
        archive.state.forget()
    with Archive(tmp_path / "archive") as archive:  # an offline command opens it first
        assert archive.state.regroup_from() == 0
    with Archive(tmp_path / "archive") as archive:
        index = GroupIndex(archive.state.db)
        assert archive.state.regroup_from() == 0 and not index.has(f"{0:016x}")
        assert regroup_lost(archive, index) == len(order)
        assert archive.state.regroup_from() is None
        assert regroup_lost(archive, index) == 0  # each once
        names = {f"{n:016x}": name for n, name in enumerate(order)}
        got = {frozenset(names[i] for i in group) for group in partition(index)}
    assert got == {frozenset([*STORY, COPY]), frozenset([OTHER])}
