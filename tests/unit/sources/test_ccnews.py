"""CC-NEWS as a source (crawler.sources.ccnews): the period, its months and files, the
sites, and the records kept on their headers."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from crawler.sources.ccnews import (
    Period,
    RecordFilter,
    files_in_period,
    parse_listing,
    read_sites,
)
from crawler.sources.urllists import InputFormatError


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_period_is_whole_days_and_reads_the_month_before():
    period = Period.parse("2024-02-01", "2024-02-29")
    assert (period.start, period.end) == (day("2024-02-01"), day("2024-03-01"))
    assert period.months() == ["2024/01", "2024/02"]
    assert Period.parse("20240101", None).end == day("2024-01-02")
    assert Period.parse("2023-12-15", "2024-01-02").months() == ["2023/11", "2023/12", "2024/01"]
    assert Period.parse("2024-01-01T06:00:00Z", "2024-01-01T07:00:00Z").end == day(
        "2024-01-01T07:00:00"
    )
    for since, until in [(None, None), ("yesterday", None), ("2024-02-02", "2024-02-01")]:
        with pytest.raises(ValueError):
            Period.parse(since, until)


def test_files_whose_window_overlaps_the_period():
    paths = [
        f"crawl-data/CC-NEWS/2024/0{m}/CC-NEWS-{stamp}-0000{n}.warc.gz"
        for n, (m, stamp) in enumerate([
            (1, "20240130000000"), (1, "20240131220000"), (2, "20240201060000"),
            (2, "20240202000000"), (2, "20240203000000"),
        ])
    ] + ["crawl-data/CC-NEWS/2024/02/something-else.txt"]  # fmt: skip
    kept = files_in_period(paths, Period.parse("2024-02-01", "2024-02-02"))
    # the last January file runs into February; the one started on the 3rd is after it
    assert [f.name for f in kept] == [
        "CC-NEWS-20240131220000-00001.warc.gz", "CC-NEWS-20240201060000-00002.warc.gz",
        "CC-NEWS-20240202000000-00003.warc.gz",
    ]  # fmt: skip
    last = files_in_period(paths[:2], Period.parse("2024-03-01", None))
    assert [f.name for f in last] == ["CC-NEWS-20240131220000-00001.warc.gz"]  # open-ended


def test_a_listing_gzipped_or_not():
    text = b"crawl-data/CC-NEWS/2024/01/a.warc.gz\n\ncrawl-data/CC-NEWS/2024/01/b.warc.gz\n"
    assert (
        parse_listing(gzip.compress(text))
        == parse_listing(text)
        == ["crawl-data/CC-NEWS/2024/01/a.warc.gz", "crawl-data/CC-NEWS/2024/01/b.warc.gz"]
    )
    with pytest.raises(ValueError):
        parse_listing(b"\x1f\x8b broken")


def test_sites_from_a_list_a_file_or_a_sources_file(tmp_path):
    assert read_sites("www.Courier.example, https://herald.example/x,") == (
        "courier.example",
        "herald.example",
    )
    listed = tmp_path / "sites.txt"
    listed.write_text("# mine\ncourier.example\n\nnews.herald.example  # the herald\n")
    assert read_sites(str(listed)) == ("courier.example", "news.herald.example")
    sources = tmp_path / "sources.toml"
    sources.write_text('[[site]]\nname = "T"\nhomepage = "https://www.tribune.example/"\n')
    assert read_sites(str(sources)) == ("tribune.example",)
    with pytest.raises(InputFormatError):
        read_sites(" , ")


def test_records_are_judged_on_their_headers():
    keep = RecordFilter(Period.parse("2024-02-01", None), ["courier.example"],
                        allow=[r"/2024/"], deny=["/opinion/"])  # fmt: skip
    html, date = "text/html; charset=utf-8", "2024-02-01T10:00:00Z"
    url = "https://www.courier.example/2024/02/story.html"
    assert keep.skip("response", url, date, 200, html) is None
    assert (
        keep.skip("response", "https://courier.example/2024/x", date, 200, "application/xhtml+xml")
        is None
    )
    assert keep.skip("request", url, date, None, None) == "not_response"
    assert keep.skip("response", url, "2024-02-02T00:00:00Z", 200, html) == "period"
    assert keep.skip("response", url, "garbage", 200, html) == "period"
    assert keep.skip("response", "https://notcourier.example/2024/x", date, 200, html) == "site"
    assert keep.skip("response", "https://www.courier.example/about", date, 200, html) == "pattern"
    assert keep.skip("response", "https://courier.example/2024/opinion/x", date, 200, html) == (
        "pattern"
    )
    assert keep.skip("response", url, date, 404, html) == "status"
    assert keep.skip("response", url, date, 200, "image/jpeg") == "not_html"
    anywhere = RecordFilter(Period.parse("2024-02-01", None))
    assert anywhere.skip("response", "https://any.example/", date, 200, html) is None
