"""The Internet Archive's CDX API and mementos (crawler.fetch.wayback)."""

import json

import pytest

from crawler.core.items import Capture
from crawler.fetch.wayback import (
    WaybackError,
    cdx_query,
    closest_capture,
    memento_url,
    parse_cdx,
)


def test_cdx_query_asks_for_200s_closest_first():
    query = cdx_query("http://localhost:9/", "http://localhost/a?b=1", "20200101000000", 3)
    assert query.startswith(
        "http://localhost:9/cdx/search/cdx?url=http%3A%2F%2Flocalhost%2Fa%3Fb%3D1"
    )
    for part in ("output=json", "filter=statuscode%3A200", "closest=20200101000000",
                 "sort=closest", "limit=3"):  # fmt: skip
        assert part in query


def test_parse_cdx_and_pick_the_closest():
    rows = [
        ["timestamp", "original", "statuscode", "digest", "mimetype"],
        ["20190601000000", "http://localhost/a", "200", "D1", "text/html"],
        ["20200201000000", "http://localhost/a", "200", "D2", "text/html"],
        ["bad", "http://localhost/a", "200", "D3", "text/html"],
        ["20230101000000", "http://localhost/a"],
    ]
    captures = parse_cdx(json.dumps(rows).encode())
    assert [c.timestamp for c in captures] == ["20190601000000", "20200201000000"]
    assert closest_capture(captures, "20200101000000").digest == "D2"
    assert closest_capture(captures, "20100101000000").digest == "D1"
    assert closest_capture([], "20200101000000") is None
    assert parse_cdx(b"") == [] and parse_cdx(b"[]") == []
    with pytest.raises(WaybackError):
        parse_cdx(b"<html>rate limited</html>")
    with pytest.raises(WaybackError):
        parse_cdx(b'[["a", "b"]]')


def test_memento_url_is_the_raw_form():
    capture = Capture("20200201000000", "http://localhost/a?x=1")
    assert memento_url("http://localhost:9", capture) == (
        "http://localhost:9/web/20200201000000id_/http://localhost/a?x=1"
    )
