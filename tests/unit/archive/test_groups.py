"""Syndication groups (crawler.archive.groups): the same wire story at three outlets is one
group, another story on the same topic is not, exact copies are told apart, and any
arrival order gives the same groups. A real crawl of the wire pages is
tests/e2e/test_syndication.py."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from crawler.archive.groups import EXACT, NEAR, GroupIndex, similarity
from crawler.extract.minhash import signature
from tests.support.wire import COPY, NAMES, OTHER, STORY, body


@pytest.fixture(scope="module")
def bodies() -> dict[str, str]:
    return {name: body(name) for name in NAMES}


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
