"""Article extraction (crawler.extract.article): metadata, language, pages with no article."""

from crawler.core.items import ExtractOptions
from crawler.extract.article import detect_language, extract_article
from tests.support.paths import SITE

ARTICLE = (SITE / "news/2024/03/harbor-bridge-reopens.html").read_text(encoding="utf-8")
URL = "http://localhost:8000/news/2024/03/harbor-bridge-reopens.html"


def test_metadata():
    article = extract_article(ARTICLE, URL)
    assert article.title == "Harbor Bridge Reopens After Two-Year Repair"
    assert article.author == "Maria Okafor"
    assert article.date == "2024-03-14T08:30:00+00:00"
    assert article.sitename == "The Loopback Courier"
    assert article.language == "en"
    assert article.words > 150


def test_nav_page_is_no_article():
    html = (SITE / "nav.html").read_text(encoding="utf-8")
    options = ExtractOptions(min_paragraph_words=10)
    assert extract_article(html, "http://localhost/nav.html", options) is None


def test_empty_and_garbage_pages_are_no_article():
    assert extract_article("<html><body></body></html>", URL) is None
    assert extract_article("\x00\x01 binary junk", URL) is None


def test_language_left_out_when_unsure():
    assert detect_language("Short text") is None
    assert detect_language("1234 5678 " * 50) is None
