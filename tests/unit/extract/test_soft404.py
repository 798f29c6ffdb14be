"""Soft 404s: an error page served with 200 is told from a real article whose headline
happens to say "404", "not found" or "does not exist"."""

from __future__ import annotations

import pytest

from crawler.extract.soft404 import SOFT_404_MAX_WORDS, page_words, soft_404_evidence
from tests.support.paths import SITE

# Real-looking articles with error words in their headlines: none is a soft 404.
ARTICLES = [
    "news/2024/03/flight-404-lands.html",  # "Flight 404 lands safely after bird strike"
    "news/2024/03/missing-climbers.html",  # "Not found: the missing climbers ..."
    "science/vaccine-does-not-exist.html",  # "... does not exist yet", text in <div>s only
]


def error_page(title: str, text: str, furniture: str = "") -> bytes:
    return f"""<!DOCTYPE html><html><head><title>{title}</title></head><body>
    <header><nav>{furniture}</nav></header><main><h1>{title}</h1><p>{text}</p></main>
    <footer>{furniture}</footer><script>var w = "{furniture}";</script></body></html>""".encode()


@pytest.mark.parametrize("name", ARTICLES)
def test_real_articles_with_error_words_in_the_title_are_not_soft_404s(name):
    body = (SITE / name).read_bytes()
    assert page_words(body) > SOFT_404_MAX_WORDS
    assert soft_404_evidence(body) is None


@pytest.mark.parametrize(
    "title",
    ["Page not found | The Loopback Courier", "404 - Oops", "This story no longer exists",
     "Sorry, that page doesn&#39;t exist", "Error 410: page is gone"],
)  # fmt: skip
def test_error_pages_are_soft_404s_with_their_evidence(title):
    # menus and footers full of words are furniture: they do not make an error page an article
    furniture = " ".join(f"<a href='/s{i}'>Section number {i}</a>" for i in range(40))
    body = error_page(title, "Sorry, we could not find the page you asked for.", furniture)
    evidence = soft_404_evidence(body)
    assert evidence is not None and evidence.startswith('title "')
    assert evidence.endswith(" words of text")
    assert "&#39;" not in evidence  # the title as a reader sees it


def test_the_evidence_names_the_title_and_the_words():
    body = error_page("Page not found", "Sorry, we could not find that page.")
    assert soft_404_evidence(body) == 'title "Page not found", 10 words of text'


def test_no_title_or_an_ordinary_title_is_no_soft_404():
    assert soft_404_evidence(b"<html><body><p>Not found</p></body></html>") is None
    assert soft_404_evidence(error_page("Harbor Bridge Reopens", "Short.")) is None
    assert soft_404_evidence(error_page("Found: a 4040-year-old boat", "Short.")) is None


def test_broken_markup_counts_no_words():
    assert page_words(b"") == 0
    assert page_words(b"\x00\x01\x02") == 0


def aspnet(title: str, text: str) -> bytes:
    """A page as ASP.NET WebForms serves it: everything inside one <form>."""
    return f"""<!DOCTYPE html><html><head><title>{title}</title></head><body>
    <form method="post" action="./story.aspx" id="form1"><header><nav>Home News</nav></header>
    <div class="story"><h1>{title}</h1>{text}</div><footer>(c) Courier</footer>
    </form></body></html>""".encode()


def test_an_article_inside_an_aspnet_form_is_text_not_furniture():
    paragraphs = "".join(f"<p>{'The search for the climbers went on all week. ' * 5}</p>"
                         for _ in range(4))  # fmt: skip
    body = aspnet("Not found: the missing climbers", paragraphs)
    assert page_words(body) > SOFT_404_MAX_WORDS
    assert soft_404_evidence(body) is None
    error = aspnet("Page not found", "<p>Sorry, we could not find that page.</p>")
    assert soft_404_evidence(error) is not None
