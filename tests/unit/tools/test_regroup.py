"""crawler.tools.regroup: syndication groups made again from text dumps, for a merged
corpus (group_corpus) and for a killed run's lost index entries (regroup_lost)."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from crawler.archive.directory import Archive
from crawler.archive.dumps import render_dump
from crawler.archive.groups import GroupIndex
from crawler.distributed.frontier import RedisFrontier, connect
from crawler.distributed.state import RedisStateStore
from crawler.tools.regroup import group_corpus, regroup_lost
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


# -- group_corpus: a merged corpus, afresh -------------------------------------------------------
def corpus(archive: Archive, bodies: dict[str, str], order: list[str]) -> list[dict]:
    """Manifest lines (as dicts) of the wire pages in *order*, fetched in that order, each
    with its dump in the archive."""
    lines = []
    for n, name in enumerate(order):
        text = bodies[name]
        id_ = f"{n:016x}"
        dump = archive.write_dump(f"{n:03d}", id_, render_dump({"title": name}, text))
        lines.append(dataclasses.asdict(manifest_record(
            id=id_, seq=f"{n:03d}", url=f"http://{name}.example/story", outcome="ok",
            error=None, text_file=dump, text_sha256=hashlib.sha256(text.encode()).hexdigest(),
            fetched_at=f"2026-12-01T00:00:{n:02d}Z",
        )))  # fmt: skip
    return lines


def test_group_corpus_labels_the_lines_and_writes_the_groups(bodies, tmp_path):
    order = [*STORY, COPY, OTHER]
    with Archive(tmp_path / "archive") as archive:
        lines = corpus(archive, bodies, order)
        problems: list[str] = []
        assert group_corpus(archive, lines, problems, threshold=0.8) == 1
    assert problems == []
    by_name = dict(zip(order, lines, strict=True))
    first = by_name[STORY[0]]["id"]
    assert by_name[STORY[0]]["group"] == first and "group_kind" not in by_name[STORY[0]]
    assert [by_name[n]["group_kind"] for n in (STORY[1], STORY[2], COPY)] == ["near", "near",
                                                                               "exact"]  # fmt: skip
    assert all(by_name[n]["group"] == first for n in [*STORY, COPY])
    assert by_name[COPY]["similarity"] == 1.0 and by_name[STORY[1]]["similarity"] >= 0.8
    assert by_name[OTHER]["group"] == by_name[OTHER]["id"]
    [group] = Archive(tmp_path / "archive").groups()
    assert group["group"] == first and group["size"] == 4


def test_group_corpus_follows_the_fetch_order_not_the_line_order(bodies, tmp_path):
    order = [COPY, STORY[0], OTHER]  # the copy fetched first: the story is its exact copy
    with Archive(tmp_path / "archive") as archive:
        lines = corpus(archive, bodies, order)
        group_corpus(archive, list(reversed(lines)), [], threshold=0.8)
    copy, story, _ = lines
    assert story["group"] == copy["id"] and story["group_kind"] == "exact"


def test_group_corpus_gives_labels_afresh(bodies, tmp_path):
    """An earlier merge's labels go; lines that are no article keep none."""
    with Archive(tmp_path / "archive") as archive:
        lines = corpus(archive, bodies, [OTHER])
        lines[0].update(group="0" * 16, similarity=0.9, group_kind="near")  # an earlier merge's
        error = dataclasses.asdict(manifest_record(id="e" * 16, seq="001"))
        lines.append(error)
        assert group_corpus(archive, lines, [], threshold=0.8) == 0
    assert (lines[0]["group"], lines[0]["similarity"]) == (lines[0]["id"], 1.0)
    assert "group_kind" not in lines[0]
    assert error["group"] is None  # untouched


def test_group_corpus_names_an_unreadable_dump_and_skips_a_missing_one(bodies, tmp_path):
    with Archive(tmp_path / "archive") as archive:
        lines = corpus(archive, bodies, [STORY[0], STORY[1], OTHER])
        (archive.root / lines[1]["text_file"]).write_text("no front matter at all\n")
        (archive.root / lines[2]["text_file"]).unlink()  # a dump in no part: the merge's problem
        problems: list[str] = []
        assert group_corpus(archive, lines, problems, threshold=0.8) == 0
    [problem] = problems
    assert problem.startswith(f"{lines[1]['id']}: dump {lines[1]['text_file']} unreadable: ")
    assert "group" in lines[0] and lines[1].get("group") is None and lines[2].get("group") is None


def test_a_store_without_an_index_groups_nothing(bodies, tmp_path, redis_server):
    frontier = RedisFrontier(connect(redis_server.url), "j")
    state = RedisStateStore(frontier.redis, frontier.key, "w1")
    with Archive(tmp_path / "archive", state=state) as archive:
        lines = corpus(archive, bodies, [STORY[0], COPY])
        assert group_corpus(archive, lines, [], threshold=0.8) == 0
    assert not any(line.get("group") for line in lines)


# -- regroup_lost: a killed run's last batch -----------------------------------------------------
def test_nothing_to_regroup_without_a_marker(tmp_path):
    with Archive(tmp_path / "archive") as archive:
        assert archive.state.regroup_from() is None
        assert regroup_lost(archive, GroupIndex(archive.state.db)) == 0


def test_regroup_skips_what_was_never_grouped_and_survives_a_bad_dump(bodies, tmp_path, caplog):
    with Archive(tmp_path / "archive") as archive:
        lines = corpus(archive, bodies, [STORY[0], STORY[1], OTHER])
        lines[0]["group"] = lines[0]["id"]  # grouped by the crawl
        lines[1]["group"] = lines[0]["id"]
        (archive.root / lines[1]["text_file"]).write_text("no front matter at all\n")
        # lines[2] has no group: a crawl with grouping off
        archive.manifest_path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with Archive(tmp_path / "archive") as archive:  # catches the lines up: marker at 0
        index = GroupIndex(archive.state.db)
        assert archive.state.regroup_from() == 0
        assert regroup_lost(archive, index) == 1
        assert index.has(lines[0]["id"]) and not index.has(lines[2]["id"])
        assert archive.state.regroup_from() is None  # done, bad dump and all
    assert f"Cannot group {lines[1]['id']} again" in caplog.text
