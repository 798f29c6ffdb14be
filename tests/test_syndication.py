"""Syndication groups: the same wire story at three outlets is one group, another story on
the same topic is not, exact copies are told apart, and any arrival order gives the same
groups (unit tests on the index, and a real crawl of the site's wire pages)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import pytest

from crawler.archive.groups import EXACT, NEAR, GroupIndex, similarity
from crawler.core.items import ExtractOptions
from crawler.extract.article import extract_page
from crawler.extract.minhash import signature
from tests.conftest import run_crawl, write_url_list
from tests.siteserver import SiteServer

WIRE = Path(__file__).parent / "site" / "wire"
STORY = ["herald-rail-deal", "coastline-rail-deal", "metro-rail-deal"]
COPY = "herald-rail-deal-copy"  # the same page under another masthead: the same body
OTHER = "herald-villages"  # the same topic, another story


def body(name: str) -> str:
    html = (WIRE / f"{name}.html").read_bytes()
    extraction = extract_page(html, "text/html", f"http://{name}.example/story", ExtractOptions())
    assert extraction.article is not None
    return extraction.article.body


@pytest.fixture(scope="module")
def bodies() -> dict[str, str]:
    return {name: body(name) for name in [*STORY, COPY, OTHER]}


def partition(index: GroupIndex, names: list[str]) -> set[frozenset[str]]:
    rows = index.db.execute("SELECT id, grp FROM syndication_docs").fetchall()
    groups: dict[str, set[str]] = {}
    for id_, grp in rows:
        groups.setdefault(grp, set()).add(id_)
    return {frozenset(g) for g in groups.values()}


def index_in(order: list[str], bodies: dict[str, str]) -> GroupIndex:
    import hashlib

    index = GroupIndex(sqlite3.connect(":memory:", isolation_level=None))
    for n, name in enumerate(order):
        text = bodies[name]
        index.add(name, f"http://{name}.example/story", hashlib.sha256(text.encode()).hexdigest(),
                  signature(text), f"2026-12-01T00:00:{n:02d}Z")  # fmt: skip
    return index


def test_signatures_separate_copies_from_other_stories(bodies):
    sig = {name: signature(text) for name, text in bodies.items()}
    for a, b in itertools.combinations(STORY, 2):
        assert similarity(sig[a], sig[b]) >= 0.8, (a, b)
    for name in STORY:
        assert similarity(sig[name], sig[OTHER]) < 0.2
    assert sig[COPY] == sig[STORY[0]]
    assert signature("") == ()


def test_the_story_is_one_group_the_other_story_another(bodies):
    order = [*STORY, COPY, OTHER]
    index = index_in(order, bodies)
    assert partition(index, order) == {frozenset([*STORY, COPY]), frozenset([OTHER])}
    [group] = list(index.groups())  # groups of two or more only
    assert group["group"] == STORY[0] and group["size"] == 4
    kinds = {m["id"]: m["kind"] for m in group["members"]}
    assert kinds == {STORY[0]: None, STORY[1]: NEAR, STORY[2]: NEAR, COPY: EXACT}
    assert group["outlets"] == sorted(f"{n}.example" for n in [*STORY, COPY])


def test_any_arrival_order_gives_the_same_groups(bodies):
    names = [*STORY, COPY, OTHER]
    expected = {frozenset([*STORY, COPY]), frozenset([OTHER])}
    for order in itertools.permutations(names):
        assert partition(index_in(list(order), bodies), names) == expected, order


def test_an_article_linking_two_groups_merges_them():
    base = " ".join(f"w{i}" for i in range(400))
    left = base + " " + " ".join(f"l{i}" for i in range(60))
    right = base + " " + " ".join(f"r{i}" for i in range(60))
    index = GroupIndex(sqlite3.connect(":memory:", isolation_level=None), threshold=0.8)
    for n, (name, text) in enumerate([("left", left), ("right", right), ("base", base)]):
        index.add(name, f"http://{name}.example/", name, signature(text), f"t{n}")
    groups = {grp for (grp,) in index.db.execute("SELECT grp FROM syndication_docs")}
    assert groups == {"left"}  # right joined through base, named after the first seen


def test_grouping_is_incremental_across_runs(bodies, tmp_path):
    import hashlib

    path = tmp_path / "state.sqlite"
    for n, name in enumerate([STORY[0], STORY[1]]):  # one article per "run"
        db = sqlite3.connect(path, isolation_level=None)
        text = bodies[name]
        match = GroupIndex(db).add(name, f"http://{name}.example/",
                                   hashlib.sha256(text.encode()).hexdigest(), signature(text),
                                   f"2026-12-0{n + 1}T00:00:00Z")  # fmt: skip
        db.close()
    assert (match.group, match.kind) == (STORY[0], NEAR) and match.similarity >= 0.8


def test_bulk_grouping_is_the_same_grouping_and_all_or_nothing(bodies):
    import hashlib

    order = [*STORY, COPY, OTHER]
    one_by_one = index_in(order, bodies)
    index = GroupIndex(sqlite3.connect(":memory:", isolation_level=None))
    with index.bulk():
        for n, name in enumerate(order):
            text = bodies[name]
            index.add(name, f"http://{name}.example/story",
                      hashlib.sha256(text.encode()).hexdigest(), signature(text),
                      f"2026-12-01T00:00:{n:02d}Z")  # fmt: skip
    assert list(index.groups()) == list(one_by_one.groups())
    with pytest.raises(RuntimeError), index.bulk():  # a failure midway: nothing kept
        index.reset()
        raise RuntimeError("interrupted")
    assert partition(index, order) == {frozenset([*STORY, COPY]), frozenset([OTHER])}
    with index.bulk():
        index.reset()
    assert list(index.groups()) == [] and partition(index, order) == set()


def test_a_killed_runs_lost_index_entries_are_made_again_from_the_dumps(bodies, tmp_path):
    """A crawl commits the index once a second: killed, its last articles have lines and
    dumps but no index entries. The next open indexes them again, grouped as before."""
    import hashlib

    from crawler.archive.directory import Archive
    from crawler.archive.dumps import render_dump
    from crawler.tools.regroup import regroup_lost
    from tests.builders import manifest_record

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
        got = {frozenset(names[i] for i in group) for group in partition(index, order)}
    assert got == {frozenset([*STORY, COPY]), frozenset([OTHER])}


def grouped(result) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for line in result.manifest:
        if line["outcome"] == "ok":
            groups.setdefault(line["group"], set()).add(line["url"].rsplit("/", 1)[-1])
    return {frozenset(g) for g in groups.values()}


def test_a_crawl_groups_the_wire_copies_in_any_order(site: SiteServer, tmp_path):
    names = [*STORY, COPY, OTHER]
    urls = [site.url(f"/wire/{n}.html") for n in names]
    first = run_crawl(tmp_path / "a", args={"urls": str(write_url_list(tmp_path / "a.txt", urls))})
    assert first.returncode == 0, first.log[-3000:]
    expected = {frozenset(f"{n}.html" for n in [*STORY, COPY]), frozenset([f"{OTHER}.html"])}
    assert grouped(first) == expected
    lines = {line["url"].rsplit("/", 1)[-1]: line for line in first.manifest}
    firsts = [x for x in lines.values() if x["group"] == x["id"]]  # each group's first
    assert len(firsts) == 2 and all("group_kind" not in x for x in firsts)
    # the page and its copy under another masthead: whichever came second is `exact`
    twins = [lines[f"{STORY[0]}.html"].get("group_kind"), lines[f"{COPY}.html"].get("group_kind")]
    assert twins.count("exact") == 1
    metro = lines[f"{STORY[2]}.html"]
    assert metro.get("group_kind") in ("near", None)  # None: it came first
    assert metro["similarity"] >= 0.8
    [group] = [json.loads(x) for x in (tmp_path / "a" / "groups.jsonl").read_text().splitlines()]
    assert group["size"] == 4 and group["first_seen"]
    assert first.run_record["counters"]["groups/written"] == 1

    again = run_crawl(tmp_path / "b", args={
        "urls": str(write_url_list(tmp_path / "b.txt", list(reversed(urls))))
    }, settings={"CONCURRENT_REQUESTS": "1"})  # fmt: skip
    assert again.returncode == 0, again.log[-3000:]
    assert grouped(again) == expected
