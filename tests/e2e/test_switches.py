"""End to end: each on/off switch, through the real ``scrapy crawl urls``, judged by the files."""

from __future__ import annotations

import subprocess
from pathlib import Path

from crawler.archive.directory import Archive
from crawler.tools.verify import verify
from tests.support.crawl import BIN, CrawlResult, run_crawl, write_url_list
from tests.support.siteserver import SiteServer

PATHS = {
    "article": "/news/2024/03/harbor-bridge-reopens.html",
    "gzip": "/gzip/mars-rover.html",
    "nav": "/nav.html",
    "missing": "/missing.html",
}


def crawl_with(site: SiteServer, tmp_path: Path, **settings: str) -> tuple[CrawlResult, dict]:
    urls = write_url_list(tmp_path / "urls.txt", [site.url(p) for p in PATHS.values()])
    result = run_crawl(tmp_path / "archive", args={"urls": str(urls)}, settings=settings)
    assert result.returncode == 0, result.log[-3000:]
    by_url = result.by_url()
    assert len(result.manifest) == len(PATHS)  # one line per input URL, whatever the switch
    return result, {key: by_url[site.url(path)] for key, path in PATHS.items()}


def assert_warcs_point_right(result: CrawlResult, lines: dict) -> None:
    archive = Archive(result.archive)
    files = archive.warc_files()
    assert files and not list(archive.warc_dir.glob("*.open"))
    for path in files:
        assert subprocess.run([BIN / "warcio", "check", str(path)]).returncode == 0
    for line in lines.values():
        record, _ = archive.warc_record(line["warc_file"], line["warc_offset"])
        assert record.rec_headers.get_header("WARC-Target-URI") == line["final_url"]
        if line["text_file"]:
            meta, _ = archive.read_dump(line["text_file"])
            assert meta["warc_record_id"] == record.rec_headers.get_header("WARC-Record-ID")
    report = verify(archive)  # the index the run ended with included
    assert report.ok and report.checked["index lines"], [str(p) for p in report.problems]


def test_warc_disabled(site: SiteServer, tmp_path: Path):
    result, lines = crawl_with(site, tmp_path, WARC_ENABLED="0")
    assert not list(result.archive.glob("warc/*"))
    assert [line["outcome"] for line in lines.values()] == ["ok", "ok", "no_text", "error"]
    for line in lines.values():
        assert line["warc_file"] is None and line["warc_offset"] is None
        assert line["fetched_at"]  # the time is still known without a WARC
    meta, body = Archive(result.archive).read_dump(lines["article"]["text_file"])
    assert "warc_file" not in meta and "warc_record_id" not in meta
    assert "Harbor Bridge" in meta["title"] and body
    record = result.run_record
    assert record["warc_files"] == [] and record["warc_records"] == 0
    assert record["settings"]["WARC_ENABLED"] is False
    assert not (result.archive / "indexes").exists()  # nothing to index
    assert (result.archive / "reports" / "index.html").is_file()


def test_warc_writer_in_the_crawler_process(site: SiteServer, tmp_path: Path):
    result, lines = crawl_with(site, tmp_path, WARC_WRITER_PROCESS="0")
    assert [line["outcome"] for line in lines.values()] == ["ok", "ok", "no_text", "error"]
    assert_warcs_point_right(result, lines)
    assert result.run_record["warc_files"] == [p.name for p in result.warc_files()]


def test_extraction_disabled_archives_only(site: SiteServer, tmp_path: Path):
    result, lines = crawl_with(site, tmp_path, EXTRACT_ENABLED="0")
    # archived is `ok` without extraction; the 404 stays an error
    assert [line["outcome"] for line in lines.values()] == ["ok", "ok", "ok", "error"]
    for line in lines.values():
        assert line["text_file"] is None and line["title"] is None and line["words"] is None
    assert not (result.archive / "text").exists()
    assert_warcs_point_right(result, lines)
    assert result.run_record["settings"]["EXTRACT_ENABLED"] is False


def test_text_dumps_disabled(site: SiteServer, tmp_path: Path):
    result, lines = crawl_with(site, tmp_path, TEXT_ENABLED="0")
    assert [line["outcome"] for line in lines.values()] == ["ok", "ok", "no_text", "error"]
    article = lines["article"]
    assert article["text_file"] is None
    # extraction still ran: the manifest has what it found
    assert article["title"] and article["words"] > 100 and article["text_sha256"]
    assert not (result.archive / "text").exists()
    assert result.run_record["text_files"] == 0
    assert result.run_record["settings"]["TEXT_ENABLED"] is False
