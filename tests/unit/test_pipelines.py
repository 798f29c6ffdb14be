"""The item pipelines (crawler.pipelines), built as a crawl builds them: from a crawler with
the project's settings whose ArchiveExtension opened an archive under tmp_path. Each is
fed FetchedPage and LinkRecord items by hand and judged by the files it writes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from scrapy.exceptions import NotConfigured

from crawler.archive.directory import Archive
from crawler.core.identity import url_id
from crawler.core.items import Article, FetchedPage, FoundLink, LinkRecord, PageRef, WarcPointer
from crawler.extensions.archive import archive_of
from crawler.extract.minhash import signature
from crawler.pipelines import (
    ExtractPipeline,
    GroupPipeline,
    LinksPipeline,
    ManifestPipeline,
    TextDumpPipeline,
)
from tests.support.paths import SITE
from tests.support.wire import COPY, OTHER, STORY, body

WHEN = "2026-12-01T10:00:00Z"
T = TypeVar("T")


def page(name: str, seq: str = "000", **fields) -> FetchedPage:
    """A fetched page of http://NAME.example/story (no outcome yet unless *fields* say)."""
    url = f"http://{name}.example/story"
    fields = {"final_url": url, "status": 200, "fetched_at": WHEN, **fields}
    return FetchedPage(PageRef(url, url_id(url), seq), **fields)


def article(text: str, title: str = "A headline") -> Article:
    """An article as the extraction stage makes it: words counted, text signed."""
    return Article(text=text, title=title, words=len(text.split()), minhash=signature(text))


def extracted(name: str, seq: str = "000", text: str | None = None, **fields) -> FetchedPage:
    """A page the extraction stage found an article in."""
    return page(name, seq, outcome="ok", article=article(text or body(name)), **fields)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


class RunningEngine:
    """What the pipelines see of the engine once the crawl runs: its spider, and the call
    that closes the crawl (recorded here)."""

    def __init__(self) -> None:
        self.spider = object()
        self.closed_for: list[str] = []

    async def close_spider_async(self, reason: str) -> None:
        self.closed_for.append(reason)


def while_crawling(call: Callable[[], T]) -> T:
    """*call* run as in a crawl, on the event loop, and what it scheduled (closing the
    crawl) run too."""

    async def run() -> T:
        result = call()
        await asyncio.sleep(0)
        return result

    return asyncio.run(run())


@pytest.fixture
def crawler(make_crawler):
    crawler = make_crawler()
    crawler.engine = RunningEngine()  # pipelines process items while the crawl runs
    return crawler


@pytest.fixture
def archive(crawler) -> Archive:
    return archive_of(crawler)


# -- TextDumpPipeline -------------------------------------------------------------------------
def test_a_dump_is_written_for_an_article_and_named_in_text_file(crawler, archive):
    pipeline = TextDumpPipeline.from_crawler(crawler)
    item = extracted(STORY[0], "007", warc=WarcPointer("a.warc.gz", 0, "<urn:uuid:1>"))
    out = pipeline.process_item(item)
    assert out.text_file == f"text/007_{item.id}.txt"
    meta, text = archive.read_dump(out.text_file)
    assert text.strip() == item.article.text.strip()
    assert meta["title"] == "A headline" and meta["source_url"] == item.url
    assert meta["warc_file"] == "a.warc.gz" and meta["fetched_at"] == WHEN
    assert crawler.stats.get_value("text/files") == 1


def test_pages_without_an_article_get_no_dump(crawler, archive):
    pipeline = TextDumpPipeline.from_crawler(crawler)
    items = [page("a", outcome="no_text"), page("b", outcome="error", error="HTTP 500"),
             page("c", outcome="ok"), LinkRecord("x", "y", "http://y.example/", "")]  # fmt: skip
    for item in items:
        assert pipeline.process_item(item) is item
    assert not archive.text_dir.exists() or not any(archive.text_dir.iterdir())
    assert crawler.stats.get_value("text/files") is None


def test_a_dump_that_cannot_be_written_makes_the_page_an_error(crawler, archive):
    archive.text_dir.write_text("a file where the directory should be")
    pipeline = TextDumpPipeline.from_crawler(crawler)
    out = while_crawling(lambda: pipeline.process_item(extracted(STORY[0])))
    assert out.outcome == "error" and out.text_file is None and out.error
    assert crawler.stats.get_value("archive/write_errors") == 1
    assert crawler.engine.closed_for == ["archive_write_failed"]  # rather than lose pages


def test_text_dumps_off(make_crawler):
    with pytest.raises(NotConfigured):
        TextDumpPipeline.from_crawler(make_crawler(TEXT_ENABLED=False))


