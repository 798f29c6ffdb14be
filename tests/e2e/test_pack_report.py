"""The offline commands' edges, without a browser: ``scrapy index``, ``pack`` and
``report`` on archives that are empty, locked, old or damaged, and what a crawl's end
does when its index or report cannot be written. (What a reader sees in pywb and
Chromium is tests/e2e/test_replay.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import lxml.html
import pytest

from crawler.archive.directory import Archive
from crawler.tools.report import run_report
from crawler.tools.verify import verify
from tests.support.crawl import ROOT, CrawlResult, run_crawl, write_url_list
from tests.support.siteserver import SiteServer


def scrapy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.fixture
def copy(crawl: CrawlResult, tmp_path: Path) -> Path:
    """A copy of the shared crawl's archive, to change."""
    shutil.copytree(crawl.archive, tmp_path / "archive")
    return tmp_path / "archive"


def test_a_crawl_ends_with_its_index_and_report(crawl: CrawlResult):
    report = verify(Archive(crawl.archive))
    assert report.ok and report.checked["index lines"] >= 2 * len(crawl.manifest)
    assert crawl.run_record["counters"]["index/files_added"] == len(crawl.warc_files())
    [name] = [p.stem for p in (crawl.archive / "runs").glob("*.json")]
    assert (crawl.archive / "reports" / f"{name}.html").is_file()


def test_pack_into_a_new_directory_is_whole_and_leaves_no_temporary_file(copy: Path):
    out = copy.parent / "share" / "deep" / "crawl.wacz"
    result = scrapy("pack", str(copy), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert zipfile.ZipFile(out).testzip() is None
    assert [p.name for p in out.parent.iterdir()] == ["crawl.wacz"]


def test_nothing_to_pack_is_a_clear_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    result = scrapy("pack", str(tmp_path / "empty"))
    assert result.returncode == 2 and "no closed WARC file to pack" in result.stderr
    result = scrapy("pack", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "no archive at" in result.stderr


def test_commands_on_an_archive_a_crawl_is_writing(copy: Path):
    (copy / "indexes" / "index.cdxj").unlink()
    with Archive(copy):  # what a running crawl holds
        result = scrapy("index", str(copy))
        assert result.returncode == 1
        assert "Cannot rebuild the index: another crawl (pid" in result.stderr
        # pack goes on with the index as it is (here: none), and says so
        result = scrapy("pack", str(copy), "--out", str(copy.parent / "a.wacz"))
        assert result.returncode == 0
        assert "Warning: the CDXJ index is used as it is (another crawl" in result.stderr
    result = scrapy("index", str(copy))
    assert result.returncode == 0 and verify(Archive(copy)).ok


def test_a_run_record_older_than_reports_gets_a_report_that_says_so(copy: Path):
    [path] = (copy / "runs").glob("*.json")
    record = json.loads(path.read_text())
    del record["manifest_range"]
    path.write_text(json.dumps(record))
    html = run_report(Archive(copy), path.stem, record)
    text = " ".join(lxml.html.fromstring(html).text_content().split())
    assert "does not say which manifest lines this run wrote" in text
    # a manifest rewritten since: the range no longer falls on line starts
    record["manifest_range"] = [5, 40]
    html = run_report(Archive(copy), path.stem, record)
    assert "no longer has this run's lines" in lxml.html.fromstring(html).text_content()


def test_a_crawl_whose_index_cannot_be_written_still_completes(site: SiteServer, tmp_path: Path):
    archive = tmp_path / "archive"
    (archive / "indexes").mkdir(parents=True)
    (archive / "indexes" / "index.cdxj").mkdir()  # where the index file should go
    urls = write_url_list(tmp_path / "urls.txt", [site.url("/gzip/mars-rover.html")])
    result = run_crawl(archive, args={"urls": str(urls)})
    assert result.returncode == 0, result.log[-3000:]
    assert "Could not update the CDXJ index (scrapy index rebuilds it)" in result.log
    assert result.run_record["status"] == "complete"
    assert result.run_record["counters"]["index/errors"] == 1
    shutil.rmtree(archive / "indexes")
    assert scrapy("index", str(archive)).returncode == 0 and verify(Archive(archive)).ok
