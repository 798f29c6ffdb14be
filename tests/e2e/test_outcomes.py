"""End to end: outcomes on real-world kinds of pages, judged by the files the crawl writes.

Articles in languages written without spaces, headlines that sound like error pages,
reader comments, charsets that lie, an unreachable host: each must end as the outcome
a reader of the page would give it, with the evidence kept, and a log with no traceback.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.archive.directory import Archive
from crawler.core.items import COMMENTS_SEPARATOR
from tests.support.crawl import CrawlResult, run_crawl, write_url_list
from tests.support.siteserver import SiteServer
from tests.support.waybackserver import FakeWayback

LANGUAGES = {  # path -> (language, a sentence of its first paragraph)
    "/asia/tokyo-bridge.html": (
        "ja",
        "市内で最も古い湾岸橋が十四日朝、約二年ぶりに通行を再開した。",
    ),
    "/asia/shanghai-metro.html": ("zh", "首日客流达到十二万人次"),
    "/asia/busan-port.html": ("ko", "닷새 동안 이어진 파업이 마무리됐다."),
    "/asia/bangkok-canal.html": ("th", "ผู้โดยสารกว่าสามพันคนใช้บริการในวันแรก"),
    # right-to-left scripts
    "/mideast/beirut-port.html": ("ar", "وسط ترحيب واسع من شركات الشحن والعاملين في المرفأ."),
    "/mideast/haifa-rail.html": ("he", "ברכבת הראשונה נסעו מאות אנשים, רבים מהם עובדי הנמל."),
}
ERROR_LIKE_HEADLINES = [
    "/news/2024/03/flight-404-lands.html",
    "/news/2024/03/missing-climbers.html",
    "/science/vaccine-does-not-exist.html",
]
NOT_ARTICLES = ["/asia/index.html", "/nav.html"]
MISLABELLED = ["/europe/mairie-pont.html", "/europe/mairie-pont-meta.html"]
SOFT_404 = "/soft404.html?key=outcomes"
COMMENTS = "/news/2024/03/library-hours.html"


def dead_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/story.html"


@pytest.fixture(scope="module")
def wayback() -> Iterator[FakeWayback]:
    with FakeWayback() as archive:  # holds no capture of these pages
        yield archive


@pytest.fixture(scope="module")
def crawl(
    site: SiteServer, wayback: FakeWayback, tmp_path_factory: pytest.TempPathFactory
) -> CrawlResult:
    paths = [*LANGUAGES, *ERROR_LIKE_HEADLINES, *NOT_ARTICLES, *MISLABELLED, SOFT_404, COMMENTS]
    urls = [site.url(p) for p in paths] + [
        site.url("/europe/latin1-news.html?key=outcomes"),
        dead_url(),
    ]
    tmp = tmp_path_factory.mktemp("outcomes")
    result = run_crawl(
        tmp / "archive",
        args={"urls": str(write_url_list(tmp / "urls.txt", urls))},
        settings={
            "WAYBACK_ENABLED": "1", "WAYBACK_ENDPOINT": wayback.endpoint, "WAYBACK_DELAY": "0",
            "RETRY_TIMES": "0",
        },
    )  # fmt: skip
    assert result.returncode == 0, result.log[-4000:]
    assert len(result.manifest) == len(urls)
    return result


def dump(result: CrawlResult, line: dict) -> tuple[dict, str]:
    return Archive(result.archive).read_dump(line["text_file"])


def test_articles_in_every_language_are_articles(crawl: CrawlResult, site: SiteServer):
    lines = crawl.by_url()
    for path, (language, sentence) in LANGUAGES.items():
        line = lines[site.url(path)]
        assert line["outcome"] == "ok", line
        assert line["language"] == language and line["words"] > 60, line
        meta, body = dump(crawl, line)
        assert sentence in body and meta["language"] == language
    for path in NOT_ARTICLES:  # menus and headline lists, in any script, are not
        assert lines[site.url(path)]["outcome"] == "no_text"


def test_headlines_that_sound_like_errors_are_articles(
    crawl: CrawlResult, site: SiteServer, wayback: FakeWayback
):
    lines = crawl.by_url()
    for path in ERROR_LIKE_HEADLINES:
        line = lines[site.url(path)]
        assert (line["outcome"], line["source"], line["error"]) == ("ok", "live", None), line
        assert not wayback.log.cdx_times(site.url(path))  # never sent to the archive


def test_a_soft_404_is_an_error_with_its_evidence(crawl: CrawlResult, site: SiteServer):
    line = crawl.by_url()[site.url(SOFT_404)]
    assert line["outcome"] == "error"
    assert line["error"] == (
        'live: soft 404: title "Page not found | The Loopback Courier", 7 words of text; '
        f"wayback: no capture of {site.url(SOFT_404)}"
    )
    # the live answer's evidence stays: its status, its time and its WARC record
    assert line["status"] == 200 and line["fetched_at"]
    record, _ = Archive(crawl.archive).warc_record(line["warc_file"], line["warc_offset"])
    assert record.rec_headers.get_header("WARC-Target-URI") == site.url(SOFT_404)


def test_charsets_that_lie_are_read_right(crawl: CrawlResult, site: SiteServer):
    lines = crawl.by_url()
    archive = Archive(crawl.archive)
    for path in MISLABELLED:
        line = lines[site.url(path)]
        assert line["outcome"] == "ok" and line["encoding"] == "cp1252", line
        meta, body = dump(crawl, line)
        assert meta["encoding"] == "cp1252" and meta["title"].endswith("12 millions d\u2019euros")
        assert "\ufffd" not in body
        assert "« C\u2019est une décision attendue depuis dix ans »" in body
        # the WARC keeps the bytes as sent: not UTF-8, not re-encoded
        _, payload = archive.warc_record(line["warc_file"], line["warc_offset"])
        assert payload in site.log.sent[path]
        with pytest.raises(UnicodeDecodeError):
            payload.decode("utf-8")
    # a charset declared right is kept, whatever it is (ISO-8859-1 is read as cp1252)
    assert lines[site.url("/europe/latin1-news.html?key=outcomes")]["encoding"] == "cp1252"
    assert lines[site.url(COMMENTS)]["encoding"] == "utf-8"


def test_reader_comments_are_left_out_by_default(crawl: CrawlResult, site: SiteServer):
    line = crawl.by_url()[site.url(COMMENTS)]
    _, body = dump(crawl, line)
    assert "Sunday" in body or "Sundays" in body
    assert "Finally!" not in body and "Reader comments" not in body


def test_reader_comments_kept_after_the_article_when_asked(
    crawl: CrawlResult, site: SiteServer, tmp_path: Path
):
    urls = write_url_list(tmp_path / "urls.txt", [site.url(COMMENTS)])
    result = run_crawl(tmp_path / "a", args={"urls": str(urls)}, settings={"EXTRACT_COMMENTS": "1"})
    assert result.returncode == 0, result.log[-3000:]
    [line] = result.manifest
    _, body = dump(result, line)
    article, separator, comments = body.partition(f"\n\n{COMMENTS_SEPARATOR}\n\n")
    assert separator and "Finally!" in comments and "author talks" in comments
    assert "Finally!" not in article and "the autumn" in article
    # the article is the same with or without its comments; the hash is of the whole body
    _, without = dump(crawl, crawl.by_url()[site.url(COMMENTS)])
    assert article == without
    assert line["words"] == crawl.by_url()[site.url(COMMENTS)]["words"]
    assert line["text_sha256"] == hashlib.sha256(body.encode()).hexdigest()


def test_an_unreachable_host_is_one_warning_and_no_traceback(crawl: CrawlResult):
    [dead] = [line for line in crawl.manifest if line["url"].endswith("/story.html")]
    assert dead["outcome"] == "error" and "ConnectionRefused" in dead["error"]
    assert "could not be fetched" in crawl.log  # its robots.txt: one warning line
    assert crawl.run_record["counters"]["robotstxt/unreachable"] >= 1
    assert "Traceback" not in crawl.log
