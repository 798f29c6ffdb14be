"""End to end: ``CAPTURE=browser`` on The Looking Glass (tests/site/looks/): pages loaded
in headless Chromium whose every request the crawler answers.

An app shell whose article a script fetches as JSON (two stories), the script-free
magazine page and one with a third-party script; a page referencing addresses the
address guard refuses; a Chromium that crashes or hangs (tests/support/failing_chromium.sh);
a crawl killed with SIGKILL while its browser loads a page.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.support.browser import chromium
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

pytestmark = pytest.mark.browser

APP = "/looks/app.html?story="
PAGES = [APP + "lighthouse", APP + "tides", "/looks/plain.html", "/looks/second.html"]
FAILING = str(ROOT / "tests" / "support" / "failing_chromium.sh")


def browser_processes() -> dict[int, str]:
    """Chromium processes with a profile of the crawler's (pid -> command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if "newsarchiver-chromium-" in cmdline and state != "Z":
            found[int(entry.name)] = cmdline
    return found


@dataclass
class Crawl:
    site: SiteServer
    result: CrawlResult
    paths: Counter[str]
    left_running: dict[int, str]

    def line(self, path: str) -> dict:
        return next(line for line in self.result.manifest if line["url"].endswith(path))


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    chromium()  # fails with how to install it
    root = tmp_path_factory.mktemp("browser")
    with SiteServer() as site:
        urls = write_url_list(root / "urls.txt", [site.url(p) for p in PAGES])
        before = set(browser_processes())
        result = run_crawl(root / "archive", args={"urls": str(urls)},
                           settings={"CAPTURE": "browser"})  # fmt: skip
        assert result.returncode == 0, result.log[-5000:]
        left = {pid: cmd for pid, cmd in browser_processes().items() if pid not in before}
        yield Crawl(site, result, Counter(site.log.paths()), left)


def test_articles_written_by_scripts_are_extracted_from_the_rendered_page(crawl: Crawl):
    for story, phrase in (("lighthouse", "one hundred and twelve steps"),
                          ("tides", "forty centimetres above")):  # fmt: skip
        line = crawl.line(APP + story)
        assert line["outcome"] == "ok" and line["rendered"] is True, line
        assert line["title"].startswith(("Old Lighthouse", "Spring Tides"))
        assert phrase in (crawl.result.archive / line["text_file"]).read_text()
    # what the scripts asked for came through the crawler: the story, the related box
    for path in ("/looks/api/lighthouse.json", "/looks/api/tides.json", "/looks/api/related.json"):
        assert crawl.paths[path] == 1


def test_every_request_goes_through_the_crawler_once_and_into_the_warc(crawl: Crawl):
    asked = {p for p in crawl.paths if p.startswith("/looks/")}
    assert {"/looks/css/main.css", "/looks/cdn/js/widget.js", "/looks/frames/map.html",
            "/looks/fonts/serif.woff2", "/looks/img/chart.webp"} <= asked  # fmt: skip
    # shared assets (main.css, app.js, related.json, the CDN's) fetched once for all pages
    # (Chromium asks for each page's /favicon.ico itself; the site has none, and only 200
    # answers are reused, so a 404 may be asked once per page, as a browser would)
    again = {path: n for path, n in crawl.paths.items() if n > 1 and path != "/favicon.ico"}
    assert again == {"/robots.txt": 2}
    assert "/looks/tracking/pixel.png" not in asked  # robots.txt, for the browser's too
    archived = Counter()
    for warc in crawl.result.warc_files():
        with warc.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response":
                    archived[record.rec_headers.get_header("WARC-Target-URI")] += 1
    port = crawl.site.httpd.server_address[1]
    for path in asked:
        host = "localhost" if "/cdn/" in path else "127.0.0.1"
        assert archived[f"http://{host}:{port}{path}"] == 1, path
    plain = crawl.line("/looks/plain.html")
    assert plain["requisites_fetched"] >= 20 and plain["requisites_skipped"] == 1  # the pixel
    assert crawl.result.run_record["counters"]["browser/pages"] == len(PAGES)


