"""The site's wire pages (tests/site/wire/): one news-agency story at three outlets, a copy
of one of them under another masthead, the story cut short (its first five paragraphs of
eight) and extended (a paragraph of the outlet's own), and another story on the same
topic. Syndication groups must put the story and its copies together and the other story
apart."""

from __future__ import annotations

from crawler.core.items import ExtractOptions
from crawler.extract.article import extract_page
from tests.support.paths import SITE

WIRE = SITE / "wire"
STORY = ["herald-rail-deal", "coastline-rail-deal", "metro-rail-deal"]
COPY = "herald-rail-deal-copy"  # the same page under another masthead: the same body
OTHER = "herald-villages"  # the same topic, another story
CUT = "lakeside-rail-deal"  # the first five paragraphs of eight: ~0.7 similar, contained
EXTENDED = "valley-rail-deal"  # the story and a paragraph of its own: it contains the story
NAMES = [*STORY, COPY, OTHER, CUT, EXTENDED]


def body(name: str) -> str:
    """The article body of wire page *name*, extracted as a crawl extracts it."""
    html = (WIRE / f"{name}.html").read_bytes()
    extraction = extract_page(html, "text/html", f"http://{name}.example/story", ExtractOptions())
    assert extraction.article is not None
    return extraction.article.body
