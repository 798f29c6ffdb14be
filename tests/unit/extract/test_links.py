"""Links (crawler.extract.links): markdown link forms, relative and media links."""

from crawler.extract.links import LinkRules, is_media, markdown_links


def urls(links):
    return [link.url for link in links]


def test_markdown_link_forms():
    text = [
        'Inline [a](http://localhost/a "title") and [nested [b]](http://localhost/b_(c)).',
        "Reference [c][cref], collapsed [D][] and bare http://localhost/e, then "
        "(http://localhost/f). Quoted 'http://localhost/g'! <http://localhost/h>",
        "**http://localhost/i**. http://localhost/j?q=1&r=2#frag;",
        "   [cref]: http://localhost/c 'T'",
        "[d]: <http://localhost/d>",
    ]
    links = list(markdown_links(text))
    assert urls(links) == [
        "http://localhost/a",
        "http://localhost/b_(c)",
        "http://localhost/h",
        "http://localhost/e",
        "http://localhost/f",
        "http://localhost/g",
        "http://localhost/i",
        "http://localhost/j?q=1&r=2#frag",
        "http://localhost/c",
        "http://localhost/d",
    ]
    assert links[0].anchor == "a" and links[1].anchor == "nested [b]"
    assert links[-2].anchor == "c" and links[-1].anchor == "D"


def test_relative_media_and_other_schemes():
    rules = LinkRules()
    text = [
        "[rel](/x.html) [img](http://localhost/p.JPG) ![alt](http://localhost/photo)",
        "[mail](mailto:a@localhost) [js](javascript:void(0)) [top](#top) [doc](http://localhost/r.pdf)",
    ]
    assert urls(markdown_links(text, rules=rules)) == []
    assert rules.relative_skipped == 1 and rules.media_skipped == 3
    media = LinkRules(media=True)
    with_base = markdown_links(text, base="http://localhost/blog/post.html", rules=media)
    assert urls(with_base) == [
        "http://localhost/x.html",
        "http://localhost/p.JPG",
        "http://localhost/photo",
        "http://localhost/r.pdf",
    ]


def test_is_media():
    assert is_media("http://localhost/a/b.mp4?x=1")
    assert not is_media("http://localhost/a.b/article")
    assert not is_media("http://localhost/story.html")