def test_screenshots_and_doms_are_resource_records_beside_their_pages(crawl: Crawl):
    responses, resources = {}, {}
    for warc in crawl.result.warc_files():
        with warc.open("rb") as fh:
            for record in ArchiveIterator(fh):
                headers = record.rec_headers
                if record.rec_type == "response":
                    responses[headers.get_header("WARC-Record-ID")] = headers.get_header(
                        "WARC-Target-URI"
                    )
                elif record.rec_type == "resource":
                    resources[headers.get_header("WARC-Target-URI")] = (
                        headers.get_header("Content-Type"),
                        headers.get_header("WARC-Concurrent-To"),
                        record.content_stream().read(),
                    )
    for path in PAGES:
        url = crawl.line(path)["final_url"]
        content_type, page_record, png = resources[f"urn:view:{url}"]
        assert content_type == "image/png" and png.startswith(b"\x89PNG\r\n\x1a\n")
        assert responses[page_record] == url  # linked to the page's response record
        dom_type, _, dom = resources[f"urn:dom:{url}"]
        assert dom_type.startswith("text/html") and b"<html" in dom
    _, _, lighthouse_dom = resources[f"urn:dom:{crawl.line(APP + 'lighthouse')['final_url']}"]
    assert b"one hundred and twelve steps" in lighthouse_dom


def test_reextract_reads_the_rendered_dom_to_the_same_dumps(crawl: Crawl, tmp_path: Path):
    done = run_scrapy("reextract", str(crawl.result.archive), "--out", str(tmp_path / "out"),
                      "--json")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    crawled = sorted((crawl.result.archive / "text").iterdir())
    assert len(crawled) == len(PAGES)
    for path in crawled:  # the script-written articles too
        assert (tmp_path / "out" / "text" / path.name).read_bytes() == path.read_bytes(), path
    assert "rendered_dom_missing" not in done.stdout


