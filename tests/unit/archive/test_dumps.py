"""Text dumps (crawler.archive.dumps): YAML front matter and body, and back."""

import pytest
import yaml

from crawler.archive.dumps import front_matter, render_dump, split_dump
from crawler.core.items import Article


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
