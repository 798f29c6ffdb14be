"""End to end: ``scrapy crawl feeds`` with RSS, Atom, RSS 1.0, sitemaps and conditional GETs."""

from __future__ import annotations

import json
from pathlib import Path

from crawler.core.identity import url_id
from crawler.warc.reader import iter_records
from tests.support.crawl import CrawlResult, run_crawl
from tests.support.siteserver import SiteServer


def archived_statuses(result: CrawlResult) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in result.warc_files():
        for record in iter_records(path):
            if record.rec_type == "response":
                uri = record.rec_headers.get_header("WARC-Target-URI")
                found.setdefault(uri, []).append(record.http_headers.get_statuscode())
    return found


def test_feeds_with_since(site: SiteServer, tmp_path: Path):
    feeds = [site.url(f"/feeds/{name}") for name in ("rss.xml", "atom.xml", "rdf.xml")]
    args = {"feeds": ",".join(feeds), "since": "2024-03-01", "allow": "/", "deny": "/opinion/"}
    result = run_crawl(tmp_path / "a", "feeds", args)
    assert result.returncode == 0, result.log[-4000:]
    assert result.run_record["arguments"] == {
        **args, "sources": None, "refresh": False, "as_of": None, "live_fallback": False,
    }  # fmt: skip
    by_url = result.by_url()
    expected = {
        "/news/2024/03/harbor-bridge-reopens.html": "rss.xml",
        "/news/2024/03/city-council-budget.html": "rss.xml",
        "/science/mars-rover.html": "atom.xml",
        "/sports/marathon.html": "atom.xml",
        "/news/2024/03/ferry-strike-ends.html": "rdf.xml",  # RSS 1.0
    }
    assert set(by_url) == {site.url(p) for p in expected}  # elections (Feb 28) too old
    for path, feed in expected.items():
        line = by_url[site.url(path)]
        assert line["outcome"] == "ok"
        assert line["via"] == url_id(site.url(f"/feeds/{feed}"))
    archived = archived_statuses(result)
    for feed in feeds:  # the feeds themselves are archived like everything else
        assert archived[feed] == ["200"]
    graph = [json.loads(x) for x in (result.archive / "links.jsonl").read_text().splitlines()]
    rss_links = {g["url"]: g["anchor"] for g in graph if g["from"] == url_id(feeds[0])}
    assert (
        rss_links[site.url("/news/2024/03/city-council-budget.html")]
        == 'Council: "Budget" passes 7-2'
    )
    sources = {s["url"]: s for s in result.run_record["sources"]}
    assert sources[feeds[0]]["entries"] == 3 and sources[feeds[0]]["new"] == 2


def test_homepage_site_discovers_feeds_and_sitemaps_then_rerun_is_conditional(
    site: SiteServer, tmp_path: Path
):
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f"""
[[site]]
name = "The Loopback Courier"
homepage = "{site.url("/")}"
deny = ["/sports/"]
download_delay = 0.05
concurrency = 2
"""
    )
    archive = tmp_path / "a"
    first = run_crawl(archive, "feeds", {"sources": str(sources), "since": "2024-03-01"})
    assert first.returncode == 0, first.log[-4000:]
    first_lines = first.manifest
    urls = {line["url"] for line in first_lines}
    assert urls == {
        site.url(p)
        for p in (
            "/news/2024/03/harbor-bridge-reopens.html",  # rss (via <link rel=alternate>)
            "/news/2024/03/city-council-budget.html",  # rss
            "/science/mars-rover.html",  # atom
            "/europe/latin1-news.html",  # news sitemap (via robots.txt Sitemap: -> index)
            "/reports/harbor-bridge-2024.html",  # news sitemap
        )
    }  # marathon denied, elections too old, ferry only in the RDF feed the homepage omits
    assert len(first_lines) == len(urls)  # harbor is in rss and the gzipped sitemap: once
    report = {s["url"]: s for s in first.run_record["sources"]}
    gz = site.url("/sitemaps/archive.xml.gz")
    assert report[gz]["status"] == 200 and report[gz]["entries"] == 2
    assert report[site.url("/sitemap_index.xml")]["kind"] == "sitemapindex"
    assert report[site.url("/sitemaps/news.xml")]["kind"] == "urlset"

    second = run_crawl(archive, "feeds", {"sources": str(sources), "since": "2024-03-01"})
    assert second.returncode == 0, second.log[-4000:]
    assert second.manifest == first_lines  # no article fetched again
    again = {s["url"]: s for s in second.run_record["sources"]}
    for feed in ("/feeds/rss.xml", "/feeds/atom.xml", "/sitemap_index.xml"):
        assert again[site.url(feed)]["status"] == 304
    statuses = archived_statuses(second)
    assert statuses[site.url("/feeds/rss.xml")] == ["200", "304"]  # the 304 is archived too


def test_failing_feed_makes_the_run_incomplete(site: SiteServer, tmp_path: Path):
    feeds = f"{site.url('/feeds/missing.xml')},{site.url('/news/2024/03/ferry-strike-ends.html')}"
    result = run_crawl(tmp_path / "a", "feeds", {"feeds": feeds})
    assert result.returncode == 1
    errors = {s["url"]: s["error"] for s in result.run_record["sources"]}
    assert errors[site.url("/feeds/missing.xml")] == "HTTP 404"
    assert (
        "neither a feed nor a sitemap" in errors[site.url("/news/2024/03/ferry-strike-ends.html")]
    )


def test_invalid_sources_file_fails_at_start(tmp_path: Path):
    sources = tmp_path / "sources.toml"
    sources.write_text('[[site]]\nname = "x"\nhomepage = "http://localhost/"\ndelay = 3\n')
    result = run_crawl(tmp_path / "a", "feeds", {"sources": str(sources)})
    assert result.returncode == 1
    assert "unknown key(s) ['delay']" in result.log
    # said in one line, without asyncio's "never retrieved" and a traceback
    [said] = [x for x in result.log.splitlines() if "The crawl cannot start" in x]
    assert "unknown key(s) ['delay']" in said
    assert "Traceback" not in result.log and "never retrieved" not in result.log