# -- ManifestPipeline ---------------------------------------------------------------------------
def test_exactly_one_manifest_line_per_page_and_the_state_store_told(crawler, archive):
    pipeline = ManifestPipeline.from_crawler(crawler)
    items = [
        extracted(STORY[0], "000", text_file="text/000_x.txt"),
        page("gone", "001", status=404, outcome="error", error="HTTP 404"),
        page("undecided", "002"),  # no stage decided: an error, never lost
        LinkRecord("seed.md", url_id("http://l.example/"), "http://l.example/", "l"),
    ]
    for item in items:
        assert pipeline.process_item(item) is item
    written = lines(archive.manifest_path)
    assert [(x["seq"], x["outcome"]) for x in written] == [
        ("000", "ok"), ("001", "error"), ("002", "error")
    ]  # fmt: skip
    assert written[0]["id"] == items[0].id and written[0]["text_file"] == "text/000_x.txt"
    assert written[0]["words"] == items[0].article.words and written[0]["text_sha256"]
    assert written[2]["error"] == "no outcome decided"
    assert {archive.previous(x["id"]).outcome for x in written} == {"ok", "error"}
    stats = crawler.stats
    assert stats.get_value("manifest/lines") == 3
    assert stats.get_value("manifest/outcome/ok") == 1
    assert stats.get_value("manifest/outcome/error") == 2


def test_a_line_that_cannot_be_written_is_counted_not_raised(crawler, archive):
    archive.manifest_path.unlink(missing_ok=True)
    archive.manifest_path.mkdir()  # appending to it fails
    pipeline = ManifestPipeline.from_crawler(crawler)
    item = page("a", outcome="ok")
    assert while_crawling(lambda: pipeline.process_item(item)) is item
    assert crawler.stats.get_value("archive/write_errors") == 1
    assert crawler.stats.get_value("manifest/lines") is None
    assert crawler.engine.closed_for == ["archive_write_failed"]


# -- LinksPipeline -----------------------------------------------------------------------------
def test_links_of_seeds_and_of_articles_each_pair_once(crawler, archive):
    pipeline = LinksPipeline.from_crawler(crawler)
    seed_link = LinkRecord("seeds/a.md", url_id("http://b.example/"), "http://b.example/", "B")
    pipeline.process_item(seed_link)
    links = (FoundLink("http://c.example/1", "one"), FoundLink("http://c.example/2", "two"),
             FoundLink("http://c.example/1#again", "one again"))  # fmt: skip
    item = extracted(STORY[0], links=links)
    assert pipeline.process_item(item) is item
    pipeline.process_item(page("nothing", outcome="no_text"))  # no links: nothing written
    archive.sync()
    assert lines(archive.links_path) == [
        {"from": "seeds/a.md", "to": url_id("http://b.example/"), "url": "http://b.example/",
         "anchor": "B"},
        {"from": item.id, "to": url_id("http://c.example/1"), "url": "http://c.example/1",
         "anchor": "one"},
        {"from": item.id, "to": url_id("http://c.example/2"), "url": "http://c.example/2",
         "anchor": "two"},
    ]  # fmt: skip
    assert crawler.stats.get_value("links/written") == 3


# -- GroupPipeline -----------------------------------------------------------------------------
def test_two_copies_of_a_story_are_one_group_another_story_its_own(crawler):
    pipeline = GroupPipeline.from_crawler(crawler)
    first = pipeline.process_item(extracted(STORY[0], "000"))
    copy = pipeline.process_item(extracted(COPY, "001"))
    other = pipeline.process_item(extracted(OTHER, "002"))
    assert (first.group.group, first.group.kind) == (first.id, None)
    assert (copy.group.group, copy.group.kind) == (first.id, "exact")
    assert copy.group.similarity == 1.0
    assert other.group.group == other.id and other.group.kind is None
    assert crawler.stats.get_value("groups/exact") == 1
    unsigned = page("plain", outcome="no_text")
    assert pipeline.process_item(unsigned) is unsigned


def test_grouping_off(make_crawler):
    with pytest.raises(NotConfigured):
        GroupPipeline.from_crawler(make_crawler(GROUPS_ENABLED=False))


# -- the chain, as ITEM_PIPELINES orders it ----------------------------------------------------
def test_a_page_through_every_stage(crawler, archive):
    """Extraction (inline) -> links -> dump -> group -> manifest, on a page of the site."""
    crawler.settings.frozen = False
    crawler.settings.set("EXTRACT_WORKERS", 0)
    extract = ExtractPipeline.from_crawler(crawler)
    stages = [LinksPipeline, TextDumpPipeline, GroupPipeline, ManifestPipeline]
    pipelines = [cls.from_crawler(crawler) for cls in stages]
    html = (SITE / "news/2024/03/harbor-bridge-reopens.html").read_bytes()
    item = page("harbor", content_type="text/html; charset=utf-8", body=html)
    item = asyncio.run(extract.process_item(item))
    assert item.outcome == "ok" and item.article is not None
    for pipeline in pipelines:
        item = pipeline.process_item(item)
    extract.close_spider()
    [line] = lines(archive.manifest_path)
    assert line["outcome"] == "ok" and line["text_file"] == item.text_file
    assert line["title"] == "Harbor Bridge Reopens After Two-Year Repair"
    assert line["group"] == item.id and "group_kind" not in line
    _, text = archive.read_dump(line["text_file"])
    assert "Harbor Bridge" in text
    assert crawler.stats.get_value("extract/articles") == 1
