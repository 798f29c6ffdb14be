"""URL validation (crawler.core.urls): what an input entry must be, and why not."""

import pytest

from crawler.core.urls import InvalidURL, validate_url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/",
        "https://example.org/path?q=1&r=2#frag",
        "HTTPS://EXAMPLE.ORG/",
        "http://bücher.example/",
        "http://127.0.0.1:8080/x",
        "http://[::1]:8080/x",
    ],
)
def test_valid_urls(url):
    assert validate_url(url) == url


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("mailto:a@example.org", "unsupported scheme 'mailto'"),
        ("javascript:void(0)", "unsupported scheme 'javascript'"),
        ("ftp://example.org/f", "unsupported scheme 'ftp'"),
        ("data:text/html,hi", "unsupported scheme 'data'"),
        ("//example.org/relative", "no scheme"),
        ("example.org/page", "no scheme"),
        ("http://", "no host"),
        ("http:///path-only", "no host"),
        ("http://exa mple.org/", "whitespace"),
        ("http://example.org/\x00", "control"),
        ("http://example.org/\u200bzero-width", "control"),
        ("http://example.org:70000/", "malformed"),
        ("http://example.org:0/", "port 0"),
        ("http://example.org/" + "x" * 3000, "over the limit"),
        ("http://example.org/\udcff", "UTF-8"),
    ],
)
def test_invalid_urls_say_why(text, reason):
    with pytest.raises(InvalidURL, match=reason):
        validate_url(text)
