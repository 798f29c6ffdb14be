import pytest
import yaml

from crawler.archive.dumps import front_matter, render_dump, split_dump
from crawler.core.items import Article, ExtractOptions
from crawler.extract.article import detect_language, extract_article
from crawler.extract.decoding import decode_html
from crawler.extract.prose import has_prose
from tests.support.paths import SITE

ARTICLE = (SITE / "news/2024/03/harbor-bridge-reopens.html").read_text(encoding="utf-8")
URL = "http://localhost:8000/news/2024/03/harbor-bridge-reopens.html"


def test_metadata():
    article = extract_article(ARTICLE, URL)
    assert article.title == "Harbor Bridge Reopens After Two-Year Repair"
    assert article.author == "Maria Okafor"
    assert article.date == "2024-03-14"
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


def test_has_prose():
    assert has_prose("Home\nNews\n\nOne two three four five six seven eight nine ten.", 10)
    assert not has_prose("Home\nNews\nWorld", 10)


def test_language_left_out_when_unsure():
    assert detect_language("Short text") is None
    assert detect_language("1234 5678 " * 50) is None


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/html; charset=iso-8859-1", "Brücke".encode("latin-1"), "Brücke"),
        ("text/html", '<meta charset="windows-1252"><p>caf\xe9'.encode("latin-1"), "café"),
        ("text/html", "<p>Förde</p>".encode(), "Förde"),
        (None, b"<p>caf\xe9</p>", "café"),  # undeclared, not UTF-8: cp1252
        ("text/html; charset=utf-8", b"\xef\xbb\xbf<p>x</p>", "<p>x</p>"),
    ],
)
def test_decode_html(content_type, body, expected):
    assert expected in decode_html(body, content_type)[0]


@pytest.mark.parametrize(
    "title",
    [
        'Council: "Budget" passes 7-2',
        "- starts like a list",
        "yes",
        "null",
        "2024-03-01",
        "# not a comment",
        "{braces} and [brackets]: 'quotes'",
        "Multi\nline",
        "Ünïcödé — dashes “quotes”",
    ],
)
def test_front_matter_round_trips_through_yaml(title):
    article = Article(text="Body text.", title=title, date="2024-03-01", tags=("a", "b: c"))
    fields = front_matter(article, source_url="http://x.example/a", final_url=None, provenance={})
    dump = render_dump(fields, article.text)
    header = dump.split("---\n")[1]
    parsed = yaml.safe_load(header)
    assert parsed["title"] == title
    assert parsed["date"] == "2024-03-01"  # a string, not a YAML date
    assert parsed["tags"] == ["a", "b: c"]


def test_unknown_fields_are_left_out_and_order_is_the_contract():
    article = Article(text="Body", title="T", language=None, tags=())
    fields = front_matter(
        article,
        source_url="http://x.example/a",
        final_url="http://x.example/b",
        provenance={"fetched_at": "2026-01-01T00:00:00Z", "warc_file": "f.warc.gz"},
    )
    assert list(fields) == ["title", "url", "source_url", "fetched_at", "warc_file"]
    assert fields["url"] == "http://x.example/b"
    dump = render_dump(fields, "Body\n\n")
    assert dump.startswith("---\ntitle: T\n")
    assert dump.endswith("---\n\nBody\n")
    assert "null" not in dump


def test_split_dump_is_the_inverse_of_render_dump():
    fields = {"title": "A: b --- c", "tags": ["x"], "url": "http://x.example/"}
    body = "First paragraph.\n\n---\n\nA rule above, kept in the body."
    assert split_dump(render_dump(fields, body)) == (fields, body)


@pytest.mark.parametrize(
    "text",
    ["no front matter\n", "---\ntitle: x\nno closing fence\n", "---\n- a list\n---\n\nbody\n"],
)
def test_split_dump_refuses_what_is_no_dump(text):
    with pytest.raises(ValueError, match="not a text dump"):
        split_dump(text)
