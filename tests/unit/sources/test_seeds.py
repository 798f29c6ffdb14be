"""Seed documents (crawler.sources.seeds): markdown, HTML and text read for their links."""

import tracemalloc

import pytest

from crawler.extract.links import LinkRules
from crawler.sources.seeds import SeedSkipped, find_seed_files, read_seed
from crawler.sources.urllists import InputFormatError


def urls(links):
    return [link.url for link in links]


def test_front_matter_gives_base_and_date(tmp_path):
    seed = tmp_path / "000_abc.txt"
    seed.write_text(
        "---\ntitle: x\nurl: http://localhost/blog/post/\ndate: '2020-12-21'\n"
        "image: http://localhost/not-a-citation.html\n---\n"
        "See [the story](../story.html) and http://localhost/other.\n",
        encoding="utf-8",
    )
    doc = read_seed(seed, max_bytes=10**6)
    assert doc.base_url == "http://localhost/blog/post/" and doc.date == "2020-12-21"
    assert urls(doc.links) == ["http://localhost/blog/story.html", "http://localhost/other"]


def test_html_seed(tmp_path):
    seed = tmp_path / "page.htm"
    seed.write_bytes(
        b'<html><head><base href="http://localhost/dir/"></head><body>'
        b'<a href="a.html">A <i>b</i></a><a href="http://localhost/c">C</a>'
        b'<a href="mailto:x@localhost">m</a><a href="z.png">img</a></body></html>'
    )
    links = list(read_seed(seed, max_bytes=10**6).links)
    assert [(link.url, link.anchor) for link in links] == [
        ("http://localhost/dir/a.html", "A b"),
        ("http://localhost/c", "C"),
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"PK\x03\x04\x00\x00binary", "binary"),
        (b"x" * 2000, "too large"),
    ],
)
def test_unreadable_seeds(tmp_path, content, reason):
    seed = tmp_path / "seed.txt"
    seed.write_bytes(content)
    with pytest.raises(SeedSkipped, match=reason):
        read_seed(seed, max_bytes=1000)


@pytest.mark.parametrize(
    ("content", "lenient", "anchor"),
    [
        ("[Café crème](http://localhost/a) au lait".encode("cp1252"), "cp1252", "Café crème"),
        ("[Zażółć gęślą jaźń](http://localhost/a) — mówię o mieście".encode("cp1250"), "cp1250",
         "Zażółć gęślą jaźń"),
        (b"[ok \xe2\x82](http://localhost/a) then valid UTF-8: \xc3\xa9t\xc3\xa9 " * 4,
         None, None),
    ],
)  # fmt: skip
def test_seeds_not_in_utf8_are_read_leniently(tmp_path, content, lenient, anchor):
    """A few bad bytes or a legacy charset loses no link; only binary files are skipped."""
    seed = tmp_path / "seed.md"
    seed.write_bytes(content)
    document = read_seed(seed, max_bytes=10**6)
    links = list(document.links)
    assert [link.url for link in links] == ["http://localhost/a"] * len(links) and links
    if lenient:
        assert document.lenient == lenient and links[0].anchor == anchor
    else:  # detection found nothing that reads the bytes: UTF-8 with replacements
        assert document.lenient in ("utf-8, bad bytes replaced", None) or document.lenient


def test_finding_seed_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "sub" / "b.txt").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    assert [p.name for p in find_seed_files(tmp_path)] == ["a.md", "b.txt"]
    assert [p.name for p in find_seed_files(str(tmp_path / "**" / "*.txt"))] == ["b.txt"]
    with pytest.raises(InputFormatError, match="no seed documents"):
        find_seed_files(tmp_path / "nothing-*.md")


def test_big_seed_is_read_in_bounded_memory(tmp_path):
    """20 MB, 50,000 links: memory stays far below the file size."""
    seed = tmp_path / "big.md"
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 6
    with seed.open("w", encoding="utf-8") as fh:
        for i in range(50_000):
            fh.write(f"{filler} See [item {i}](http://localhost/a/{i}.html).\n")
    assert seed.stat().st_size > 19_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_seed(seed, max_bytes=10**9).links)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert peak < 5_000_000, peak


def test_one_rule_for_markdown_html_and_followed_links(tmp_path):
    """The same links are taken, and the same skips counted, whatever the document form."""
    links = [("/story.html", "relative"), ("http://localhost/a.pdf", "a pdf"),
             ("http://localhost/b", "article"), ("mailto:x@localhost", "mail")]  # fmt: skip
    md = tmp_path / "doc.md"
    md.write_text("".join(f"[{anchor}]({href})\n" for href, anchor in links))
    html = tmp_path / "doc.html"
    html.write_text(
        "<html><body>" + "".join(f'<a href="{h}">{a}</a>' for h, a in links) + "</body></html>"
    )
    for media in (False, True):
        found = {}
        for path in (md, html):
            rules = LinkRules(media=media)
            taken = [
                (link.url, link.anchor)
                for link in read_seed(path, max_bytes=10**6, rules=rules).links
            ]
            found[path.suffix] = (taken, rules.relative_skipped, rules.media_skipped)
        assert found[".md"] == found[".html"]
        taken, relative, skipped_media = found[".md"]
        assert relative == 1
        assert skipped_media == (0 if media else 1)
        assert ("http://localhost/b", "article") in taken
        assert (("http://localhost/a.pdf", "a pdf") in taken) is media
    follow = LinkRules()
    assert follow.skips_media("http://localhost/clip.MP4") and not follow.skips_media(
        "http://localhost/b"
    )
    assert not LinkRules(media=True).skips_media("http://localhost/clip.mp4")
