import gzip
from datetime import UTC, datetime

import pytest

from crawler.sources.feeds import (
    DiscoveryError,
    compile_patterns,
    feed_links,
    gunzip_limited,
    maybe_gunzip,
    parse_date,
    parse_feed,
    parse_sitemap,
    robots_sitemaps,
    root_kind,
    url_allowed,
)

BASE = "http://localhost:8000"


def test_rss2_feed():
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><title>A &amp; B</title><link>/news/a.html</link>
    <pubDate>Thu, 14 Mar 2024 08:30:00 GMT</pubDate></item>
    <item><title>No link</title></item></channel></rss>"""
    [entry] = parse_feed(feed, BASE + "/feed.xml")
    assert entry.url == BASE + "/news/a.html"  # relative links resolved against the feed
    assert entry.title == "A & B"
    assert entry.date == datetime(2024, 3, 14, 8, 30, tzinfo=UTC)


def test_atom_feed_uses_alternate_link_and_updated_date():
    feed = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
    <entry><title>x</title><link rel="alternate" href="http://localhost/x"/><updated>2024-03-10T13:20:00Z</updated></entry>
    </feed>"""
    [entry] = parse_feed(feed, BASE)
    assert entry.url == "http://localhost/x"
    assert entry.date == datetime(2024, 3, 10, 13, 20, tzinfo=UTC)


def test_not_a_feed():
    with pytest.raises(DiscoveryError, match="not a feed"):
        parse_feed(b"<html><body>hello</body></html>", BASE)


def test_news_sitemap_dates_and_titles():
    data = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
      xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>http://localhost/a</loc><lastmod>2020-01-01</lastmod>
      <news:news><news:publication_date>2024-03-05T09:00:00+01:00</news:publication_date>
      <news:title>T</news:title></news:news></url>
      <url><loc>http://localhost/b</loc></url><url><lastmod>2024-01-01</lastmod></url></urlset>"""
    kind, entries = parse_sitemap(data)
    assert kind == "urlset"
    assert [e.url for e in entries] == ["http://localhost/a", "http://localhost/b"]
    assert entries[0].date == datetime(2024, 3, 5, 8, 0, tzinfo=UTC)  # news date wins
    assert entries[0].title == "T" and entries[1].date is None


def test_sitemap_index_and_kinds():
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>http://localhost/s1.xml.gz</loc><lastmod>2024-03-01</lastmod></sitemap></sitemapindex>"""
    assert root_kind(index) == "sitemapindex"
    kind, [entry] = parse_sitemap(index)
    assert kind == "sitemapindex" and entry.url.endswith("s1.xml.gz")
    assert root_kind(b"<rss version='2.0'/>") == "feed"
    assert root_kind(b"<html/>") == "unknown"
    assert root_kind(b"not xml") == "unknown"


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = f"""<?xml version="1.0"?>
    <!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file://{secret}">]>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <url><loc>http://localhost/&xxe;</loc></url></urlset>""".encode()
    _, entries = parse_sitemap(data)
    assert all("TOP-SECRET" not in e.url for e in entries)


def test_entity_expansion_is_refused():
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]>'
    with pytest.raises(DiscoveryError, match=r"amplification|not well-formed"):
        parse_sitemap((bomb + "<urlset><url><loc>&l9;</loc></url></urlset>").encode())
    feed = bomb + (
        "<rss version='2.0'><channel><item><title>&l9;</title>"
        "<link>http://localhost/</link></item></channel></rss>"
    )
    for entry in parse_feed(feed.encode(), BASE):  # a billion laughs would be 3 GB
        assert len(entry.title or "") < 100


def test_gzip_limits():
    assert maybe_gunzip(gzip.compress(b"<urlset/>")) == b"<urlset/>"
    assert maybe_gunzip(b"<urlset/>") == b"<urlset/>"
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(DiscoveryError, match="more than"):
        gunzip_limited(bomb, 1_000_000)
    with pytest.raises(DiscoveryError, match="bad gzip"):
        gunzip_limited(b"\x1f\x8bnot gzip")


def test_homepage_feed_links_and_robots_sitemaps():
    page = b"""<html><head>
    <link rel="alternate" type="application/rss+xml" href="/rss">
    <link rel="alternate" type="application/atom+xml; charset=utf-8" href="http://localhost/atom">
    <link rel="alternate" hreflang="de" href="/de/"><link rel="stylesheet" href="/s.css">
    </head><body></body></html>"""
    assert feed_links(page, BASE + "/") == [BASE + "/rss", "http://localhost/atom"]
    robots = (
        "User-agent: *\nDisallow: /x\nSitemap: /sitemap.xml\nSitemap: http://localhost/s2.xml\n"
    )
    assert robots_sitemaps(robots, BASE + "/robots.txt") == [
        BASE + "/sitemap.xml",
        "http://localhost/s2.xml",
    ]


def test_dates_and_filters():
    assert parse_date("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_date("2024-03-01T10:00:00Z") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert parse_date("yesterday") is None
    allow, deny = compile_patterns(["/news/"], "allow"), compile_patterns(["/opinion/"], "deny")
    assert url_allowed("http://localhost/news/a", allow, deny)
    assert not url_allowed("http://localhost/sports/a", allow, deny)
    assert not url_allowed("http://localhost/news/opinion/a", allow, deny)
    with pytest.raises(DiscoveryError, match="invalid allow pattern"):
        compile_patterns(["("], "allow")
