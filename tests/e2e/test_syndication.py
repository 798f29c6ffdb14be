"""Syndication groups in a real crawl of the site's wire pages (tests.support.wire): the
story and its copies one group, the other story another, in any order of the URL list."""

from __future__ import annotations

import json

from tests.support.crawl import run_crawl, write_url_list
from tests.support.siteserver import SiteServer
from tests.support.wire import COPY, CUT, EXTENDED, OTHER, STORY


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


def test_copies_cut_short_and_extended_are_grouped_with_their_relation(site: SiteServer, tmp_path):
    """The story, a copy of its first five paragraphs (about 0.7 similar: under the
    threshold, wholly contained) and one with a paragraph added are one group, whichever
    is extracted first; each relation is to that first one. The other story on the topic
    stays apart."""
    names = [STORY[0], CUT, EXTENDED, OTHER]
    urls = [site.url(f"/wire/{n}.html") for n in names]
    result = run_crawl(tmp_path / "a", args={"urls": str(write_url_list(tmp_path / "a.txt", urls))})
    assert result.returncode == 0, result.log[-3000:]
    assert grouped(result) == {frozenset(f"{n}.html" for n in [STORY[0], CUT, EXTENDED]),
                               frozenset([f"{OTHER}.html"])}  # fmt: skip
    lines = {line["url"].rsplit("/", 1)[-1].removesuffix(".html"): line for line in result.manifest}
    [first] = [n for n in (STORY[0], CUT, EXTENDED) if lines[n]["group"] == lines[n]["id"]]
    expected = {  # how each relates to the first one: the longer contains the shorter
        STORY[0]: {CUT: "contained_in", EXTENDED: "contains"},
        CUT: {STORY[0]: "contains", EXTENDED: "contains"},
        EXTENDED: {STORY[0]: "contained_in", CUT: "contained_in"},
    }[first]
    assert "group_relation" not in lines[first] and "containment" not in lines[first]
    for name, relation in expected.items():
        assert lines[name]["group_relation"] == relation, (first, name)
        assert lines[name]["containment"] >= 0.8
    similar = {n: lines[n]["similarity"] for n in expected}
    assert min(similar.values()) < 0.8  # the cut copy and the whole: contained, not near
    [group] = [json.loads(x) for x in (tmp_path / "a" / "groups.jsonl").read_text().splitlines()]
    relations = {m["url"].rsplit("/", 1)[-1].removesuffix(".html"): m["relation"]
                 for m in group["members"]}  # fmt: skip
    assert relations == {first: None, **expected}
