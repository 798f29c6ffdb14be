"""Syndication groups (crawler.archive.groups): the same wire story at three outlets is one
group, another story on the same topic is not, exact copies are told apart, and any
arrival order gives the same groups. A real crawl of the wire pages is
tests/e2e/test_syndication.py."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from crawler.archive.groups import (
    CONTAINED_IN,
    CONTAINS,
    EXACT,
    NEAR,
    SAME,
    GroupIndex,
    containment,
    relation,
    similarity,
)
from crawler.extract.minhash import signature, signed
from tests.support.wire import COPY, CUT, EXTENDED, NAMES, OTHER, STORY, body


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
        sig, shingles = signed(text)
        index.add(name, f"http://{name}.example/story", hashlib.sha256(text.encode()).hexdigest(),
                  sig, f"2026-12-01T00:00:{n:02d}Z", shingles)  # fmt: skip
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
            sig, shingles = signed(text)
            index.add(name, f"http://{name}.example/story",
                      hashlib.sha256(text.encode()).hexdigest(), sig,
                      f"2026-12-01T00:00:{n:02d}Z", shingles)  # fmt: skip
    assert list(index.groups()) == list(one_by_one.groups())
    with pytest.raises(RuntimeError), index.bulk():  # a failure midway: nothing kept
        index.reset()
        raise RuntimeError("interrupted")
    assert partition(index, order) == {frozenset([*STORY, COPY]), frozenset([OTHER])}
    with index.bulk():
        index.reset()
    assert list(index.groups()) == [] and partition(index, order) == set()


# -- copies cut short or extended: containment -----------------------------------------------
def test_containment_from_similarity_and_sizes():
    # B holds A whole, A is 5/8 of B: Jaccard 5/8, A wholly in B, B 5/8 in A
    assert containment(5 / 8, 500, 800) == pytest.approx(1.0)
    assert containment(5 / 8, 800, 500) == pytest.approx(5 / 8)
    assert containment(0.5, 0, 800) == 0.0  # a size unknown (indexed before it was kept)
    assert relation(1.0, 300, 300, 0.8) == (SAME, 1.0)
    assert relation(0.9, 300, 305, 0.8)[0] == NEAR  # about the same size: a near copy
    assert relation(5 / 8, 500, 800, 0.8) == (CONTAINED_IN, 1.0)
    assert relation(5 / 8, 800, 500, 0.8) == (CONTAINS, 1.0)


def test_a_copy_cut_short_and_one_extended_join_the_story(bodies):
    sig = {name: signature(bodies[name]) for name in (STORY[0], CUT, EXTENDED)}
    assert similarity(sig[STORY[0]], sig[CUT]) < 0.8  # under the threshold: contained only
    order = [*STORY, COPY, CUT, EXTENDED, OTHER]
    index = index_in(order, bodies)
    assert partition(index, order) == {frozenset([*STORY, COPY, CUT, EXTENDED]),
                                       frozenset([OTHER])}  # fmt: skip
    [group] = list(index.groups())
    members = {m["id"]: m for m in group["members"]}
    assert members[STORY[0]]["relation"] is None  # the first-seen one
    assert members[COPY]["relation"] == SAME and members[COPY]["containment"] == 1.0
    assert members[STORY[2]]["relation"] == NEAR
    assert members[CUT]["relation"] == CONTAINED_IN and members[CUT]["containment"] >= 0.8
    assert members[CUT]["similarity"] < 0.8
    assert members[EXTENDED]["relation"] == CONTAINS and members[EXTENDED]["containment"] >= 0.8


@pytest.mark.parametrize("first", [CUT, EXTENDED, STORY[1]])
def test_the_copies_group_whichever_arrives_first(bodies, first):
    rest = [n for n in [*STORY, CUT, EXTENDED, OTHER] if n != first]
    for order in ([first, *rest], [first, *reversed(rest)]):
        index = index_in(order, bodies)
        assert partition(index, order) == {frozenset([*STORY, CUT, EXTENDED]), frozenset([OTHER])}


def test_the_match_records_relation_and_both_figures(bodies):
    import hashlib

    index = index_in([STORY[0]], bodies)
    for name, expected in ((CUT, CONTAINED_IN), (EXTENDED, CONTAINS), (COPY, SAME)):
        text = bodies[name]
        sig, shingles = signed(text)
        match = index.add(name, f"http://{name}.example/", hashlib.sha256(text.encode())
                          .hexdigest(), sig, "2026-12-02T00:00:00Z", shingles)  # fmt: skip
        assert (match.group, match.relation) == (STORY[0], expected)
        assert 0 < match.similarity <= 1 and match.containment >= 0.8


def test_another_story_on_the_topic_stays_apart_even_against_a_short_one(bodies):
    """The other story shares the topic's words (ports, rail, ministers); containment must
    not pull it in, whichever of the two is the shorter."""
    order = [OTHER, CUT, STORY[0]]
    index = index_in(order, bodies)
    assert frozenset([OTHER]) in partition(index, order)
