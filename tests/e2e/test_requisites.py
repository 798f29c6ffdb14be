"""End to end: ``CAPTURE=requisites`` on The Looking Glass (tests/site/looks/), a small
magazine whose stylesheets import others and load fonts and backgrounds, with responsive
images, a picture, a frame (with a frame of its own), a video poster, inline styles, a
"CDN" on another origin (localhost instead of 127.0.0.1) and a tracking pixel that
robots.txt disallows.

Two runs into one archive (the second with ``refresh=1``: every requisite revalidated
with a conditional GET), and a run with tight limits into another.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.directory import Archive
from crawler.warc.cdxj import parse_line, record_type
from tests.support.crawl import (
    BIN,
    ROOT,
    TEST_SETTINGS,
    CrawlResult,
    run_crawl,
    run_scrapy,
    write_url_list,
)
from tests.support.siteserver import SiteServer

PAGES = ["/looks/plain.html", "/looks/second.html", "/looks/gallery.html"]
# What plain.html needs, by kind: what its HTML, stylesheets and frame reference.
PLAIN = {
    "stylesheet": ["css/main.css", "css/base.css", "css/print.css", "css/layout.css",
                   "css/inline-import.css", "cdn/css/cdn.css", "css/frame.css"],
    "font": ["fonts/serif.woff2", "fonts/serif.woff", "cdn/fonts/sans.woff2"],
    "image": ["img/paper.png", "img/hero-wide.png", "img/hero-narrow.png", "img/logo-1x.png",
              "img/logo-2x.png", "img/quote.png", "img/style-bg.png", "img/chart.webp",
              "img/chart.png", "img/photo-400.png", "img/photo-800.png", "img/photo-1600.png",
              "img/inline-bg.png", "img/poster.png", "img/map.png", "cdn/img/cdn-bg.png",
              "cdn/img/ad.png"],
    "icon": ["favicon.png"],
    "frame": ["frames/map.html"],
}  # fmt: skip
PLAIN_PATHS = {f"/looks/{p}" for paths in PLAIN.values() for p in paths}


@dataclass
class Run:
    """What one run left (the archive goes on: read right after the run)."""

    crawl: CrawlResult
    lines: list[dict]
    warcs: list[Path]  # this run's own
    record: dict

    @classmethod
    def of(cls, crawl: CrawlResult, before: Run | None = None) -> Run:
        lines, warcs = crawl.manifest, crawl.warc_files()
        if before is not None:
            lines, warcs = lines[len(before.lines) :], [w for w in warcs if w not in before.warcs]
        return cls(crawl, lines, warcs, crawl.run_record)

    def line(self, path: str) -> dict:
        return next(line for line in self.lines if line["url"].endswith(path))


@dataclass
class Runs:
    site: SiteServer
    first: Run
    second: Run
    first_paths: Counter[str]  # request path -> times asked for in the first run
    second_requests: list  # the SeenRequests of the second run


def responses(warcs: list[Path]) -> list[tuple[str, str, str | None, str]]:
    """(record type, URL, WARC-Profile, status) of every response and revisit record."""
    found = []
    for path in warcs:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "revisit"):
                    found.append((
                        record.rec_type, record.rec_headers.get_header("WARC-Target-URI"),
                        record.rec_headers.get_header("WARC-Profile"),
                        record.http_headers.get_statuscode() if record.http_headers else "",
                    ))  # fmt: skip
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("requisites")
    with SiteServer() as site:
        urls = write_url_list(root / "urls.txt", [site.url(p) for p in PAGES])
        settings = {"CAPTURE": "requisites"}
        archive = root / "archive"
        crawl = run_crawl(archive, args={"urls": str(urls)}, settings=settings)
        assert crawl.returncode == 0, crawl.log[-5000:]
        first = Run.of(crawl)
        first_paths = Counter(site.log.paths())
        seen = len(site.log.requests)
        time.sleep(1.1)  # the second run's records are a second later at least
        crawl = run_crawl(archive, args={"urls": str(urls), "refresh": "1"}, settings=settings)
        assert crawl.returncode == 0, crawl.log[-5000:]
        second = Run.of(crawl, first)
        yield Runs(site, first, second, first_paths, site.log.requests[seen:])


def test_every_kind_of_requisite_is_fetched_and_archived(runs: Runs):
    line = runs.first.line("/looks/plain.html")
    assert line["outcome"] == "ok"
    fetched = {p for p in runs.first_paths if p.startswith("/looks/")} - set(PAGES)
    assert fetched >= PLAIN_PATHS, sorted(PLAIN_PATHS - fetched)
    archived = {urlsplit(uri).path for kind, uri, _, status in responses(runs.first.warcs)
                if kind == "response" and status == "200"}  # fmt: skip
    assert archived >= PLAIN_PATHS
    # the "CDN" is another origin: asked for under its own host name
    cdn_hosts = {r.host for r in runs.site.log.requests if "/looks/cdn/" in r.path}
    assert cdn_hosts == {"localhost"}
    # 31 found: every one fetched but the tracking pixel (robots.txt) and the frame's frame
    assert line["requisites"] == len(PLAIN_PATHS) + 2
    assert (line["requisites_fetched"], line["requisites_failed"]) == (len(PLAIN_PATHS), 0)
    assert line["requisites_skipped"] == 2


def test_disallowed_and_too_deep_requisites_are_never_fetched(runs: Runs):
    assert "/looks/tracking/pixel.png" not in runs.site.log.paths()
    assert "/looks/frames/inner.html" not in runs.site.log.paths()  # frames: one level
    assert "/looks/css/inner-only.css" not in runs.site.log.paths()
    skipped = runs.first.record["requisites"]["skipped_by"]
    assert skipped == {"refused": 1, "frame_depth": 1}


def test_shared_requisites_are_fetched_and_stored_once(runs: Runs):
    assets = {p: n for p, n in runs.first_paths.items() if p.startswith("/looks/")}
    assert set(assets.values()) == {1}, assets
    stored = Counter(uri for kind, uri, _, _ in responses(runs.first.warcs))
    assert max(stored.values()) == 1
    second = runs.first.line("/looks/second.html")
    assert second["requisites_fetched"] == second["requisites"] > 0  # main.css etc. shared
    assert runs.first.record["requisites"]["downloads"]["shared"] > 0


def test_page_lines_and_the_run_record_count_them(runs: Runs):
    lines = runs.first.lines
    assert len(lines) == len(PAGES) and {line["outcome"] for line in lines} == {"ok"}
    record = runs.first.record["requisites"]
    assert record["pages"] == len(PAGES)
    for field in ("fetched", "failed", "skipped"):
        assert record[field] == sum(line[f"requisites_{field}"] for line in lines)
    assert record["requisites"] == sum(line["requisites"] for line in lines)
    assert record["kinds"]["font"] == 3 and record["kinds"]["frame"] == 1
    assert runs.first.record["settings"]["CAPTURE"] == "requisites"
    report = next((runs.first.crawl.archive / "reports").glob("2*.html")).read_text()
    assert "Page requisites" in report


def test_a_later_run_revalidates_them_as_revisits(runs: Runs):
    asked = [r for r in runs.second_requests if r.path.removeprefix("/looks/") in {
        p for paths in PLAIN.values() for p in paths}]  # fmt: skip
    assert asked and all(any(k.lower() == "if-none-match" for k, _ in r.headers) for r in asked), (
        "every requisite asked for with a conditional GET"
    )
    records = responses(runs.second.warcs)
    assets = [r for r in records if "/looks/" in r[1] and not r[1].endswith(tuple(PAGES))]
    assert assets and all(kind == "revisit" for kind, *_ in assets)
    assert {status for *_, status in assets} == {"304"}
    assert all(profile.endswith("/server-not-modified") for _, _, profile, _ in assets)
    line = runs.second.line("/looks/plain.html")
    assert line["outcome"] == "unchanged"  # its requisites revalidated all the same
    assert line["requisites_fetched"] == len(PLAIN_PATHS)
    assert runs.second.record["requisites"]["downloads"]["revalidated"] == len(
        {p for p in runs.first_paths if p.startswith("/looks/")} - set(PAGES)
    )


def test_the_archive_checks_out_and_the_index_lists_the_requisites(runs: Runs):
    for path in runs.second.crawl.warc_files():
        check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    verify = run_scrapy("verify", str(runs.second.crawl.archive))
    assert verify.returncode == 0, (verify.stdout + verify.stderr)[-3000:]
    lines = Archive(runs.second.crawl.archive).index_path.read_text().splitlines()
    indexed = [parse_line(line)[2] for line in lines]
    responses_indexed = {urlsplit(f["url"]).path for f in indexed if record_type(f) == "response"}
    assert responses_indexed >= PLAIN_PATHS
    # a 304 revisit is not listed: pywb would replay the 304 instead of the capture
    assert not [f for f in indexed if record_type(f) == "revisit" and f.get("status") == "304"]


def test_limits_per_page(tmp_path: Path):
    with SiteServer() as site:
        urls = write_url_list(tmp_path / "urls.txt", [site.url("/looks/gallery.html")])
        limited = run_crawl(tmp_path / "archive", args={"urls": str(urls)}, settings={
            "CAPTURE": "requisites", "CAPTURE_REQUISITES_MAX": "5",
            "CAPTURE_REQUISITES_MAX_DEPTH": "1",
        })  # fmt: skip
        assert limited.returncode == 0, limited.log[-3000:]
        (line,) = limited.manifest
        assert line["outcome"] == "ok"
        # main.css and 12 pictures on the page: 5 taken, 8 over the count; the 6 that
        # main.css references are a level too deep
        assert (line["requisites_fetched"], line["requisites_skipped"]) == (5, 8 + 6)
        images = [p for p in site.log.paths() if p.startswith("/looks/img/")]
        assert len(images) == 4  # 5 taken: main.css and four pictures
        assert "/looks/css/base.css" not in site.log.paths()
        assert limited.run_record["requisites"]["skipped_by"] == {"count": 8, "depth": 6}


def test_html_mode_fetches_no_requisites(tmp_path: Path):
    with SiteServer() as site:
        urls = write_url_list(tmp_path / "urls.txt", [site.url("/looks/plain.html")])
        plain = run_crawl(tmp_path / "archive", args={"urls": str(urls)})
        assert plain.returncode == 0, plain.log[-3000:]
        assert [p for p in site.log.paths() if p != "/robots.txt"] == ["/looks/plain.html"]
        (line,) = plain.manifest
        assert "requisites" not in line and "rendered" not in line
        assert "requisites" not in plain.run_record


def test_an_unknown_capture_mode_stops_the_crawl_at_start(tmp_path: Path):
    urls = write_url_list(tmp_path / "u.txt", [])
    bad = run_crawl(tmp_path / "archive", args={"urls": str(urls)}, settings={"CAPTURE": "all"})
    assert bad.returncode != 0
    assert "CAPTURE" in bad.log and "'all'" in bad.log


def test_a_sites_capture_key_in_a_sources_file(tmp_path: Path):
    with SiteServer() as site:
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[site]]\nname = "The Looking Glass"\nfeeds = ["{site.url("/looks/feed.xml")}"]\n'
            'capture = "requisites"\n',
            encoding="utf-8",
        )
        crawl = run_crawl(tmp_path / "archive", spider="feeds", args={"sources": str(sources)})
        assert crawl.returncode == 0, crawl.log[-3000:]
        lines = {line["url"].rsplit("/", 1)[-1]: line for line in crawl.manifest}
        assert set(lines) == {"plain.html", "second.html"}
        assert all(line["requisites_fetched"] > 0 for line in lines.values())
        assert "/looks/css/main.css" in site.log.paths()


def test_pack_since_the_later_run_takes_the_captures_its_304s_stand_for(runs: Runs, tmp_path: Path):
    archive = Archive(runs.second.crawl.archive)
    since = archive.named_run_records()[-1][0]
    wacz = tmp_path / "second.wacz"
    packed = run_scrapy("pack", str(archive.root), "--out", str(wacz), "--since", since)
    assert packed.returncode == 0, packed.stderr
    with zipfile.ZipFile(wacz) as package:
        names = {Path(name).name for name in package.namelist()}
    # the first run's files hold the requisites the second run revalidated with a 304
    assert {p.name for p in runs.first.warcs} | {p.name for p in runs.second.warcs} <= names


def test_a_pages_line_waits_for_its_requisites_and_a_killed_crawl_resumes(tmp_path: Path):
    """slowframe.html's frame takes the site four seconds: the crawl is killed while it
    waits for it. The page has no line yet (its requisites were not done); the next run
    fetches it again and every URL ends with exactly one line."""
    with SiteServer() as site:
        urls = write_url_list(tmp_path / "urls.txt", [site.url("/looks/slowframe.html")])
        archive = tmp_path / "archive"
        settings = {**TEST_SETTINGS, "ARCHIVE_DIR": str(archive), "CAPTURE": "requisites"}
        cmd = [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"urls={urls}"]
        for key, value in settings.items():
            cmd += ["-s", f"{key}={value}"]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        crawl = subprocess.Popen(cmd, cwd=ROOT, **quiet)
        try:
            for _ in range(600):  # until the frame is being fetched
                if any(r.path.startswith("/slow/") for r in site.log.requests):
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the frame was never asked for")
            assert crawl.poll() is None
            assert list(Archive(archive).manifest_records()) == []  # the page waits
        finally:
            os.kill(crawl.pid, signal.SIGKILL)
            crawl.wait()
        again = run_crawl(archive, args={"urls": str(urls)}, settings={"CAPTURE": "requisites"})
        assert again.returncode == 0, again.log[-3000:]
        (line,) = again.manifest
        assert line["outcome"] == "ok", line
        assert line["requisites_fetched"] >= 8  # main.css and what it imports, the frame
        # (the frame, an article of the site, names a stylesheet the site does not have)
        assert again.run_record["requisites"]["failed_by"] == {"http_404": 1}
        verify = run_scrapy("verify", str(archive))
        assert verify.returncode == 0, (verify.stdout + verify.stderr)[-3000:]
