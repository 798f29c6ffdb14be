"""Which WARC files ``scrapy pack --since`` takes: crawler.tools.pack.packed_warcs."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.archive.directory import Archive
from crawler.tools.pack import packed_warcs

CSS = "http://news.example/site.css"
PAGE = "http://news.example/story.html"


def line(url: str, stamp: str, filename: str, **fields: str) -> str:
    block = {"url": url, **fields, "filename": filename, "offset": "0", "length": "10"}
    return f"com,example,news)/{url.rsplit('/', 1)[-1]} {stamp} {json.dumps(block)}\n"


def test_a_requisite_revalidated_by_a_304_brings_its_last_full_capture(tmp_path: Path):
    archive = Archive(tmp_path)
    archive.warc_dir.mkdir(parents=True)
    archive.runs_dir.mkdir()
    for name in ("a.warc.gz", "b.warc.gz", "c.warc.gz", "d.warc.gz"):
        (archive.warc_dir / name).write_bytes(b"")
    runs = {"20240101T000000Z": ["a.warc.gz", "b.warc.gz"], "20240201T000000Z": ["c.warc.gz"],
            "20240301T000000Z": ["d.warc.gz"]}  # fmt: skip
    for name, files in runs.items():
        (archive.runs_dir / f"{name}.json").write_text(json.dumps({"warc_files": files}))
    archive.index_path.parent.mkdir(parents=True, exist_ok=True)
    archive.index_path.write_text("".join(sorted([
        line(CSS, "20240101000000", "a.warc.gz", mime="text/css", status="200", digest="X"),
        line(CSS, "20240101000000", "a.warc.gz", type="request"),
        line(PAGE, "20240101000001", "b.warc.gz", mime="text/html", status="200", digest="P"),
        # the later run: the page unchanged (a revisit), the stylesheet revalidated (a 304
        # revisit, not indexed: only its request is)
        line(PAGE, "20240301000000", "d.warc.gz", mime="warc/revisit", status="200", digest="P"),
        line(CSS, "20240301000000", "d.warc.gz", type="request"),
    ])))  # fmt: skip
    selected, originals = packed_warcs(archive, "20240301T000000Z")
    assert [p.name for p in selected] == ["d.warc.gz"]
    assert [p.name for p in originals] == ["a.warc.gz", "b.warc.gz"]  # not c: nothing of it
