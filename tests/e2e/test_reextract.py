"""``scrapy reextract`` on a fresh crawl's archive: byte-identical dumps, and a changed
setting rewriting what it changes in place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crawler.archive.directory import Archive
from crawler.archive.dumps import render_dump
from crawler.tools.verify import verify
from tests.support.crawl import CrawlResult, run_crawl, run_scrapy, write_url_list
from tests.support.siteserver import SiteServer


def reextract(*args: str) -> dict:
    result = run_scrapy("reextract", *args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_a_fresh_crawl_reextracts_to_byte_identical_dumps(crawl: CrawlResult, tmp_path: Path):
    summary = reextract(str(crawl.archive), "--out", str(tmp_path / "out"))
    crawled = sorted((crawl.archive / "text").iterdir())
    assert summary["changed"] == 0 and summary["unchanged"] == summary["written"] == len(crawled)
    for path in crawled:
        assert (tmp_path / "out" / "text" / path.name).read_bytes() == path.read_bytes(), path
    # manifest lines too, but for the run's own order of completion
    ours = {x["id"]: x for x in crawl.manifest if x["outcome"] in ("ok", "no_text")}
    theirs = {x["id"]: x for x in Archive(tmp_path / "out").manifest_records()}
    assert theirs == {id_: ours[id_] for id_ in theirs} and theirs.keys() == ours.keys()
    assert verify(Archive(tmp_path / "out")).ok  # its WARC pointers resolve (linked WARCs)
    # in place, nothing changed: no dump rewritten, no line added
    copy = tmp_path / "copy"
    shutil.copytree(crawl.archive, copy)
    before = (copy / "manifest.jsonl").read_bytes()
    summary = reextract(str(copy))
    assert summary["changed"] == 0 and summary["written"] == 0
    assert (copy / "manifest.jsonl").read_bytes() == before


def test_a_changed_setting_rewrites_what_it_changes_in_place(site: SiteServer, tmp_path: Path):
    urls = [
        site.url("/news/2024/03/library-hours.html"),
        site.url("/news/2024/03/ferry-strike-ends.html"),
    ]
    crawled = run_crawl(
        tmp_path / "a", args={"urls": str(write_url_list(tmp_path / "u.txt", urls))}
    )
    assert crawled.returncode == 0, crawled.log[-3000:]
    summary = reextract(str(tmp_path / "a"), "-s", "EXTRACT_COMMENTS=1")
    assert (summary["changed"], summary["unchanged"], summary["written"]) == (1, 1, 1)
    assert summary["why"] == {"body": 1}  # the comments: the front matter is the same
    archive = Archive(tmp_path / "a")
    lines = list(archive.manifest_records())
    assert len(lines) == 3 and lines[-1]["url"] == urls[0]  # one new line, for the change
    _, body = archive.read_dump(lines[-1]["text_file"])
    assert "## Reader comments" in body and "Finally!" in body
    assert verify(archive).ok  # the new line's text_sha256 is the new dump's


def test_an_older_archive_gets_the_new_fields(site: SiteServer, tmp_path: Path):
    """Dumps made by older rules (no authors, no sources, no extractor): reextract brings
    them up to date and says which fields it added."""
    url = site.url("/news/2024/03/city-council-budget.html")
    listed = write_url_list(tmp_path / "u.txt", [url])
    crawled = run_crawl(tmp_path / "a", args={"urls": str(listed)})
    assert crawled.returncode == 0, crawled.log[-3000:]
    archive = Archive(tmp_path / "a")
    (line,) = archive.manifest_records()
    fields, body = archive.read_dump(line["text_file"])
    assert fields["authors"] == ["Daniel Reyes"] and fields["extractor"].startswith("rules ")
    older = {k: v for k, v in fields.items() if k not in ("authors", "date_source", "extractor")}
    (tmp_path / "a" / line["text_file"]).write_text(render_dump(older, body), encoding="utf-8")
    summary = reextract(str(tmp_path / "a"))
    assert summary["changed"] == 1
    assert summary["why"] == {"added authors": 1, "added date_source": 1}
    assert archive.read_dump(line["text_file"])[0] == fields
