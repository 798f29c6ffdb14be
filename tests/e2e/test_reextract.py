"""``scrapy reextract`` on a fresh crawl's archive: byte-identical dumps, and a changed
setting rewriting what it changes in place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crawler.archive.directory import Archive
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
    archive = Archive(tmp_path / "a")
    lines = list(archive.manifest_records())
    assert len(lines) == 3 and lines[-1]["url"] == urls[0]  # one new line, for the change
    _, body = archive.read_dump(lines[-1]["text_file"])
    assert "## Reader comments" in body and "Finally!" in body
    assert verify(archive).ok  # the new line's text_sha256 is the new dump's
