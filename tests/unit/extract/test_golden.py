"""Extraction of the bundled site against golden text dumps checked in under tests/golden/.

Each page of tests/site/ goes through the crawl's extraction path (decode with the
HTTP charset, trafilatura, then ``page_dump``: front matter with the crawl's provenance
fields, fixed here, and the body) and must give exactly the dump in
tests/golden/, and exactly the main-content links in tests/golden/links.json. A
trafilatura upgrade (or a change of ours) that changes a dump fails here; when the
change is wanted, regenerate the files and review the diff before committing:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/extract/test_golden.py
"""

from __future__ import annotations

import json
import os

import pytest

from crawler.archive.dumps import page_dump
from crawler.core.identity import url_id
from crawler.core.items import ExtractOptions, FetchedPage, Memento, PageRef, WarcPointer
from crawler.extract.article import extract_page
from tests.support.paths import GOLDEN, SITE

BASE = "http://news.example"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
OPTIONS = ExtractOptions(min_paragraph_words=10)  # the settings' defaults

UTF8 = "text/html; charset=utf-8"
# site file -> (URL path, Content-Type it is served with, charset of the bytes served)
PAGES = {
    "news/2024/03/harbor-bridge-reopens.html": (None, UTF8, "utf-8"),
    "news/2024/03/city-council-budget.html": (None, UTF8, "utf-8"),
    "news/2024/03/ferry-strike-ends.html": (None, UTF8, "utf-8"),
    "world/elections.html": ("/world/elections.html?id=42&lang=en", UTF8, "utf-8"),
    "science/mars-rover.html": (None, UTF8, "utf-8"),
    "sports/marathon.html": (None, UTF8, "utf-8"),
    "reports/harbor-bridge-2024.html": (None, UTF8, "utf-8"),
    "private/secret-report.html": (None, UTF8, "utf-8"),
    # the charset declared only in the HTTP header
    "europe/latin1-news.html.src": (
        "/europe/latin1-news.html",
        "text/html; charset=iso-8859-1",
        "iso-8859-1",
    ),
    # cp1252 bytes under a UTF-8 label: read as cp1252, not with U+FFFD
    "europe/mairie-pont.html.src": ("/europe/mairie-pont.html", UTF8, "cp1252"),
    # languages written without spaces, and Korean
    "asia/tokyo-bridge.html": (None, UTF8, "utf-8"),
    "asia/shanghai-metro.html": (None, UTF8, "utf-8"),
    "asia/busan-port.html": (None, UTF8, "utf-8"),
    "asia/bangkok-canal.html": (None, UTF8, "utf-8"),
    # right-to-left scripts (a byline in Arabic, authors in a meta tag in Hebrew)
    "mideast/beirut-port.html": (None, UTF8, "utf-8"),
    "mideast/haifa-rail.html": (None, UTF8, "utf-8"),
    # headlines that sound like error pages
    "news/2024/03/flight-404-lands.html": (None, UTF8, "utf-8"),
    "news/2024/03/missing-climbers.html": (None, UTF8, "utf-8"),
    "science/vaccine-does-not-exist.html": (None, UTF8, "utf-8"),
    # reader comments, left out by default
    "news/2024/03/library-hours.html": (None, UTF8, "utf-8"),
}
NOT_ARTICLES = ["nav.html", "index.html", "asia/index.html"]


def served(name: str, charset: str) -> bytes:
    return (SITE / name).read_text(encoding="utf-8").encode(charset)


# Provenance as a crawl writes it, fixed; one page as recovered from the Internet Archive.
WARC = WarcPointer("crawl-20260101000000-00000-host-1.warc.gz", 0, "<urn:uuid:0000-golden>")
RECOVERED = "reports/harbor-bridge-2024.html"


def dump_of(name: str) -> tuple[str, list[list[str]]]:
    path, content_type, charset = PAGES[name]
    url = BASE + (path or "/" + name)
    extraction = extract_page(served(name, charset), content_type, url, OPTIONS)
    article, links = extraction.article, extraction.links
    assert article is not None, name
    memento = None
    if name == RECOVERED:
        memento = Memento(f"{BASE}/web/20240101000000id_/{url}", "2024-01-01T00:00:00Z", "HTTP 404")
    page = FetchedPage(
        PageRef(url, url_id(url), "000"), final_url=url, fetched_at="2026-01-01T00:00:00Z",
        warc=WARC, outcome="ok", article=article, memento=memento, encoding=extraction.encoding,
        source="wayback" if memento else "live", access=extraction.access,
    )  # fmt: skip
    return page_dump(page), [[link.url, link.anchor] for link in links]


def golden_name(name: str) -> str:
    return name.removesuffix(".src").replace("/", "__").removesuffix(".html") + ".txt"


@pytest.fixture(scope="module")
def golden_links() -> dict:
    path = GOLDEN / "links.json"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        found = {golden_name(name): dump_of(name)[1] for name in PAGES}
        path.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(PAGES))
def test_dump_matches_golden(name: str, golden_links: dict):
    text, links = dump_of(name)
    golden = GOLDEN / golden_name(name)
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), f"{name}: see {golden}"
    assert links == golden_links[golden.name]


@pytest.mark.parametrize("name", NOT_ARTICLES)
def test_navigation_pages_are_no_article(name: str):
    data = (SITE / name).read_bytes()
    extraction = extract_page(data, "text/html", f"{BASE}/{name}", OPTIONS)
    assert extraction.article is None and extraction.links == ()


def test_every_golden_file_has_its_page():
    names = {golden_name(name) for name in PAGES} | {"links.json"}
    assert {p.name for p in GOLDEN.iterdir()} == names
