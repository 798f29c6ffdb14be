"""End to end: ``scrapy crawl seeds`` (citation crawl), re-runs, revisits, locking, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.archive.directory import Archive
from crawler.core.identity import url_id
from crawler.tools.verify import verify
from crawler.warc.reader import iter_records
from tests.support.crawl import BIN, ROOT, TEST_SETTINGS, CrawlResult, run_crawl, write_url_list
from tests.support.paths import SEEDS
from tests.support.siteserver import SiteServer

DEPTH1 = {
    "/news/2024/03/harbor-bridge-reopens.html": "blog-post.md",  # also in notes.txt
    "/world/elections.html?id=42&lang=en": "blog-post.md",  # <autolink>
    "/science/mars-rover.html": "blog-post.md",  # bare URL in parentheses, then "."
    "/sports/marathon.html": "blog-post.md",  # relative, resolved against front matter url
    "/old/ferry-strike": "blog-post.md",  # reference-style link
    "/europe/latin1-news.html": "page.html",  # HTML seed
}
# linked from the harbor article's main content: fetched at depth 2 only
DEPTH2 = ["/news/2024/03/city-council-budget.html", "/reports/harbor-bridge-2024.html"]


@pytest.fixture(scope="module")
def seed_dir(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed documents with the loopback site's address filled in."""
    out = tmp_path_factory.mktemp("seeds")
    for template in SEEDS.iterdir():
        data = template.read_bytes().replace(b"{{BASE}}", site.base_url.encode())
        (out / template.name).write_bytes(data)
    return out