def test_the_archive_checks_out_and_no_browser_is_left(crawl: Crawl):
    for path in crawl.result.warc_files():
        check = subprocess.run([BIN / "warcio", "check", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    verify = run_scrapy("verify", str(crawl.result.archive))
    assert verify.returncode == 0, (verify.stdout + verify.stderr)[-3000:]
    assert crawl.left_running == {}


def test_the_browser_cannot_make_the_crawler_reach_a_refused_address(tmp_path: Path):
    """guarded.html references loopback addresses other than the page's own host (a
    "CDN" on localhost, [::1], 0.0.0.0), in its HTML and from a script: the address guard
    refuses every one before any connection (the site never hears of them)."""
    with SiteServer() as site:
        urls = write_url_list(tmp_path / "urls.txt", [site.url("/looks/guarded.html")])
        result = run_crawl(tmp_path / "archive", args={"urls": str(urls)}, settings={
            "CAPTURE": "browser", "ALLOW_PRIVATE_ADDRESSES": "0",
            "ALLOW_PRIVATE_HOSTS": "127.0.0.1",  # the page's own host only
        })  # fmt: skip
        assert result.returncode == 0, result.log[-5000:]
        (line,) = result.manifest
        assert line["outcome"] == "ok" and line["rendered"] is True
        hosts = {request.host for request in site.log.requests}
        assert hosts == {"127.0.0.1"}, hosts  # 0.0.0.0 would have reached this server
        counters = result.run_record["counters"]
        # localhost's stylesheet and image, the script's fetch, [::1], 0.0.0.0
        assert counters["netguard/blocked"] >= 5
        assert counters["browser/requests/refused"] == counters["netguard/blocked"]
        assert line["requisites_skipped"] == counters["netguard/blocked"]
        assert "Blocked http://localhost:" in result.log and "Blocked http://[::1]:" in result.log


def test_a_browser_that_crashes_once_is_restarted_and_the_page_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CHROMIUM_FAIL_ONCE", str(tmp_path / "failed-once"))
    monkeypatch.setenv("CHROMIUM_FAILS_AFTER", "1.5")
    with SiteServer() as site:
        urls = write_url_list(tmp_path / "urls.txt", [site.url("/looks/slowframe.html")])
        result = run_crawl(tmp_path / "archive", args={"urls": str(urls)},
                           settings={"CAPTURE": "browser", "CAPTURE_BROWSER": FAILING})  # fmt: skip
    assert result.returncode == 0, result.log[-5000:]
    (line,) = result.manifest
    assert line["outcome"] == "ok" and line["rendered"] is True, line
    assert result.run_record["counters"]["browser/restarts"] == 1
    assert "Traceback" not in result.log


@pytest.mark.parametrize(("signal_name", "problem"), [("KILL", "closed its pipe"),
                                                       ("STOP", "no answer")])  # fmt: skip
def test_a_browser_that_crashes_or_hangs_twice_costs_the_page_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signal_name: str, problem: str
):
    monkeypatch.setenv("CHROMIUM_SIGNAL", signal_name)
    monkeypatch.setenv("CHROMIUM_FAILS_AFTER", "1.5")
    before = set(browser_processes())
    with SiteServer() as site:
        urls = write_url_list(tmp_path / "urls.txt", [site.url("/looks/slowframe.html"),
                                                      site.url("/looks/second.html")])  # fmt: skip
        result = run_crawl(tmp_path / "archive", args={"urls": str(urls)}, settings={
            "CAPTURE": "browser", "CAPTURE_BROWSER": FAILING, "CAPTURE_BROWSER_TIMEOUT": "5",
            "CAPTURE_BROWSER_PAGES": "1",
        })  # fmt: skip
    lines = {line["url"].rsplit("/", 1)[-1]: line for line in result.manifest}
    assert len(lines) == 2  # every input URL has its line
    failed = lines["slowframe.html"]
    assert failed["outcome"] == "error" and failed["error"].startswith("browser: "), failed
    assert problem in failed["error"]
    assert result.run_record["counters"]["browser/errors"] >= 1
    assert "Traceback" not in result.log
    assert set(browser_processes()) - before == set()  # the stopped one too


def test_no_browser_outlives_a_crawl_killed_with_sigkill(tmp_path: Path):
    with SiteServer() as site:
        urls = write_url_list(tmp_path / "urls.txt", [site.url("/looks/slowframe.html")])
        settings = {**TEST_SETTINGS, "ARCHIVE_DIR": str(tmp_path / "archive"), "CAPTURE": "browser"}
        cmd = [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", f"urls={urls}"]
        for key, value in settings.items():
            cmd += ["-s", f"{key}={value}"]
        before = set(browser_processes())
        crawl = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            started: dict[int, str] = {}
            for _ in range(600):  # until the browser is loading the page (the slow frame)
                started = {p: c for p, c in browser_processes().items() if p not in before}
                if len(started) >= 2 and any("/slow/" in r.path for r in site.log.requests):
                    break
                time.sleep(0.1)
            assert started, "the browser never started"
        finally:
            os.kill(crawl.pid, signal.SIGKILL)
            crawl.wait()
        for _ in range(100):
            if not set(browser_processes()) & set(started):
                break
            time.sleep(0.1)
        assert set(browser_processes()) & set(started) == set()


def test_a_sites_capture_key_starts_the_browser_for_its_pages(tmp_path: Path):
    with SiteServer() as site:
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[site]]\nname = "The Looking Glass"\nfeeds = ["{site.url("/looks/feed.xml")}"]\n'
            'capture = "browser"\n',
            encoding="utf-8",
        )
        crawl = run_crawl(tmp_path / "archive", spider="feeds", args={"sources": str(sources)})
        assert crawl.returncode == 0, crawl.log[-3000:]
        lines = crawl.manifest
        assert len(lines) == 2 and all(line["rendered"] is True for line in lines)
        assert crawl.run_record["settings"]["CAPTURE"] == "html"  # the site's own, not the crawl's
