"""The metadata rules (crawler.extract.metadata): each source on a page that carries it,
and the decisions between sources that disagree."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from lxml import html as lxml_html

from crawler.extract.article import extract_article, strip_leading_metadata
from crawler.extract.dates import parse_date, url_date
from crawler.extract.metadata import (
    PageMetadata,
    decide,
    decide_date,
    read_statements,
)
from crawler.extract.names import clean_author, site_label, strip_site_name

URL = "http://news.example/world/story.html"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
BODY = "".join(
    f"<p>Paragraph {n} of the story tells what happened at the harbour this week, "
    "with the words of those who were there and the numbers the council gave.</p>"
    for n in range(8)
)


def page(head: str = "", body: str = BODY, *, lang: str = "en") -> str:
    return (f"<!doctype html><html lang='{lang}'><head><title>Page title</title>{head}</head>"
            f"<body><article>{body}</article></body></html>")  # fmt: skip


def jsonld(*objects: object) -> str:
    return "".join(f'<script type="application/ld+json">{json.dumps(o)}</script>' for o in objects)


def meta_of(html: str, url: str = URL) -> PageMetadata:
    return decide(read_statements(lxml_html.fromstring(html), url), url, NOW)


NEWS = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": "Harbour reopens",
    "datePublished": "2024-03-05T09:30:00+01:00",
    "dateModified": "2024-03-06T10:00:00+01:00",
    "author": [{"@type": "Person", "name": "Jane Doe"}, {"@type": "Person", "name": "Li Wei"}],
    "publisher": {"@type": "Organization", "name": "The Loopback Times"},
    "articleSection": "World",
    "keywords": "harbour, transport",
    "description": "The harbour is open again.",
    "image": {"@type": "ImageObject", "url": "http://news.example/h.jpg", "caption": "The quay"},
}


def test_jsonld_gives_every_field_with_its_source():
    meta = meta_of(page(jsonld(NEWS)))
    assert (meta.title, meta.title_source) == ("Harbour reopens", "jsonld")
    assert (meta.authors, meta.authors_source) == (("Jane Doe", "Li Wei"), "jsonld")
    assert (meta.date, meta.date_source) == ("2024-03-05T09:30:00+01:00", "jsonld")
    assert meta.lastmod == "2024-03-06T10:00:00+01:00"
    assert meta.section == "World"
    assert meta.tags == ("harbour", "transport")
    assert meta.description == "The harbour is open again."
    assert (meta.image.url, meta.image.alt) == ("http://news.example/h.jpg", "The quay")
    assert meta.sitename == "The Loopback Times"


def test_jsonld_graph_and_several_blocks():
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Site"},
        {"@type": "BreadcrumbList", "itemListElement": []},
        {**NEWS, "@type": ["ReportageNewsArticle"], "headline": "From the graph"},
    ]}  # fmt: skip
    meta = meta_of(page(jsonld({"@type": "Organization", "name": "Org"}, graph)))
    assert meta.title == "From the graph"
    assert meta.date_source == "jsonld"


def test_jsonld_prefers_the_article_naming_the_page():
    other = {**NEWS, "headline": "A related story", "url": "http://news.example/other.html"}
    mine = {**NEWS, "headline": "This story", "url": URL}
    assert meta_of(page(jsonld(other, mine))).title == "This story"


def test_broken_jsonld_block_is_skipped():
    broken = '<script type="application/ld+json">{"@type": "NewsArticle", </script>'
    meta = meta_of(page(broken + jsonld({**NEWS, "headline": "Still read"})))
    assert meta.title == "Still read"


def test_author_forms_person_organization_string():
    org_only = {**NEWS, "author": {"@type": "Organization", "name": "Reuters"}}
    assert meta_of(page(jsonld(org_only))).authors == ("Reuters",)
    # an Organization beside a Person is not an author
    mixed = {**NEWS, "author": [{"@type": "Organization", "name": "AP"}, "By Sam Hill"]}
    assert meta_of(page(jsonld(mixed))).authors == ("Sam Hill",)
    # the site's own name is not an author
    site = {**NEWS, "author": {"@type": "Organization", "name": "The Loopback Times"}}
    assert meta_of(page(jsonld(site))).authors == ()


def test_microdata():
    body = (
        '<div itemscope itemtype="https://schema.org/NewsArticle">'
        '<h1 itemprop="headline">Microdata headline</h1>'
        '<span itemprop="author" itemscope itemtype="https://schema.org/Person">'
        '<span itemprop="name">Ana Souza</span></span>'
        '<meta itemprop="datePublished" content="2023-11-02">'
        f"{BODY}</div>"
    )
    meta = meta_of(page(body=body))
    assert (meta.title, meta.title_source) == ("Microdata headline", "microdata")
    assert (meta.authors, meta.authors_source) == (("Ana Souza",), "microdata")
    assert (meta.date, meta.date_source) == ("2023-11-02", "microdata")


def test_rdfa():
    body = (
        '<div vocab="https://schema.org/" typeof="NewsArticle">'
        '<h1 property="headline">RDFa headline</h1>'
        '<span property="datePublished" content="2022-05-04">May 4</span>'
        f"{BODY}</div>"
    )
    meta = meta_of(page(body=body))
    assert (meta.title, meta.title_source) == ("RDFa headline", "rdfa")
    assert (meta.date, meta.date_source) == ("2022-05-04", "rdfa")


def test_opengraph_and_article_properties():
    head = (
        '<meta property="og:title" content="OG title | Loopback">'
        '<meta property="og:site_name" content="Loopback">'
        '<meta property="article:published_time" content="2024-01-02T03:04:05Z">'
        '<meta property="article:modified_time" content="2024-01-03T00:00:00Z">'
        '<meta property="article:section" content="Science">'
        '<meta property="article:tag" content="space"><meta property="article:tag" content="mars">'
        '<meta property="og:image" content="http://news.example/i.png">'
        '<meta property="og:image:alt" content="Rover">'
    )
    meta = meta_of(page(head))
    assert (meta.title, meta.title_source) == ("OG title", "opengraph")  # site name cut
    assert (meta.date, meta.date_source) == ("2024-01-02T03:04:05+00:00", "opengraph")
    assert meta.lastmod == "2024-01-03T00:00:00+00:00"
    assert meta.section == "Science" and meta.tags == ("space", "mars")
    assert (meta.image.url, meta.image.alt) == ("http://news.example/i.png", "Rover")


def test_parsely_dublin_core_and_author_meta():
    head = (
        '<meta name="parsely-title" content="Parsely title">'
        '<meta name="parsely-pub-date" content="2021-07-08T12:00:00Z">'
        '<meta name="DC.creator" content="Karl Berg">'
    )
    meta = meta_of(page(head))
    assert (meta.title, meta.title_source) == ("Parsely title", "meta")
    assert (meta.date, meta.date_source) == ("2021-07-08T12:00:00+00:00", "meta")
    assert (meta.authors, meta.authors_source) == (("Karl Berg",), "meta")


def test_time_element_in_the_article_header():
    body = f'<header><h1>T</h1><time datetime="2020-02-03T08:00">Feb 3</time></header>{BODY}'
    meta = meta_of(page(body=body))
    assert (meta.date, meta.date_source) == ("2020-02-03T08:00:00", "time")


def test_jsonld_wins_over_opengraph_when_they_disagree():
    head = (jsonld(NEWS) + '<meta property="og:title" content="Other">'
            '<meta property="article:published_time" content="2024-03-04T00:00:00Z">')  # fmt: skip
    meta = meta_of(page(head))
    assert meta.title == "Harbour reopens" and meta.date_source == "jsonld"


def test_future_and_prehistoric_dates_are_not_dates():
    future = {**NEWS, "datePublished": "2031-01-01T00:00:00Z"}
    head = jsonld(future) + '<meta property="article:published_time" content="2024-02-02">'
    assert (meta_of(page(head)).date, meta_of(page(head)).date_source) == (
        "2024-02-02",
        "opengraph",
    )
    old = {**NEWS, "datePublished": "1970-01-01T00:00:00Z"}
    assert meta_of(page(jsonld(old))).date is None


def test_modified_is_never_the_publication_date():
    only_modified = {k: v for k, v in NEWS.items() if k != "datePublished"}
    meta = meta_of(page(jsonld(only_modified)))
    assert meta.date is None and meta.lastmod == "2024-03-06T10:00:00+01:00"


def test_lastmod_before_the_date_is_dropped():
    backwards = {**NEWS, "dateModified": "2024-03-01T00:00:00Z"}
    assert meta_of(page(jsonld(backwards))).lastmod is None


def test_url_date_breaks_a_tie():
    url = "http://news.example/2024/03/07/story.html"
    head = ('<meta property="article:published_time" content="2019-01-01T00:00:00Z">'
            '<meta name="parsely-pub-date" content="2024-03-07T10:00:00Z">')  # fmt: skip
    meta = meta_of(page(head), url)
    assert (meta.date, meta.date_source) == ("2024-03-07T10:00:00+00:00", "meta")
    assert decide_date([("opengraph", "2019-01-01")], url, NOW)[1] == "url"


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("By Jane Doe", ["Jane Doe"]),
        ("Jane Doe, Senior correspondent", ["Jane Doe"]),
        ("Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
        ("Von Jürgen Weiß und Anna Berg", ["Jürgen Weiß", "Anna Berg"]),
        ("jane.doe@news.example", []),
        ("Jane Doe (jane@news.example)", ["Jane Doe"]),
        ("https://news.example/authors/jane", []),
        ("Staff", []),
        ("mdr.de", []),  # a domain is the site
        ("Dr. Max Kolter", ["Dr. Max Kolter"]),
        ("The Loopback Times", []),
    ],
)
def test_clean_author(raw, names):
    assert clean_author(raw, exclude=["The Loopback Times"]) == names


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2024-03-05", "2024-03-05"),
        ("2024-03-05T09:30:00Z", "2024-03-05T09:30:00+00:00"),
        ("2024-03-05T09:30:00+0100", "2024-03-05T09:30:00+01:00"),
        ("2024-03-05 09:30:00", "2024-03-05T09:30:00"),
        ("Tue, 05 Mar 2024 09:30:00 GMT", "2024-03-05T09:30:00+00:00"),
        ("20240305", "2024-03-05"),
        ("2024/03/05 in the morning", "2024-03-05"),
    ],
)
def test_parse_date(value, iso):
    assert parse_date(value).iso() == iso


def test_parse_date_refuses_what_is_not_a_date():
    assert parse_date("yesterday") is None and parse_date("2024-13-45") is None


def test_url_date():
    assert url_date("http://x.example/2024/03/05/a.html").day == "2024-03-05"
    assert url_date("http://x.example/news/2024-03-05-a").day == "2024-03-05"
    assert url_date("http://x.example/a/123456") is None


def test_strip_site_name():
    assert strip_site_name("Story | CNN", ["CNN"]) == "Story"
    assert strip_site_name("BBC News - Story here", ["BBC News"]) == "Story here"
    assert strip_site_name("Story - with a dash", ["CNN"]) == "Story - with a dash"


def test_leading_metadata_lines_are_removed_from_the_body():
    meta = PageMetadata(title="Harbour reopens", authors=("Jane Doe",))
    text = (
        "By Jane Doe\n\nMarch 5, 2024\n\nThe harbour opened on Tuesday.\n\nBy the way, it is big."
    )
    assert strip_leading_metadata(text, meta) == (
        "The harbour opened on Tuesday.\n\nBy the way, it is big."
    )
    kept = "5 March 2024 was the day the harbour opened again after two long years of work."
    assert strip_leading_metadata(kept, meta) == kept


def test_extract_article_records_sources_and_falls_back_to_htmldate():
    article = extract_article(page(jsonld(NEWS)), URL)
    assert article.authors == ("Jane Doe", "Li Wei") and article.author == "Jane Doe; Li Wei"
    assert (article.title_source, article.authors_source, article.date_source) == (
        "jsonld", "jsonld", "jsonld",
    )  # fmt: skip
    assert article.extractor.startswith("rules ")
    plain = page(body=f"<p>Published 12 April 2023</p>{BODY}")
    article = extract_article(plain, "http://news.example/story")
    assert (article.date, article.date_source) == ("2023-04-12", "htmldate")
    assert article.title == "Page title" and article.title_source == "trafilatura"


def test_title_is_the_stated_one_the_h1_repeats():
    # JSON-LD headline written for search engines; og:title and <h1> what readers see
    seo = {**NEWS, "headline": "Harbour reopens: what it means for you"}
    head = jsonld(seo) + '<meta property="og:title" content="Harbour reopens at last">'
    body = f"<h1>Harbour reopens at last</h1>{BODY}"
    assert (meta_of(page(head, body)).title, meta_of(page(head, body)).title_source) == (
        "Harbour reopens at last", "opengraph",
    )  # fmt: skip
    # no <h1> repeating any: the most trusted one
    assert meta_of(page(head)).title == "Harbour reopens: what it means for you"
    # a headline that is a summary, the name the title (Wikipedia's JSON-LD)
    wiki = {"@type": "Article", "name": "New Zealand", "headline": "a country in Oceania"}
    assert meta_of(page(jsonld(wiki), f"<h1>New Zealand</h1>{BODY}")).title == "New Zealand"


def test_an_author_named_as_the_site_is_not_an_author():
    vn = {**NEWS, "author": {"@type": "Person", "name": "VnExpress"}, "publisher": None}
    url = "https://www.vnexpress.net/story-123.html"
    assert meta_of(page(jsonld(vn)), url).authors == ()
    assert site_label("https://news.bbc.co.uk/x") == "bbc"
