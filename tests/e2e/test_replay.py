"""End to end: what was archived, looked at. The CDXJ index, ``scrapy replay`` (pywb) and
``scrapy pack`` (WACZ) checked in headless Chromium, and the crawl reports.

Two runs of the bundled site into one archive: the first with a dead link recovered
from a (fake, loopback) Internet Archive, the second with ``refresh=1``, so unchanged
pages are archived again as revisit records. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import lxml.html
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive.directory import Archive
from crawler.core.outcomes import OUTCOMES
from crawler.warc.cdxj import parse_line, record_type
from tests.support.browser import (
    ARTIFACTS,
    console_messages,
    free_port,
    render,
    replay_tool,
    serving,
)
from tests.support.crawl import ROOT, run_crawl, write_url_list
from tests.support.siteserver import EXPECTED, SiteServer
from tests.support.waybackserver import FakeWayback, article

pytestmark = pytest.mark.browser

MEMENTO_STAMP = "20230301120000"
MEMENTO_TITLE = "Harbor Photo Archive Moves"
MEMENTO_PARAGRAPH = (
    "The council's archive of harbor photographs moved to the city library, where "
    "researchers can again consult the prints."
)


@dataclass
class Runs:
    archive: Path
    names: list[str]  # the run records' names, oldest first
    lines: list[list[dict]]  # each run's manifest lines

    def line(self, run: int, path: str) -> dict:
        return next(line for line in self.lines[run] if line["url"].endswith(path))


@pytest.fixture(scope="module")
def runs(site: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("replay")
    urls = write_url_list(root / "urls.txt", [site.url(path) for path, _ in EXPECTED])
    with FakeWayback() as wayback:
        wayback.add(site.url("/missing.html"), MEMENTO_STAMP,
                    article(MEMENTO_TITLE, MEMENTO_PARAGRAPH))  # fmt: skip
        settings = {"WAYBACK_ENABLED": "1", "WAYBACK_ENDPOINT": wayback.endpoint,
                    "WAYBACK_DELAY": "0.05"}  # fmt: skip
        archive = root / "archive"
        first = run_crawl(archive, args={"urls": str(urls)}, settings=settings)
        assert first.returncode == 0, first.log[-5000:]
        time.sleep(1.1)  # the second run's captures are a second apart at least
        second = run_crawl(archive, args={"urls": str(urls), "refresh": "1"}, settings=settings)
        assert second.returncode == 0, second.log[-5000:]
    store = Archive(archive)
    named = store.named_run_records()
    lines = [list(store.manifest_records(*record["manifest_range"])) for _, record in named]
    yield Runs(archive, [name for name, _ in named], lines)


def scrapy(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip


def index_lines(archive: Path) -> list[str]:
    return (archive / "indexes" / "index.cdxj").read_text(encoding="utf-8").splitlines()


def stamp(iso: str) -> str:
    return re.sub(r"\D", "", iso)[:14]


# -- the index ----------------------------------------------------------------------------
def test_the_index_lists_every_record_once_sorted(runs: Runs):
    records = {}
    for path in sorted((runs.archive / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            iterator = ArchiveIterator(fh)
            for record in iterator:
                if record.rec_type in ("request", "response", "revisit"):
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    records[(path.name, iterator.get_record_offset())] = (record.rec_type, uri)
    lines = index_lines(runs.archive)
    assert lines == sorted(lines)
    listed, aliases = [], []
    for line in lines:
        key, when, fields = parse_line(line)
        place = (fields["filename"], int(fields["offset"]))
        if "via" in fields:
            aliases.append((when, fields))
            continue
        listed.append(place)
        assert records[place] == (record_type(fields), fields["url"]), line
    assert sorted(listed) == sorted(records)  # every record, once
    kinds = {kind for kind, _ in records.values()}
    assert kinds == {"request", "response", "revisit"}
    # a request sorts after the response of its URL and second: pywb replays the first
    # line that matches
    seen_request: set[tuple[str, str]] = set()
    for line in lines:
        key, when, fields = parse_line(line)
        if fields.get("type") == "request":
            seen_request.add((key, when))
        else:
            assert (key, when) not in seen_request, line
    # the memento, under its own page at the Internet Archive's date, in both runs
    mementos = [runs.line(run, "/missing.html") for run in (0, 1)]
    assert {(when, f["url"], f["via"]) for when, f in aliases} == {
        (MEMENTO_STAMP, m["url"], m["memento_url"]) for m in mementos
    }
    result = scrapy("verify", str(runs.archive))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"index lines: {len(lines)} checked, {len(lines)} fine, 0 not" in result.stdout


def test_scrapy_index_rebuilds_it_and_verify_finds_a_stale_one(runs: Runs, tmp_path: Path):
    copy = tmp_path / "archive"
    shutil.copytree(runs.archive, copy)
    index = copy / "indexes" / "index.cdxj"
    original = index.read_text(encoding="utf-8")
    index.unlink()
    result = scrapy("verify", str(copy))
    assert result.returncode == 1 and "no CDXJ index (scrapy index writes it)" in result.stdout

    result = scrapy("index", str(copy))
    assert result.returncode == 0, result.stderr
    assert index.read_text(encoding="utf-8") == original
    assert f"{len(original.splitlines())} index lines" in result.stdout

    lines = original.splitlines(keepends=True)
    dropped = next(i for i, line in enumerate(lines) if '"mime": "text/html"' in line)
    _, _, fields = parse_line(lines[dropped])
    stray = lines[dropped].replace(f'"offset": "{fields["offset"]}"', '"offset": "3"')
    index.write_text("".join(lines[:dropped] + lines[dropped + 1 :]) + stray, encoding="utf-8")
    result = scrapy("verify", str(copy))
    assert result.returncode == 1
    assert (
        f"warc/{fields['filename']}@{fields['offset']}: index: response {fields['url']} is "
        "not in the index" in result.stdout
    )
    assert f"no response record starts at byte 3 of {fields['filename']}" in result.stdout
    assert "out of order" in result.stdout


# -- replay in a browser ------------------------------------------------------------------
def plain_paragraph(archive: Path, line: dict) -> str:
    """A paragraph of the article's text dump with no markdown in it."""
    body = Archive(archive).read_dump(line["text_file"])[1]
    paragraphs = [p for p in body.split("\n\n") if len(p) > 60 and not re.search(r"[\[\]*_#`]", p)]
    assert paragraphs, body
    return " ".join(paragraphs[0].split())


