"""``scrapy merge`` without the crawl (crawler.distributed.merge.merge_parts): worker parts
made by hand under tmp_path, merged into one archive. One line per (seq, id), the
preferred one of an entry done twice, the others counted; dumps, WARC files and links
brought in; syndication groups of the whole corpus when a grouper is given."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from crawler.archive.directory import Archive
from crawler.archive.dumps import render_dump
from crawler.archive.files import LinksWriter, ManifestWriter
from crawler.core.identity import text_digest, url_id
from crawler.core.items import LinkRecord
from crawler.distributed.merge import MergeError, merge_parts
from crawler.tools.regroup import group_corpus
from crawler.warc.writer import HttpExchange, WarcWriter
from tests.support.builders import manifest_record
from tests.support.wire import COPY, OTHER, STORY, body

GROUPER = partial(group_corpus, threshold=0.8)  # as `scrapy merge` groups


def url_of(name: str) -> str:
    return f"http://{name}.example/story"


def line(seq: str, name: str, outcome: str = "ok", fetched_at: str = "2026-12-01T00:00:00Z",
         **fields):  # fmt: skip
    """A manifest line of the wire page *name* (any name: another URL)."""
    url = url_of(name)
    base = dict(id=url_id(url), seq=seq, url=url, final_url=url, outcome=outcome, error=None,
                status=200, fetched_at=fetched_at, source="live")  # fmt: skip
    if outcome != "ok":
        base["error"] = f"{outcome} for the test"
    return manifest_record(**{**base, **fields})


def make_part(root: Path, worker: str, lines: list, *, articles: dict[str, str] | None = None,
              links: list[LinkRecord] = ()) -> Path:  # fmt: skip
    """``root/workers/WORKER``: a WARC file, the dumps of *articles* (seq -> wire page name)
    and the manifest *lines* (an article's pointing at its dump), as a worker leaves it."""
    part = root / "workers" / worker
    writer = WarcWriter(part / "warc", prefix=worker)
    writer.write_exchange(HttpExchange(
        url=f"http://{worker}.example/", method="GET", request_headers=[(b"Accept", b"*/*")],
        response_headers=[(b"Content-Type", b"text/html")], status=200,
        body=f"<p>{worker}</p>".encode(), ip_address="192.0.2.1",
        date=datetime(2026, 12, 1, tzinfo=UTC),
    ))  # fmt: skip
    writer.close()
    manifest = ManifestWriter(part / "manifest.jsonl")
    for record in lines:
        name = (articles or {}).get(record.seq)
        if name is not None:
            text = body(name)
            text_file = Archive.text_file(record.seq, record.id)
            (part / "text").mkdir(exist_ok=True)
            (part / text_file).write_text(render_dump({"title": name}, text), encoding="utf-8")
            record = dataclasses.replace(record, text_file=text_file,
                                         text_sha256=text_digest(text))  # fmt: skip
        manifest.write(record)
    manifest.close()
    if links:
        writer = LinksWriter(part / "links.jsonl")
        writer.write(links)
        writer.close()
    return part


def merged_lines(root: Path) -> list[dict]:
    return [json.loads(x) for x in (root / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture
def parts(tmp_path: Path) -> Path:
    """Two workers' parts with one entry in both: w1 wrote an error for seq 001 (and died
    before acknowledging it), w2 took the entry over and archived it."""
    root = tmp_path / "archive"
    shared = LinkRecord("seeds/a.md", url_id(url_of(OTHER)), url_of(OTHER), "the villages")
    make_part(root, "w1", [line("000", STORY[0]), line("001", STORY[1], "error")],
              articles={"000": STORY[0]}, links=[shared])  # fmt: skip
    make_part(root, "w2", [line("001", STORY[1], fetched_at="2026-12-01T00:05:00Z"),
                           line("002", "nav", "no_text")],
              articles={"001": STORY[1]},
              links=[shared, LinkRecord(url_id(url_of(STORY[1])), "ff" * 8, "http://x.example/",
                                        "x")])  # fmt: skip
    return root


def test_one_line_per_entry_the_preferred_one_kept(parts: Path):
    result = merge_parts(parts)
    lines = merged_lines(parts)
    assert [(x["seq"], x["outcome"]) for x in lines] == [("000", "ok"), ("001", "ok"),
                                                          ("002", "no_text")]  # fmt: skip
    assert lines[1]["fetched_at"] == "2026-12-01T00:05:00Z"  # w2's, an ok beats an error
    assert (result.lines, result.duplicates, result.parts) == (3, 1, ["w1", "w2"])
    assert result.problems == [] and result.groups == 0
    assert not any("group" in x for x in lines)  # no grouper: no groups


def test_dumps_warc_files_and_links_are_brought_in(parts: Path):
    result = merge_parts(parts)
    for line_ in merged_lines(parts):
        if line_["text_file"]:
            merged = parts / line_["text_file"]
            worker = "w1" if line_["seq"] == "000" else "w2"
            source = parts / "workers" / worker / line_["text_file"]
            assert os.path.samefile(merged, source)  # a hard link: the part stays as it is
    assert result.text_files == 2 and result.warc_files == 2
    assert sorted(p.name.split("-")[0] for p in Archive(parts).warc_files()) == ["w1", "w2"]
    links = (parts / "links.jsonl").read_text().splitlines()
    assert len(links) == 2  # the link both workers took, once
    assert result.index_lines >= 4  # a request and a response record per WARC file
    with Archive(parts) as archive:  # the merged archive's state knows every entry
        assert archive.previous(url_id(url_of(STORY[1]))).outcome == "ok"
        assert archive.recovery.manifest_lines_recorded == 0


def test_merging_again_gives_the_same_archive(parts: Path):
    first = merge_parts(parts)
    before = (parts / "manifest.jsonl").read_bytes(), (parts / "links.jsonl").read_bytes()
    again = merge_parts(parts)
    assert ((parts / "manifest.jsonl").read_bytes(), (parts / "links.jsonl").read_bytes()) == before
    assert (again.lines, again.duplicates) == (first.lines, first.duplicates)
    assert (again.text_files, again.warc_files) == (0, 0)  # already there


@pytest.mark.parametrize(
    ("w1", "w2", "kept"),
    [
        (("ok", "2026-12-01T00:00:00Z"), ("no_text", "2026-12-02T00:00:00Z"), "w1"),
        (("unchanged", "2026-12-01T00:00:00Z"), ("ok", "2026-11-01T00:00:00Z"), "w2"),
        (("error", "2026-12-01T00:00:00Z"), ("error", "2026-12-02T00:00:00Z"), "w2"),
        (("ok", "2026-12-01T00:00:00Z"), ("ok", "2026-12-01T00:00:00Z"), "w1"),  # by name
    ],
)
def test_the_preference_of_an_entry_done_twice(tmp_path: Path, w1, w2, kept):
    """By outcome (ok, unchanged, no_text, anything else), then the later fetch, then
    the worker's name: the same parts always give the same line."""
    root = tmp_path / "archive"
    for worker, (outcome, when) in (("w1", w1), ("w2", w2)):
        make_part(root, worker, [line("000", STORY[0], outcome, when, title=worker)])
    result = merge_parts(root)
    [merged] = merged_lines(root)
    assert merged["title"] == kept and result.duplicates == 1


def test_a_dump_in_no_part_is_a_problem(tmp_path: Path):
    root = tmp_path / "archive"
    make_part(root, "w1", [line("000", STORY[0], text_file="text/000_missing.txt")])
    result = merge_parts(root)
    assert result.problems == [
        f"{url_id(url_of(STORY[0]))}: dump text/000_missing.txt is in no part"
    ]
    assert result.lines == 1


def test_no_parts_is_an_error(tmp_path: Path):
    with pytest.raises(MergeError, match="no worker parts"):
        merge_parts(tmp_path / "archive")


# -- with a grouper ------------------------------------------------------------------------------
def test_the_merge_groups_the_whole_corpus(tmp_path: Path):
    """Workers do not group: the merge does, in fetch order, as one crawl would."""
    root = tmp_path / "archive"
    make_part(root, "w1", [line("000", STORY[0], fetched_at="2026-12-01T00:00:01Z")],
              articles={"000": STORY[0]})  # fmt: skip
    make_part(root, "w2", [line("001", COPY, fetched_at="2026-12-01T00:00:02Z"),
                           line("002", OTHER, fetched_at="2026-12-01T00:00:03Z"),
                           line("003", "nav", "no_text")],
              articles={"001": COPY, "002": OTHER})  # fmt: skip
    result = merge_parts(root, GROUPER)
    lines = {x["seq"]: x for x in merged_lines(root)}
    first = lines["000"]["id"]
    assert result.groups == 1 and result.problems == []
    assert (lines["000"]["group"], lines["000"].get("group_kind")) == (first, None)
    assert (lines["001"]["group"], lines["001"]["group_kind"]) == (first, "exact")
    assert lines["001"]["similarity"] == 1.0
    assert lines["002"]["group"] == lines["002"]["id"] and "group_kind" not in lines["002"]
    assert "group" not in lines["003"]
    [group] = Archive(root).groups()
    assert group["group"] == first and group["size"] == 2
    with Archive(root) as archive:
        assert archive.state.regroup_from() is None  # grouped at the merge, every line
    # the same parts merged again: the same lines, groups included
    before = (root / "manifest.jsonl").read_bytes(), (root / "groups.jsonl").read_bytes()
    merge_parts(root, GROUPER)
    assert ((root / "manifest.jsonl").read_bytes(), (root / "groups.jsonl").read_bytes()) == before