@pytest.fixture(scope="module")
def depth1(seed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    result = run_crawl(tmp_path_factory.mktemp("seeds1"), "seeds", {"seeds": str(seed_dir)})
    assert result.returncode == 0, result.log[-4000:]
    return result


def links(result: CrawlResult) -> list[dict]:
    path = result.archive / "links.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_depth1_fetches_what_the_seeds_cite_once(depth1: CrawlResult, site: SiteServer):
    lines = depth1.manifest
    assert sorted(line["url"] for line in lines) == sorted(site.url(p) for p in DEPTH1)
    for line in lines:
        path = line["url"][len(site.base_url) :]
        assert line["via"] == DEPTH1[path]
        assert line["outcome"] == "ok", line
        assert line["id"] == url_id(line["url"])
        assert (depth1.archive / line["text_file"]).exists()
    assert sorted(line["seq"] for line in lines) == [f"{i:03d}" for i in range(len(DEPTH1))]


def test_seed_links_recorded_with_anchors(depth1: CrawlResult, site: SiteServer):
    graph = links(depth1)
    from_seeds = {(g["from"], g["url"]) for g in graph if not g["from"].isalnum()}
    harbor = site.url("/news/2024/03/harbor-bridge-reopens.html")
    assert ("blog-post.md", harbor) in from_seeds and ("notes.txt", harbor) in from_seeds
    anchors = {g["url"]: g["anchor"] for g in graph if g["from"] == "blog-post.md"}
    assert anchors[harbor] == "Harbor Bridge finally reopened"
    assert anchors[site.url("/old/ferry-strike")] == "ferry strike ended"
    assert anchors[site.url("/sports/marathon.html")] == "sports story"
    html = [g for g in graph if g["from"] == "page.html"]
    assert [g["anchor"] for g in html] == ["Stadtrat beschließt neue Brücke"]
    for g in graph:
        assert g["to"] == url_id(g["url"])
        assert not g["url"].endswith((".jpg", ".pdf"))  # media skipped without media=1
    # the fetched article's main-content links are in the graph too, not followed at depth 1
    harbor_id = url_id(harbor)
    cited = {g["url"] for g in graph if g["from"] == harbor_id}
    assert cited == {site.url(p) for p in DEPTH2}
    assert not {site.url(p) for p in DEPTH2} & {line["url"] for line in depth1.manifest}


def test_unreadable_seeds_skipped_and_counted(depth1: CrawlResult, site: SiteServer):
    for name, reason in [("binary.bin", "binary"), ("empty.txt", "empty")]:
        assert "Skipped seed" in depth1.log and name in depth1.log and reason in depth1.log
    record = depth1.run_record
    assert record["seeds"] == {
        "read": 4,
        "read_leniently": 1,  # latin1.txt: read as cp1252, its link kept
        "skipped": {"binary": 1, "empty": 1},
        "relative_links_skipped": 1,
        "media_links_skipped": 2,
    }
    # the seed in Latin-1 was read, not skipped: its link and its anchor survive
    latin = [g for g in links(depth1) if g["from"] == "latin1.txt"]
    assert latin == [{
        "from": "latin1.txt", "to": url_id(site.url("/science/mars-rover.html")),
        "url": site.url("/science/mars-rover.html"), "anchor": "Café de la Gare",
    }]  # fmt: skip


def test_depth2_follows_main_content_links(seed_dir: Path, site: SiteServer, tmp_path: Path):
    result = run_crawl(tmp_path / "a", "seeds", {"seeds": str(seed_dir), "depth": "2"})
    assert result.returncode == 0, result.log[-4000:]
    by_url = result.by_url()
    harbor_id = url_id(site.url("/news/2024/03/harbor-bridge-reopens.html"))
    for path in DEPTH2:
        assert by_url[site.url(path)]["via"] == harbor_id
        assert by_url[site.url(path)]["outcome"] == "ok"
    assert len(by_url) == len(DEPTH1) + len(DEPTH2)
    # nav links, footers and "most read" boxes are not main content: never followed
    assert site.url("/sports/marathon.html") in by_url  # (a seed link, depth 1)
    assert all("/about" not in u and "/privacy" not in u for u in by_url)


def test_second_run_fetches_nothing_again_and_refresh_writes_revisits(
    seed_dir: Path, tmp_path: Path
):
    archive = tmp_path / "a"
    first = run_crawl(archive, "seeds", {"seeds": str(seed_dir)})
    assert first.returncode == 0
    first_lines = first.manifest  # (read now: all three runs share the archive)
    dumps = {p: p.stat().st_mtime_ns for p in (archive / "text").iterdir()}
    second = run_crawl(archive, "seeds", {"seeds": str(seed_dir)})
    assert second.returncode == 0, second.log[-3000:]
    assert second.manifest == first_lines  # no new lines: nothing fetched
    assert second.run_record["counters"]["discovered/already_archived"] == 6

    third = run_crawl(archive, "seeds", {"seeds": str(seed_dir), "refresh": "1"})
    assert third.returncode == 0, third.log[-3000:]
    new_lines = third.manifest[len(first_lines) :]
    assert sorted(line["outcome"] for line in new_lines) == ["unchanged"] * len(DEPTH1)
    assert {p: p.stat().st_mtime_ns for p in (archive / "text").iterdir()} == dumps
    for line in new_lines:
        assert line["text_file"] is not None and (archive / line["text_file"]).exists()
    revisits = []
    for path in third.warc_files():
        for record in iter_records(path):
            if record.rec_type == "revisit":
                revisits.append(record)
        assert subprocess.run([BIN / "warcio", "check", str(path)]).returncode == 0
    assert len(revisits) == len(DEPTH1)
    firsts = {line["final_url"]: line for line in first_lines}
    for record in revisits:
        headers = record.rec_headers
        assert headers.get_header("WARC-Profile").endswith("identical-payload-digest")
        target = headers.get_header("WARC-Target-URI")
        assert headers.get_header("WARC-Refers-To-Target-URI") == target
        assert headers.get_header("WARC-Refers-To-Date")
        assert headers.get_header("WARC-Refers-To")
        assert target in firsts


def test_second_concurrent_run_is_refused(seed_dir: Path, tmp_path: Path):
    archive = tmp_path / "a"
    holder = Archive(archive)
    holder.open()  # as a running crawl does
    try:
        result = run_crawl(archive, "seeds", {"seeds": str(seed_dir)})
    finally:
        holder.close()
    assert result.returncode == 1
    assert "another crawl" in result.log and "is writing to" in result.log
    assert not (archive / "manifest.jsonl").exists()


def test_archive_stays_locked_until_every_component_is_done(site: SiteServer, tmp_path: Path):
    """The lock outlives the WARC writer: a crawl starting while the first one closes its
    files is refused instead of "recovering" them. (It used to be released when the
    spider closed, before the WARC middleware had closed its `.open` files.)"""
    probe = tmp_path / "probe.json"
    extensions = {
        "crawler.extensions.archive.ArchiveExtension": 100,
        "crawler.extensions.progress.Progress": 510,
        "tests.support.probes.LockProbe": 900,
    }
    urls = write_url_list(tmp_path / "urls.txt", [site.url("/news/2024/03/ferry-strike-ends.html")])
    result = run_crawl(
        tmp_path / "a",
        args={"urls": str(urls)},
        settings={"EXTENSIONS": json.dumps(extensions), "LOCK_PROBE_FILE": str(probe)},
    )
    assert result.returncode == 0, result.log[-3000:]
    seen = json.loads(probe.read_text())
    assert seen["open_warc_files"] == [] and len(seen["closed_warc_files"]) == 1  # WARC closed
    assert seen["second_crawl_refused"] is True  # ... and the archive still locked
    assert Archive(tmp_path / "a").locked_by() is None  # released once the crawl is over


def test_a_crawl_that_cannot_start_still_records_its_run_and_releases_the_lock(
    site: SiteServer, tmp_path: Path
):
    extensions = {
        "crawler.extensions.archive.ArchiveExtension": 100,
        "tests.support.probes.RefuseToStart": 900,
    }
    urls = write_url_list(tmp_path / "urls.txt", [site.url("/nav.html?probe=refuse")])
    result = run_crawl(
        tmp_path / "a", args={"urls": str(urls)}, settings={"EXTENSIONS": json.dumps(extensions)}
    )
    assert result.returncode == 1
    record = result.run_record
    assert record["status"] == "incomplete" and record["finish_reason"] == "refused_to_start"
    assert "/nav.html?probe=refuse" not in site.log.paths()
    assert Archive(tmp_path / "a").locked_by() is None


def test_killed_run_resumes_without_loss_or_duplicates(site: SiteServer, tmp_path: Path):
    urls = [site.url(f"/paced/{i}.html") for i in range(240)]
    url_file = write_url_list(tmp_path / "urls.txt", urls)
    archive = tmp_path / "a"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"urls={url_file}"]
    for key, value in {**TEST_SETTINGS, "ARCHIVE_DIR": str(archive)}.items():
        cmd += ["-s", f"{key}={value}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = archive / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if manifest.exists() and manifest.read_bytes().count(b"\n") >= 60:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = manifest.read_bytes().count(b"\n")
    assert 60 <= done_before < len(urls), "the kill should land mid-crawl"
    assert list((archive / "warc").glob("*.open"))  # left behind by the kill

    result = run_crawl(archive, args={"urls": str(url_file)})
    assert result.returncode == 0, result.log[-3000:]
    lines = result.manifest
    ok = [line["url"] for line in lines if line["outcome"] == "ok"]
    assert sorted(ok) == sorted(urls)  # every URL ok exactly once: none lost, none doubled
    assert not list((archive / "warc").glob("*.open"))
    assert not list((archive / "text").glob(".*.tmp"))
    assert len(list((archive / "text").glob("*.txt"))) == len(urls)
    for path in result.warc_files():
        check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True)
        assert check.returncode == 0, path
    assert result.run_record["recovery"]["warc_files_closed"] == 1
    # the file the killed run left open was indexed by the run that closed it: every
    # record of every file has its index line, and the index no other
    report = verify(Archive(archive))
    assert report.ok, [str(p) for p in report.problems[:5]]
    assert report.checked["index lines"] >= 2 * len(urls)