def shown_text(dom: str) -> tuple[str, str]:
    """The headline and the whole text of a page as the browser has it."""
    tree = lxml.html.fromstring(dom)
    for hidden in tree.xpath("//script|//style"):
        hidden.drop_tree()
    headline = " ".join(tree.xpath("string(//h1)").split())
    return headline, " ".join(tree.text_content().split())


def test_scrapy_replay_shows_every_kind_of_capture_in_a_browser(runs: Runs):
    first, second = 0, 1
    port = free_port()
    cmd = [sys.executable, "-m", "scrapy", "replay", str(runs.archive), "--port", str(port),
           "--show", "100"]  # fmt: skip
    with serving(cmd, port, cwd=ROOT) as server:
        printed = server.output()
        base = f"http://127.0.0.1:{port}/archive/"
        cases = {
            "gzip": (runs.line(first, "/gzip/mars-rover.html"), first),
            "chunked": (runs.line(first, "/chunked/marathon.html"), first),
            "redirect": (runs.line(first, "/old/ferry-strike"), first),
            "wayback": (runs.line(first, "/missing.html"), first),
            "revisit": (runs.line(second, "/harbor-bridge-reopens.html"), second),
        }
        assert cases["redirect"][0]["final_url"] != cases["redirect"][0]["url"]
        assert cases["wayback"][0]["source"] == "wayback"
        assert cases["revisit"][0]["outcome"] == "unchanged"
        # what it prints: an address per article, at its latest capture (the second run's,
        # a revisit), with the title of its full capture; the memento at its own page
        assert f"{base}{MEMENTO_STAMP}/{cases['wayback'][0]['url']}  {MEMENTO_TITLE}" in printed
        for path in ("/gzip/mars-rover.html", "/chunked/marathon.html"):
            line, title = runs.line(second, path), runs.line(first, path)["title"]
            shown = f"{base}{stamp(line['fetched_at'])}/{line['final_url']}  {title}"
            assert shown in printed, printed
        assert "/nav.html" not in printed  # archived, unchanged, but not an article
        for name, (line, _) in cases.items():
            when = MEMENTO_STAMP if name == "wayback" else stamp(line["fetched_at"])
            # the URL as a reader has it (the redirect's first URL, the dead link's)
            url = f"{base}{when}/{line['url']}"
            page = render(url, screenshot=ARTIFACTS / f"replay-{name}.png")
            headline, text = shown_text(page.dom)
            full = runs.line(first, line["url"].split("/", 3)[3])
            assert headline == full["title"], (name, page.dom[:2000])
            assert plain_paragraph(runs.archive, full) in text, name
        # the revisit, not the first capture, is what was replayed at the second run's time
        line = cases["revisit"][0]
        with urllib.request.urlopen(f"{base}{stamp(line['fetched_at'])}/{line['url']}") as resp:
            dates = {parsedate_to_datetime(d) for d in resp.headers.get_all("Memento-Datetime")}
        assert {d.strftime("%Y%m%d%H%M%S") for d in dates} == {stamp(line["fetched_at"])}
        # the memento at the Internet Archive's date, not the live 404 of the same URL
        line = cases["wayback"][0]
        with urllib.request.urlopen(f"{base}{MEMENTO_STAMP}/{line['url']}") as resp:
            assert resp.status == 200
            assert MEMENTO_TITLE in resp.read().decode()
    # stopping scrapy replay stopped pywb: nothing is left serving the archive
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# -- WACZ ---------------------------------------------------------------------------------
def test_scrapy_pack_writes_a_valid_wacz_that_replays(runs: Runs, tmp_path: Path):
    wacz = tmp_path / "crawl.wacz"
    result = scrapy("pack", str(runs.archive), "--out", str(wacz), "--with-text")
    assert result.returncode == 0, result.stderr
    validated = subprocess.run(
        [str(replay_tool("wacz")), "validate", "-f", str(wacz)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert validated.returncode == 0, validated.stdout + validated.stderr

    warcs = sorted(p.name for p in (runs.archive / "warc").glob("*.warc.gz"))
    with zipfile.ZipFile(wacz) as package:
        names = set(package.namelist())
        assert names == {
            *(f"archive/{name}" for name in warcs),
            "indexes/index.cdx", "pages/pages.jsonl", "datapackage.json",
            "datapackage-digest.json",
        }  # fmt: skip
        assert all(package.getinfo(f"archive/{n}").compress_type == zipfile.ZIP_STORED
                   for n in warcs)  # fmt: skip
        datapackage = package.read("datapackage.json")
        meta = json.loads(datapackage)
        assert meta["wacz_version"] == "1.1.1"
        for resource in meta["resources"]:
            data = package.read(resource["path"])
            assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert resource["bytes"] == len(data)
        assert {r["path"] for r in meta["resources"]} == names - {
            "datapackage.json", "datapackage-digest.json"
        }  # fmt: skip
        digest = json.loads(package.read("datapackage-digest.json"))
        assert digest["hash"] == "sha256:" + hashlib.sha256(datapackage).hexdigest()
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()]
    assert pages[0]["format"] == "json-pages-1.0"
    # one page per article (an id with an ok line), at its latest capture
    articles = {line["id"]: line for run in runs.lines for line in run if line["outcome"] == "ok"}
    assert {page["id"] for page in pages[1:]} == set(articles)
    latest = {line["id"]: line for line in runs.lines[1]}
    for page in pages[1:]:
        line = articles[page["id"]]
        if page["id"] != runs.line(0, "/missing.html")["id"]:
            assert page["ts"] == latest[page["id"]]["fetched_at"]
        assert page["title"] == line["title"]
        assert page["text"] == Archive(runs.archive).read_dump(line["text_file"])[1]

    # pywb's own way in: a collection made from the package
    pywb_dir = tmp_path / "pywb"
    pywb_dir.mkdir()
    manager = replay_tool("wb-manager")
    for args in (["init", "shared"], ["add", "shared", "--unpack-wacz", str(wacz)]):
        done = subprocess.run([str(manager), *args], cwd=pywb_dir, capture_output=True,
                              text=True, timeout=300, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    # the page itself at the top, not in pywb's default frame (which a browser would fill
    # by script, after the DOM is dumped)
    (pywb_dir / "config.yaml").write_text("framed_replay: false\n")
    port = free_port()
    with serving([str(replay_tool("wayback")), "-p", str(port), "-b", "127.0.0.1"], port,
                 cwd=pywb_dir):  # fmt: skip
        line = runs.line(0, "/chunked/marathon.html")
        url = f"http://127.0.0.1:{port}/shared/{stamp(line['fetched_at'])}/{line['url']}"
        page = render(url, screenshot=ARTIFACTS / "wacz-chunked.png")
        headline, text = shown_text(page.dom)
        assert headline == line["title"], page.dom[:3000]
        assert plain_paragraph(runs.archive, line) in text


def test_pack_since_a_run_takes_its_warc_files_and_the_originals_they_revisit(
    runs: Runs, tmp_path: Path
):
    wacz = tmp_path / "second.wacz"
    result = scrapy("pack", str(runs.archive), "--out", str(wacz), "--since", runs.names[1])
    assert result.returncode == 0, result.stderr
    first, second = (set(r["warc_files"]) for r in Archive(runs.archive).run_records())
    with zipfile.ZipFile(wacz) as package:
        packed = {n.split("/", 1)[1] for n in package.namelist() if n.startswith("archive/")}
        index = [
            parse_line(line)[2] for line in package.read("indexes/index.cdx").decode().splitlines()
        ]
        pages = [json.loads(line) for line in package.read("pages/pages.jsonl").splitlines()]
    # the second run's files, and the first run's, whose records its revisits refer to
    assert packed == second | first
    assert f"({len(first)} for the originals of revisits)" in result.stdout
    responses = {f["digest"] for f in index if record_type(f) == "response"}
    revisits = [f for f in index if record_type(f) == "revisit"]
    assert revisits and all(f["digest"] in responses for f in revisits)
    # its pages are the articles the second run captured, archived again unchanged or not
    articles = {line["id"] for run in runs.lines for line in run if line["outcome"] == "ok"}
    captured = {line["id"] for line in runs.lines[1] if line["outcome"] in ("ok", "unchanged")}
    assert {page["id"] for page in pages[1:]} == captured & articles
    result = scrapy("pack", str(runs.archive), "--out", str(wacz), "--since", "19990101T000000Z")
    assert result.returncode == 2 and "no run named '19990101T000000Z'" in result.stderr


# -- crawl reports ------------------------------------------------------------------------
def test_the_console_check_sees_a_console_error(tmp_path: Path):
    """The check the report test relies on is not vacuous."""
    page = tmp_path / "noisy.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>console.error('boom')</script>")
    assert any("boom" in message for message in console_messages(render(page.as_uri()).log))


def test_each_run_writes_a_self_contained_report_that_renders(runs: Runs):
    for run, name in enumerate(runs.names):
        path = runs.archive / "reports" / f"{name}.html"
        html = path.read_text(encoding="utf-8")
        tree = lxml.html.fromstring(html)
        assert not tree.xpath("//script|//link|//img|//iframe|//*[@src]")  # all inline
        # every outcome of the run, with its count (the bars' tooltips)
        outcomes = Counter(line["outcome"] for line in runs.lines[run])
        assert set(outcomes) <= set(OUTCOMES)
        tooltips = set(tree.xpath("//svg//title/text()"))
        for outcome, count in outcomes.items():
            assert f"{outcome}: {count}" in tooltips, (name, outcome, tooltips)
        figures = {row.xpath("string(td[1])"): row.xpath("string(td[2])")
                   for row in tree.xpath("//table//tr[td]")}  # fmt: skip
        assert figures["manifest lines"] == str(len(runs.lines[run]))
        assert figures["WARC records"] == str(
            Archive(runs.archive).run_records()[run]["warc_records"]
        )
        headings = [" ".join(h.text_content().split()) for h in tree.xpath("//h2")]
        assert "From the Internet Archive (1)" in headings
        assert {"Slowest hosts", "Errors by kind", "HTTP status codes"} <= set(headings)
        page = render(path.as_uri(), screenshot=ARTIFACTS / f"report-{run}.png")
        assert console_messages(page.log) == []
        assert f"Crawl {name}" in shown_text(page.dom)[0]


def test_scrapy_report_rewrites_every_report_and_the_trend(runs: Runs, tmp_path: Path):
    copy = tmp_path / "archive"
    shutil.copytree(runs.archive, copy)
    shutil.rmtree(copy / "reports")
    result = scrapy("report", str(copy))
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (copy / "reports").iterdir())
    assert written == sorted([*(f"{name}.html" for name in runs.names), "index.html"])
    for name in runs.names:  # the same report as the crawl wrote
        assert (copy / "reports" / f"{name}.html").read_text() == (
            runs.archive / "reports" / f"{name}.html"
        ).read_text()
    index = lxml.html.fromstring((copy / "reports" / "index.html").read_text())
    assert [a.get("href") for a in index.xpath("//a")] == [f"{n}.html" for n in runs.names]
    unchanged = sum(line["outcome"] == "unchanged" for line in runs.lines[1])
    assert unchanged > 0
    rows = {row.xpath("string(td[1])"): [td.text_content() for td in row.xpath("td")]
            for row in index.xpath("//table//tr[td]")}  # fmt: skip
    column = ["run", "spider", "status", "lines", *OUTCOMES].index("unchanged")
    assert rows[runs.names[1]][column] == str(unchanged)
    assert index.xpath("//svg//polyline")
    page = render((copy / "reports" / "index.html").as_uri(), ARTIFACTS / "report-runs.png")
    assert console_messages(page.log) == []
